package vaulttest

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// Context returns a context that ends after 30 s or when the test ends,
// whichever comes first: a bound for one step of a test against a real
// server.
func Context(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// LogBuffer collects log output from concurrent writers, for a scan such as
// AssertNoSecret.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Logger returns a text logger at level into the buffer.
func (l *LogBuffer) Logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: level}))
}

// AssertNoSecret fails the test when text holds one of the secret values
// (a token, a password...). It names what leaked by its length only.
//
//	vaulttest.AssertNoSecret(t, "client log", logs.String(), rootToken, "db-password")
func AssertNoSecret(tb testing.TB, what, text string, secrets ...string) {
	tb.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			tb.Errorf("%s shows a secret value (%d chars)", what, len(s))
		}
	}
}

// RequireBinary skips the test when no Vault binary is found and Required
// is off, for a test that starts its servers its own way (a benchmark lab,
// a program under test).
func RequireBinary(tb testing.TB) {
	tb.Helper()
	if _, err := Binary(); err != nil && !Required() {
		tb.Skip(skipLine)
	}
}

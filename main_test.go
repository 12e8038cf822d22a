package gdsvault_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/vaulttest"
)

// vault is the dev server shared by this package's tests; each test works in
// its own mounts.
var vault *vaulttest.Server

func TestMain(m *testing.M) {
	os.Exit(vaulttest.Main(m, vaulttest.Options{}, &vault, func(s *vaulttest.Server) {
		// The examples read the environment like the seed's VaultClient().
		os.Setenv("VAULT_ADDR", s.Addr)
		os.Setenv("VAULT_TOKEN", s.RootToken)
		os.Setenv("HOME", s.Dir)
		// The seed's lab secret.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := s.Do(ctx, "POST", "secret/data/myapp/config", map[string]any{"data": map[string]any{
			"db_host": "postgres.example.com", "db_user": "myapp", "db_pass": "secret123"}}); err != nil {
			panic(err)
		}
	}))
}

// logBuffer collects a client's logs for the leak scan.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newClient returns a client for the shared server with token tok, logging
// at debug level into a buffer that is scanned for secrets when the test ends.
func newClient(t testing.TB, tok string, opts ...gdsvault.Option) *gdsvault.Client {
	t.Helper()
	logs := &logBuffer{}
	base := []gdsvault.Option{
		gdsvault.WithAddress(vault.Addr),
		gdsvault.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	}
	if tok != "" {
		base = append(base, gdsvault.WithToken(tok))
	}
	c, err := gdsvault.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Close(context.Background())
		assertNoSecret(t, "client log", logs.String(), tok, vault.RootToken)
	})
	return c
}

// assertNoSecret fails when text holds one of the secret values.
func assertNoSecret(t testing.TB, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s shows a secret value (%d chars): %q", what, len(s), text)
		}
	}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

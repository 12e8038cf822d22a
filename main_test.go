package gdsvault_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/secretcache"
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
type logBuffer = vaulttest.LogBuffer

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
	vaulttest.AssertNoSecret(t, what, text, secrets...)
}

func ctx(t testing.TB) context.Context { return vaulttest.Context(t) }

func quietClient(t *testing.T, addr, token string, opts ...gdsvault.Option) *gdsvault.Client {
	t.Helper()
	base := []gdsvault.Option{gdsvault.WithAddress(addr), gdsvault.WithLogger(slog.New(slog.DiscardHandler))}
	if token != "" {
		base = append(base, gdsvault.WithToken(token))
	}
	c, err := gdsvault.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// staleCache is a cache whose entries expire at once, so every read goes to
// Vault and a failure is answered with the last good value.
func staleCache() gdsvault.Option {
	quiet := slog.New(slog.DiscardHandler)
	return gdsvault.WithCache(secretcache.WithTTL(time.Millisecond), secretcache.WithRefreshBackoff(0), secretcache.WithLogger(quiet))
}

type counter struct {
	mu                         sync.Mutex
	logins, renewals, failures int
	accessor                   string
	loginErr                   error
}

func (c *counter) event(e gdsvault.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch e.Kind {
	case gdsvault.EventLogin:
		c.logins++
		c.accessor = e.Accessor
	case gdsvault.EventRenewed:
		c.renewals++
	case gdsvault.EventLoginFailed, gdsvault.EventRenewFailed:
		c.failures++
		c.loginErr = e.Err
	}
}

// hammer reads path from n goroutines until the deadline (and at most
// maxReads in all), and returns the reads and failures.
func hammer(c *gdsvault.Client, path string, n int, d time.Duration, maxReads int64, during func()) (reads, failed int64, firstErr error) {
	var r, f atomic.Int64
	var errOnce sync.Once
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for time.Now().Before(deadline) && r.Load() < maxReads {
				r.Add(1)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				s, err := c.GetSecret(ctx, path)
				cancel()
				if err == nil && s.Data["db_host"] != "postgres.example.com" {
					err = errors.New("wrong data")
				}
				if err != nil {
					f.Add(1)
					errOnce.Do(func() { firstErr = err })
				}
			}
		})
	}
	if during != nil {
		during()
	}
	wg.Wait()
	return r.Load(), f.Load(), firstErr
}

// cpuHog saturates every core with busy processes (two per core) until the
// test ends: the client, its test and the Vault server all compete for CPU,
// as on a busy production machine.
func cpuHog(t *testing.T) {
	t.Helper()
	for range 2 * runtime.NumCPU() {
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatalf("cpu hog: %v", err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
}

package gdsvault_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/approle"
	"github.com/gdsvault/gdsvault/auth/token"
	"github.com/gdsvault/gdsvault/retry"
	"github.com/gdsvault/gdsvault/vaulttest"
)

// The hostile-server suite: a fault-injecting proxy in front of the real
// Vault serves the answers a real Vault cannot be made to give (a server
// that refuses every token, absurd TTLs, a 512 MiB body, a body that stalls,
// hostile JSON), and each case asserts a bounded outcome: logins in a
// window, requests sent, memory, error kind.

// hostileLab provisions an AppRole lab on the real Vault and puts a proxy
// in front of it.
type hostileLab struct {
	path  string // the KV secret, API form
	login string // the login path, as the proxy counts it
	m     *approle.Method
	proxy *vaulttest.Proxy
	logs  *logBuffer
	cnt   *counter
}

func newHostileLab(t *testing.T, roleParams map[string]any) *hostileLab {
	t.Helper()
	kv, ar := vault.UniqueName("kv"), vault.UniqueName("approle")
	vault.EnableSecrets(t, kv, "kv", map[string]any{"version": "2"})
	vault.PutKV(t, kv, "myapp/config", map[string]any{"db_host": "postgres.example.com", "db_pass": "hostile-s3cret"})
	pol := vault.UniqueName("pol")
	vault.WritePolicy(t, pol, `path "`+kv+`/*" { capabilities = ["read", "create", "update"] }`)
	vault.EnableAuth(t, ar, "approle")
	params := map[string]any{"token_policies": pol, "token_ttl": "1h"}
	for k, v := range roleParams {
		params[k] = v
	}
	vault.CreateAppRole(t, ar, "myapp", params)
	m, err := approle.New(gdsvault.CredentialValue(vault.RoleID(t, ar, "myapp")), gdsvault.CredentialValue(vault.SecretID(t, ar, "myapp")),
		approle.WithMountPath(ar))
	if err != nil {
		t.Fatal(err)
	}
	return &hostileLab{path: kv + "/data/myapp/config", login: "auth/" + ar + "/login", m: m,
		proxy: vaulttest.NewProxy(t, vault.Addr), logs: &logBuffer{}, cnt: &counter{}}
}

// client is an AppRole client through the proxy; its logs are scanned for
// the secret value when the test ends.
func (l *hostileLab) client(t *testing.T, opts ...gdsvault.Option) *gdsvault.Client {
	t.Helper()
	base := []gdsvault.Option{gdsvault.WithAddress(l.proxy.Addr), gdsvault.WithAuth(l.m), gdsvault.WithEvents(l.cnt.event),
		gdsvault.WithLogger(slog.New(slog.NewTextHandler(l.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))}
	c, err := gdsvault.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Close(context.Background())
		assertNoSecret(t, "client log", l.logs.String(), "hostile-s3cret", vault.RootToken)
	})
	return c
}

func (l *hostileLab) requests(path string) int { return l.proxy.Stats().Paths[path] }

// TestHostileRefusesEveryToken: a server (or proxy) that answers "invalid
// token" to every request carrying a token. Without a bound, each read
// caused a login (101 logins for 100 reads in 62 ms), each leaving a token
// behind. Now fresh tokens refused make logins back off (1 s doubling):
// at most a handful of logins, reads fail fast with the refusal, and the
// abandoned tokens are revoked best-effort.
func TestHostileRefusesEveryToken(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	l := newHostileLab(t, nil)
	l.proxy.Set(vaulttest.Fault{Only: vaulttest.HasToken(), Status: http.StatusForbidden, Errors: []string{"permission denied", "invalid token"}})
	c := l.client(t)
	start := time.Now()
	reads := 0
	for reads < 100 || time.Since(start) < 2*time.Second {
		_, err := c.GetSecret(ctx(t), l.path)
		reads++
		if !errors.Is(err, gdsvault.ErrInvalidToken) {
			t.Fatalf("read %d: %v, want ErrInvalidToken", reads, err)
		}
	}
	logins := l.requests(l.login)
	t.Logf("FIGURE server refusing every token: %d reads in %v caused %d logins; last error: %v", reads,
		time.Since(start).Round(time.Millisecond), logins, func() error { _, err := c.GetSecret(ctx(t), l.path); return err }())
	if logins < 1 || logins > 5 {
		t.Errorf("%d logins for %d reads in %v, want 1..5", logins, reads, time.Since(start))
	}
	// Each refused token is revoked best-effort (in the background).
	deadline := time.Now().Add(10 * time.Second)
	for l.requests("auth/token/revoke-self") < logins-1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling the proxy's counter, with a deadline
	}
	if got := l.requests("auth/token/revoke-self"); got < logins-1 {
		t.Errorf("%d revocations for %d abandoned tokens", got, logins)
	}
}

// TestHostileLeaseDurations: a login and renewal answer whose lease_duration
// is absurd. Before, 20211507185753197 overflowed into "expired" and made
// 11,326 logins in 3 s, and -5 meant "never expires". Now out-of-range
// values are clamped (and logged once), undecodable ones are a typed
// ErrMalformedResponse, and none causes a login loop.
func TestHostileLeaseDurations(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	for _, tc := range []struct {
		name      string
		value     any
		malformed bool // the login answer cannot be decoded
	}{
		{"overflowing", int64(20211507185753197), false},
		{"negative", -5, false},
		{"huge float", json.RawMessage(`1e30`), true},
		{"a string", "x", true},
		{"null", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newHostileLab(t, nil)
			l.proxy.Set(vaulttest.Fault{Rewrite: vaulttest.RewriteJSON("auth.lease_duration", tc.value)})
			c := l.client(t)
			start := time.Now()
			var reads, failed int
			var lastErr error
			for time.Since(start) < 3*time.Second {
				_, err := c.GetSecret(ctx(t), l.path)
				reads++
				if err != nil {
					failed++
					lastErr = err
				}
			}
			logins := l.requests(l.login)
			t.Logf("lease_duration %s: %d reads, %d failed, %d logins in 3 s", tc.name, reads, failed, logins)
			if logins > 3 {
				t.Errorf("%d logins in 3 s: a login loop", logins)
			}
			switch {
			case tc.malformed:
				if !errors.Is(lastErr, gdsvault.ErrMalformedResponse) || failed != reads {
					t.Errorf("%d of %d failed; last: %v, want ErrMalformedResponse", failed, reads, lastErr)
				}
			case failed != 0:
				t.Errorf("%d of %d reads failed: %v", failed, reads, lastErr)
			}
			if !tc.malformed && tc.value != nil {
				if n := strings.Count(l.logs.String(), "clamped"); n != 1 {
					t.Errorf("the clamped TTL was logged %d times, want once", n)
				}
			}
		})
	}
}

// TestHostileRenewalPastMaxTTL: Vault answers a renewal sent after the max
// TTL with a 500 "past the max TTL, cannot renew". That is a refusal: the
// client logs in again at once, without retrying the renewal or calling
// Vault unreachable, and no read fails.
func TestHostileRenewalPastMaxTTL(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	l := newHostileLab(t, map[string]any{"token_ttl": "3s", "token_max_ttl": "1h"})
	l.proxy.Set(vaulttest.Fault{Only: vaulttest.PathIs("auth/token/renew-self"),
		Respond: vaulttest.RespondJSON(http.StatusInternalServerError, `{"errors":["past the max TTL, cannot renew"]}`)})
	var mu sync.Mutex
	var reasons []string
	c := l.client(t, gdsvault.WithEvents(func(e gdsvault.Event) {
		l.cnt.event(e)
		if e.Kind == gdsvault.EventRenewFailed {
			mu.Lock()
			reasons = append(reasons, e.Reason)
			mu.Unlock()
		}
	}))
	reads, failed, err := hammer(c, l.path, 4, 8*time.Second, 1_000_000, nil)
	renews := l.requests("auth/token/renew-self")
	l.cnt.mu.Lock()
	logins := l.cnt.logins
	l.cnt.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("renewals refused with 500: %d reads, %d failed, %d renewal requests, %d refusals, %d logins", reads, failed, renews, len(reasons), logins)
	if failed != 0 {
		t.Fatalf("%d reads failed: %v", failed, err)
	}
	if renews == 0 || renews != len(reasons) {
		t.Errorf("%d renewal requests for %d refusals: a refused renewal was retried", renews, len(reasons))
	}
	if logins < 2 {
		t.Errorf("%d logins: the refusal did not lead to a new login", logins)
	}
	for _, r := range reasons {
		if strings.Contains(r, "unreachable") {
			t.Errorf("a refused renewal was reported as %q", r)
		}
	}
}

// TestHostileOneRetryLayer: a socket that drops the token lookup. The login
// (the token method looks its token up) is part of the read's attempt, so
// the retries are the read's: as many lookups as attempts, and one "gave
// up" in the message, with the true count.
func TestHostileOneRetryLayer(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	proxy := vaulttest.NewProxy(t, vault.Addr)
	proxy.Set(vaulttest.Fault{Only: vaulttest.PathIs("auth/token/lookup-self"), Reset: true})
	m, err := token.New(gdsvault.CredentialValue(vault.RootToken))
	if err != nil {
		t.Fatal(err)
	}
	c := quietClient(t, proxy.Addr, "", gdsvault.WithAuth(m))
	_, err = c.GetSecret(ctx(t), "secret/data/myapp/config")
	lookups := proxy.Stats().Paths["auth/token/lookup-self"]
	var re *retry.Error
	if !errors.As(err, &re) || !errors.Is(err, gdsvault.ErrConnection) {
		t.Fatalf("err = %v, want a retry.Error over ErrConnection", err)
	}
	t.Logf("dropped lookups: %d sent; %v", lookups, err)
	if n := strings.Count(err.Error(), "gave up"); n != 1 {
		t.Errorf("%q says %d times that it gave up", err, n)
	}
	if re.Attempts != lookups || lookups != 3 {
		t.Errorf("the error says %d attempts; %d lookups were sent (want 3, the default attempts)", re.Attempts, lookups)
	}
}

// heapGrowth runs f and returns how many bytes it allocated.
func heapGrowth(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileHugeBody: a 512 MiB answer. Before, it was read whole (peak RSS
// 2.1 GB). Now it is ErrResponseTooLarge: refused from its Content-Length
// without reading, or after the cap (32 MiB) when it comes chunked, and the
// memory used stays near the cap.
func TestHostileHugeBody(t *testing.T) {
	vault.Require(t)
	// Not parallel: it measures this process's allocations.
	proxy := vaulttest.NewProxy(t, vault.Addr)
	c := quietClient(t, proxy.Addr, vault.RootToken, gdsvault.WithMaxRetries(0))
	if _, err := c.GetSecret(ctx(t), "secret/data/myapp/config"); err != nil { // the mount is known from here on
		t.Fatal(err)
	}
	for _, chunked := range []bool{false, true} {
		proxy.Set(vaulttest.Fault{Only: vaulttest.PathIs("secret/data/myapp/config"), StreamBody: 512 << 20, StreamChunked: chunked})
		var err error
		grew := heapGrowth(func() { _, err = c.GetSecret(ctx(t), "secret/data/myapp/config") })
		t.Logf("FIGURE 512 MiB answer (chunked %t): %v; allocated %d MiB", chunked, err, grew>>20)
		if !errors.Is(err, gdsvault.ErrResponseTooLarge) || gdsvault.IsTransient(err) {
			t.Errorf("chunked %t: err = %v, want ErrResponseTooLarge (not transient)", chunked, err)
		}
		if grew > 4*gdsvault.DefaultMaxResponseSize { // the in-process proxy's own buffers count too
			t.Errorf("chunked %t: allocated %d MiB for a capped read (cap 32 MiB, body 512 MiB)", chunked, grew>>20)
		}
	}
	// A smaller limit applies as set.
	proxy.Set(vaulttest.Fault{})
	small := quietClient(t, proxy.Addr, vault.RootToken, gdsvault.WithMaxResponseSize(64))
	if _, err := small.GetSecret(ctx(t), "secret/data/myapp/config"); !errors.Is(err, gdsvault.ErrResponseTooLarge) {
		t.Errorf("64-byte limit: %v", err)
	}
}

// TestHostileStalledBody: an answer that stalls past the request timeout is
// a timeout (transient): retried, and answered from the stale cache; before,
// it was an ErrMalformedResponse that did neither.
func TestHostileStalledBody(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	proxy := vaulttest.NewProxy(t, vault.Addr)
	// A timeout short enough for the test, long enough for a busy machine.
	opts := []gdsvault.Option{gdsvault.WithTimeout(2 * time.Second), gdsvault.WithMaxRetries(1)}
	plain := quietClient(t, proxy.Addr, vault.RootToken, opts...)
	cached := quietClient(t, proxy.Addr, vault.RootToken, append(opts, staleCache())...)
	for _, c := range []*gdsvault.Client{plain, cached} {
		if _, err := c.GetSecret(ctx(t), "secret/data/myapp/config"); err != nil {
			t.Fatal(err)
		}
	}
	proxy.Set(vaulttest.Fault{Only: vaulttest.PathIs("secret/data/myapp/config"), Stall: true, StallAfter: 10})
	_, err := plain.GetSecret(ctx(t), "secret/data/myapp/config")
	if !errors.Is(err, gdsvault.ErrConnection) || !gdsvault.IsTransient(err) || errors.Is(err, gdsvault.ErrMalformedResponse) {
		t.Errorf("stalled body: %v, want a transient connection error", err)
	}
	var re *retry.Error
	if !errors.As(err, &re) || re.Attempts != 2 {
		t.Errorf("stalled body not retried: %v", err)
	}
	s, err := cached.GetSecret(ctx(t), "secret/data/myapp/config")
	if err != nil || !s.Stale || s.Data["db_host"] != "postgres.example.com" {
		t.Errorf("stale fallback: %v, %v", s, err)
	}
}

// switchingTransport sends through good until bad is switched on.
type switchingTransport struct {
	good, bad http.RoundTripper
	useBad    atomic.Bool
	calls     atomic.Int64
}

func (s *switchingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s.calls.Add(1)
	if s.useBad.Load() {
		return s.bad.RoundTrip(r)
	}
	return s.good.RoundTrip(r)
}

// TestHostileCertificate: a certificate that fails verification is not
// transient: not retried, not counted by the circuit breaker, never
// answered from the stale cache. Before, it was a retried ErrConnection
// with the hint "is Vault running?".
func TestHostileCertificate(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	tlsVault := vaulttest.Start(t, vaulttest.Options{TLS: true})
	pem, err := os.ReadFile(tlsVault.CACert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	st := &switchingTransport{
		good: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		bad:  &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}, // trusts nothing
	}
	c := quietClient(t, tlsVault.Addr, tlsVault.RootToken, gdsvault.WithTransport(st), staleCache(),
		gdsvault.WithCircuitBreaker(retry.BreakerConfig{Failures: 1, Cooldown: time.Hour}))
	if _, err := c.GetSecret(ctx(t), "secret/data/none"); !errors.Is(err, gdsvault.ErrNotFound) { // learns the mount
		t.Fatal(err)
	}
	tlsVault.Must(t, http.MethodPost, "secret/data/app", map[string]any{"data": map[string]any{"k": "v"}})
	if _, err := c.GetSecret(ctx(t), "secret/data/app"); err != nil {
		t.Fatal(err)
	}
	st.useBad.Store(true)
	for i := range 3 {
		before := st.calls.Load()
		s, err := c.GetSecret(ctx(t), "secret/data/app", gdsvault.NoCache()) // past the cached value; stale fallback still allowed
		if i == 0 {
			t.Logf("unknown CA: %v (stale %v)", err, s != nil && s.Stale)
		}
		if s != nil || !errors.Is(err, gdsvault.ErrCertificate) || gdsvault.IsTransient(err) || errors.Is(err, gdsvault.ErrCircuitOpen) {
			t.Fatalf("read %d: %v, %v; want ErrCertificate, no stale answer, circuit closed", i, s, err)
		}
		if n := st.calls.Load() - before; n != 1 {
			t.Errorf("read %d: %d requests: retried", i, n)
		}
		if !strings.Contains(err.Error(), "VAULT_CACERT") || strings.Contains(err.Error(), "running") {
			t.Errorf("hint: %v", err)
		}
	}
}

// TestHostileWriteOutcomeUnknown: a write whose answer is lost (the proxy
// resets the connection after reading it, or cuts the answer off after
// Vault applied it) returns ErrOutcomeUnknown, still an ErrConnection, is
// not retried, and says the write may have been applied.
func TestHostileWriteOutcomeUnknown(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	proxy := vaulttest.NewProxy(t, vault.Addr)
	c := quietClient(t, proxy.Addr, vault.RootToken)
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	p := mount + "/data/w"
	if _, err := c.KV().Put(ctx(t), p, map[string]any{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	for i, f := range []vaulttest.Fault{{Reset: true}, {Truncate: true}} {
		proxy.Set(vaulttest.Fault{Only: vaulttest.AllOf(vaulttest.PathIs(p), func(r *http.Request) bool { return r.Method == http.MethodPost }),
			Reset: f.Reset, Truncate: f.Truncate})
		before := proxy.Stats().Paths[p]
		_, err := c.KV().Put(ctx(t), p, map[string]any{"v": "2"})
		sent := proxy.Stats().Paths[p] - before
		if !errors.Is(err, gdsvault.ErrOutcomeUnknown) || !errors.Is(err, gdsvault.ErrConnection) || !strings.Contains(err.Error(), "may have been applied") {
			t.Errorf("fault %d: %v, want ErrOutcomeUnknown", i, err)
		}
		if sent != 1 {
			t.Errorf("fault %d: the write was sent %d times", i, sent)
		}
	}
	proxy.Set(vaulttest.Fault{})
	md, err := c.KV().Metadata(ctx(t), p)
	if err != nil || md.CurrentVersion != 2 {
		t.Errorf("the cut-off write was applied by Vault (version 2): %+v, %v", md, err)
	}
}

// TestHostileJSON: answers of the wrong shape are ErrMalformedResponse, and
// the error quotes none of the answer's values.
func TestHostileJSON(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	proxy := vaulttest.NewProxy(t, vault.Addr)
	c := quietClient(t, proxy.Addr, vault.RootToken, gdsvault.WithMaxRetries(0))
	if _, err := c.GetSecret(ctx(t), "secret/data/myapp/config"); err != nil {
		t.Fatal(err)
	}
	deep := strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)
	for name, body := range map[string]string{
		"data a string":        `{"data":"leaked-value-1"}`,
		"data.data a list":     `{"data":{"data":["leaked-value-2"]}}`,
		"version a string":     `{"data":{"data":{"k":"v"},"metadata":{"version":"leaked-value-3"}}}`,
		"lease_duration words": `{"lease_duration":"leaked-value-4","data":{"data":{}}}`,
		"huge number":          `{"lease_duration":1e400,"data":{"data":{}}}`,
		"not json":             `leaked-value-5 <html>`,
		"deep nesting":         `{"data":{"data":` + deep + `}}`,
	} {
		proxy.Set(vaulttest.Fault{Only: vaulttest.PathIs("secret/data/myapp/config"), Respond: vaulttest.RespondJSON(200, body)})
		_, err := c.GetSecret(ctx(t), "secret/data/myapp/config")
		if !errors.Is(err, gdsvault.ErrMalformedResponse) || gdsvault.IsTransient(err) {
			t.Errorf("%s: %v, want ErrMalformedResponse", name, err)
			continue
		}
		if strings.Contains(err.Error(), "leaked-value") {
			t.Errorf("%s: the error quotes the answer: %v", name, err)
		}
	}
}

// TestAccessorOnlyAtDebug: at the default Info level the login is logged
// without its accessor (an accessor can revoke or look up its token).
func TestAccessorOnlyAtDebug(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	l := newHostileLab(t, nil)
	var info logBuffer
	c := l.client(t, gdsvault.WithLogger(slog.New(slog.NewTextHandler(&info, &slog.HandlerOptions{Level: slog.LevelInfo}))))
	if err := c.Authenticate(ctx(t)); err != nil {
		t.Fatal(err)
	}
	l.cnt.mu.Lock()
	acc := l.cnt.accessor
	l.cnt.mu.Unlock()
	if !strings.Contains(info.String(), "event=login") || acc == "" || strings.Contains(info.String(), acc) {
		t.Errorf("info log %q: want the login without the accessor", info.String())
	}
}

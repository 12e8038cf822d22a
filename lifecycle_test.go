package gdsvault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeVault is an in-memory Vault for the lifecycle loop, used inside
// testing/synctest bubbles where time is simulated: login, renew-self
// (capped at the max TTL), lookup-self, revoke-self and one secret. The real
// server is used by the integration tests; this one lets hours of TTLs run in
// milliseconds.
type fakeVault struct {
	mu        sync.Mutex
	ttl, max  time.Duration
	renewable bool
	down      bool
	tokens    map[string]*fakeToken
	seq       int

	logins, renewals, revokes, expiredUse atomic.Int64
}

type fakeToken struct {
	expiry, maxExpiry time.Time
	revoked           bool
}

func newFakeVault(ttl, max time.Duration, renewable bool) *fakeVault {
	return &fakeVault{ttl: ttl, max: max, renewable: renewable, tokens: map[string]*fakeToken{}}
}

func (f *fakeVault) setDown(d bool) { f.mu.Lock(); f.down = d; f.mu.Unlock() }

func (f *fakeVault) revokeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.tokens {
		t.revoked = true
	}
}

func (f *fakeVault) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errors.New("dial tcp 127.0.0.1:8200: connect: connection refused")
	}
	now := time.Now()
	reply := func(status int, body any) (*http.Response, error) {
		b, _ := json.Marshal(body)
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader(b)), Request: req}, nil
	}
	denied := func() (*http.Response, error) {
		return reply(403, map[string]any{"errors": []string{"permission denied", "invalid token"}})
	}
	valid := func() (*fakeToken, bool) {
		t, ok := f.tokens[req.Header.Get("X-Vault-Token")]
		if ok && !t.revoked && !now.Before(t.expiry) {
			f.expiredUse.Add(1) // a request carried a token known to be expired
		}
		return t, ok && !t.revoked && now.Before(t.expiry)
	}
	authBody := func(tok string, ttl time.Duration) map[string]any {
		return map[string]any{"auth": map[string]any{"client_token": tok, "accessor": "acc-" + tok, "lease_duration": int(ttl / time.Second),
			"renewable": f.renewable, "policies": []string{"default"}}}
	}
	switch req.URL.Path {
	case "/v1/auth/approle/login":
		f.logins.Add(1)
		f.seq++
		tok := fmt.Sprintf("hvs.fake-%d", f.seq)
		f.tokens[tok] = &fakeToken{expiry: now.Add(f.ttl), maxExpiry: now.Add(f.max)}
		return reply(200, authBody(tok, f.ttl))
	case "/v1/auth/token/renew-self":
		t, ok := valid()
		if !ok {
			return denied()
		}
		if !f.renewable {
			return reply(400, map[string]any{"errors": []string{"token not renewable"}})
		}
		f.renewals.Add(1)
		exp := now.Add(f.ttl)
		if exp.After(t.maxExpiry) {
			exp = t.maxExpiry
		}
		t.expiry = exp
		return reply(200, authBody(req.Header.Get("X-Vault-Token"), exp.Sub(now).Truncate(time.Second)))
	case "/v1/auth/token/lookup-self":
		t, ok := valid()
		if !ok {
			return denied()
		}
		return reply(200, map[string]any{"data": map[string]any{"ttl": int(t.expiry.Sub(now) / time.Second), "renewable": f.renewable}})
	case "/v1/auth/token/revoke-self":
		if t, ok := valid(); ok {
			t.revoked = true
			f.revokes.Add(1)
		}
		return reply(204, nil)
	case "/v1/secret/data/app":
		if _, ok := valid(); !ok {
			return denied()
		}
		return reply(200, map[string]any{"data": map[string]any{"data": map[string]any{"k": "v"}}})
	}
	return reply(404, map[string]any{"errors": []string{}})
}

var fakeLogin = AuthMethodFunc(func(ctx context.Context, c *Client) (*Auth, error) {
	return c.Login(ctx, "auth/approle/login", map[string]any{"role_id": "r", "secret_id": "s"})
})

type eventLog struct {
	mu sync.Mutex
	ev []Event
}

func (l *eventLog) add(e Event) { l.mu.Lock(); l.ev = append(l.ev, e); l.mu.Unlock() }
func (l *eventLog) count(k EventKind) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.ev {
		if e.Kind == k {
			n++
		}
	}
	return n
}

func newFakeClient(t *testing.T, fv *fakeVault, m AuthMethod, events *eventLog, opts ...Option) *Client {
	t.Helper()
	base := []Option{WithTransport(fv), WithAuth(m), WithLogger(slog.New(slog.DiscardHandler)), WithTimeout(5 * time.Second)}
	if events != nil {
		base = append(base, WithEvents(events.add))
	}
	c, err := New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// readFor reads every interval for d and returns the failed reads.
func readFor(c *Client, d, interval time.Duration) (reads, failed int, lastErr error) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		reads++
		if _, err := c.Read(context.Background(), "secret/data/app"); err != nil {
			failed++
			lastErr = err
		}
		time.Sleep(interval)
	}
	return reads, failed, lastErr
}

func TestLifecycleHoursOfRenewalsAndRelogins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newFakeVault(time.Minute, 10*time.Minute, true)
		var events eventLog
		c := newFakeClient(t, fv, fakeLogin, &events)
		reads, failed, err := readFor(c, 3*time.Hour, 5*time.Second)
		if failed != 0 {
			t.Fatalf("%d of %d reads failed; last: %v", failed, reads, err)
		}
		if fv.expiredUse.Load() != 0 {
			t.Errorf("%d requests carried an expired token", fv.expiredUse.Load())
		}
		// One login per 10-minute max TTL window (3 h = 18 windows, the
		// re-login happens a little before each window ends).
		if l := fv.logins.Load(); l < 18 || l > 22 {
			t.Errorf("logins = %d, want about 19", l)
		}
		if r := fv.renewals.Load(); r < 150 {
			t.Errorf("renewals = %d, want about 13 per window", r)
		}
		if events.count(EventLogin) != int(fv.logins.Load()) || events.count(EventRenewed) != int(fv.renewals.Load()) {
			t.Errorf("events: %d logins, %d renewals", events.count(EventLogin), events.count(EventRenewed))
		}
		if err := c.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if fv.revokes.Load() != 1 || events.count(EventClosed) != 1 {
			t.Errorf("close: %d revokes, %d closed events", fv.revokes.Load(), events.count(EventClosed))
		}
		t.Logf("3 simulated hours: %d reads, %d logins, %d renewals", reads, fv.logins.Load(), fv.renewals.Load())
	})
}

func TestLifecycleRenewalJitter(t *testing.T) {
	// Two clients started together do not renew at the same instant.
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var at [2][]time.Time
		for i := range 2 {
			fv := newFakeVault(time.Hour, 100*time.Hour, true)
			i := i
			c := newFakeClient(t, fv, fakeLogin, nil, WithEvents(func(e Event) {
				if e.Kind == EventRenewed {
					mu.Lock()
					at[i] = append(at[i], e.Time)
					mu.Unlock()
				}
			}))
			if err := c.Authenticate(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.Background())
		}
		time.Sleep(5 * time.Hour)
		mu.Lock()
		defer mu.Unlock()
		if len(at[0]) < 5 || len(at[1]) < 5 {
			t.Fatalf("renewals: %d and %d", len(at[0]), len(at[1]))
		}
		same := 0
		for j := range min(len(at[0]), len(at[1])) {
			if at[0][j].Equal(at[1][j]) {
				same++
			}
			// Each renewal lands between 57% and 67% of the hour.
			if j > 0 {
				gap := at[0][j].Sub(at[0][j-1])
				if gap < 34*time.Minute || gap > 40*time.Minute {
					t.Errorf("renewal gap %v outside [34m, 40m]", gap)
				}
			}
		}
		if same > 1 {
			t.Errorf("%d renewals at the same instant: no jitter", same)
		}
	})
}

func TestLifecycleVaultDownAndBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newFakeVault(time.Minute, time.Hour, true)
		var events eventLog
		c := newFakeClient(t, fv, fakeLogin, &events)
		defer c.Close(context.Background())
		if err := c.Authenticate(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Down from 30 s to 50 s: the renewal, due between 34 s and 40 s
		// (2/3 of the TTL minus jitter), fails, is retried with backoff, and
		// succeeds before the token's usable life ends at 55 s (5 s before
		// its expiry).
		time.Sleep(30 * time.Second)
		fv.setDown(true)
		time.Sleep(20 * time.Second)
		fv.setDown(false)
		_, failed, err := readFor(c, 10*time.Minute, 10*time.Second)
		if failed != 0 {
			t.Fatalf("%d reads failed after Vault came back: %v", failed, err)
		}
		if events.count(EventRenewFailed) == 0 || fv.logins.Load() != 1 {
			t.Errorf("renew failures %d (want > 0), logins %d (want 1: the token survived)", events.count(EventRenewFailed), fv.logins.Load())
		}

		// Down for longer than the TTL: the token expires; reads fail fast
		// while Vault is away and succeed again after a new login.
		fv.setDown(true)
		time.Sleep(3 * time.Minute)
		loginsBefore := fv.logins.Load()
		var downReads int
		for range 200 { // readers hammering a Vault that is away
			downReads++
			if _, err := c.Read(context.Background(), "secret/data/app"); !errors.Is(err, ErrConnection) {
				t.Fatalf("read while down: %v, want ErrConnection", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if attempts := events.count(EventLoginFailed); attempts > 20 {
			t.Errorf("%d login attempts for %d reads in 2 s while Vault was down: no backoff", attempts, downReads)
		}
		fv.setDown(false)
		back := time.Now()
		for time.Since(back) < time.Minute {
			if _, err = c.Read(context.Background(), "secret/data/app"); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil || time.Since(back) > 31*time.Second {
			t.Fatalf("read after Vault came back: %v after %v (the login backoff is capped at 30 s)", err, time.Since(back))
		}
		if fv.logins.Load() != loginsBefore+1 || events.count(EventExpired) == 0 {
			t.Errorf("logins %d (want %d), expired events %d", fv.logins.Load(), loginsBefore+1, events.count(EventExpired))
		}
		if fv.expiredUse.Load() != 0 {
			t.Errorf("%d requests carried an expired token", fv.expiredUse.Load())
		}
	})
}

func TestLifecycleBatchTokenIsReplaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newFakeVault(time.Minute, time.Minute, false)
		c := newFakeClient(t, fv, fakeLogin, nil)
		defer c.Close(context.Background())
		_, failed, err := readFor(c, 30*time.Minute, 7*time.Second)
		if failed != 0 {
			t.Fatalf("%d failed: %v", failed, err)
		}
		if fv.renewals.Load() != 0 || fv.logins.Load() < 30 || fv.expiredUse.Load() != 0 {
			t.Errorf("renewals %d, logins %d, expired uses %d", fv.renewals.Load(), fv.logins.Load(), fv.expiredUse.Load())
		}
	})
}

func TestLifecycleOneLoginForManyCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newFakeVault(time.Hour, time.Hour, true)
		slow := AuthMethodFunc(func(ctx context.Context, c *Client) (*Auth, error) {
			time.Sleep(2 * time.Second) // a slow login, in simulated time
			return fakeLogin(ctx, c)
		})
		c := newFakeClient(t, fv, slow, nil)
		defer c.Close(context.Background())
		var wg sync.WaitGroup
		var ok, cancelled atomic.Int64
		for i := range 100 {
			wg.Go(func() {
				ctx := context.Background()
				if i%10 == 0 { // these callers give up after 1 s; the login goes on for the others
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, time.Second)
					defer cancel()
				}
				if _, err := c.Read(ctx, "secret/data/app"); err == nil {
					ok.Add(1)
				} else if errors.Is(err, context.DeadlineExceeded) {
					cancelled.Add(1)
				}
			})
		}
		wg.Wait()
		if fv.logins.Load() != 1 || ok.Load() != 90 || cancelled.Load() != 10 {
			t.Errorf("logins %d (want 1), ok %d (want 90), cancelled %d (want 10)", fv.logins.Load(), ok.Load(), cancelled.Load())
		}
	})
}

func TestLifecycleRevokedTokenReloginOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newFakeVault(time.Hour, time.Hour, true)
		var events eventLog
		c := newFakeClient(t, fv, fakeLogin, &events)
		defer c.Close(context.Background())
		if _, err := c.Read(context.Background(), "secret/data/app"); err != nil {
			t.Fatal(err)
		}
		fv.revokeAll() // revoked from outside
		if _, err := c.Read(context.Background(), "secret/data/app"); err != nil {
			t.Fatalf("read after the token was revoked: %v", err)
		}
		// Reported as a revocation, not as an expiry (the token had an hour left).
		if fv.logins.Load() != 2 || events.count(EventRevoked) != 1 || events.count(EventExpired) != 0 {
			t.Errorf("logins %d, revoked events %d, expired events %d", fv.logins.Load(), events.count(EventRevoked), events.count(EventExpired))
		}
		// A login that keeps failing is not retried in a loop: one retry only.
		bad := AuthMethodFunc(func(ctx context.Context, c *Client) (*Auth, error) {
			return &Auth{ClientToken: NewToken("hvs.never-valid"), LeaseDuration: 3600}, nil
		})
		c2 := newFakeClient(t, fv, bad, nil)
		defer c2.Close(context.Background())
		_, err := c2.Read(context.Background(), "secret/data/app")
		if !errors.Is(err, ErrInvalidToken) {
			t.Errorf("err = %v, want ErrInvalidToken", err)
		}
	})
}

// fixedToken is a token given by value (VAULT_TOKEN): it can be renewed but
// never re-obtained.
type fixedToken struct{ tok Token }

func (f fixedToken) Login(ctx context.Context, c *Client) (*Auth, error) {
	return c.LookupToken(ctx, f.tok)
}
func (f fixedToken) Reobtainable() bool { return false }

func TestLifecycleFixedTokenRenewsThenExpiresClearly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newFakeVault(time.Minute, 5*time.Minute, true)
		fv.tokens["hvs.user"] = &fakeToken{expiry: time.Now().Add(time.Minute), maxExpiry: time.Now().Add(5 * time.Minute)}
		var events eventLog
		c := newFakeClient(t, fv, fixedToken{NewToken("hvs.user")}, &events)
		_, failed, err := readFor(c, 4*time.Minute, 10*time.Second)
		if failed != 0 || fv.renewals.Load() < 4 {
			t.Fatalf("before max TTL: %d failed (%v), %d renewals", failed, err, fv.renewals.Load())
		}
		time.Sleep(2 * time.Minute)
		_, err = c.Read(context.Background(), "secret/data/app")
		if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "VAULT_TOKEN") {
			t.Errorf("after max TTL: %v, want a clear invalid-token error", err)
		}
		if events.count(EventExpired) == 0 || fv.logins.Load() != 0 {
			t.Errorf("expired events %d, logins %d", events.count(EventExpired), fv.logins.Load())
		}
		c.Close(context.Background())
		if fv.revokes.Load() != 0 {
			t.Error("Close revoked a token the user supplied")
		}
	})
}

func TestCloseIsIdempotentAndStopsEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newFakeVault(time.Minute, time.Hour, true)
		var events eventLog
		c := newFakeClient(t, fv, fakeLogin, &events, WithRevokeOnClose(false))
		if err := c.Authenticate(context.Background()); err != nil {
			t.Fatal(err)
		}
		ns := c.WithNamespace("other")
		for range 3 {
			if err := c.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		ns.Close(context.Background())
		if fv.revokes.Load() != 0 || events.count(EventClosed) != 1 {
			t.Errorf("revokes %d, closed events %d", fv.revokes.Load(), events.count(EventClosed))
		}
		if _, err := ns.Read(context.Background(), "secret/data/app"); !errors.Is(err, ErrClosed) {
			t.Errorf("read after close: %v", err)
		}
		renewals := fv.renewals.Load()
		time.Sleep(time.Hour)
		if fv.renewals.Load() != renewals {
			t.Error("the renewal loop kept running after Close")
		}
		// synctest.Test fails if a goroutine of the bubble is left behind.
	})
}

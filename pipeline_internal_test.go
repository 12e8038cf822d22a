package gdsvault

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gdsvault/gdsvault/retry"
)

func TestRetryClassification(t *testing.T) {
	c := &Client{address: "http://vault:8200"}
	refused := &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}
	reset := &net.OpError{Op: "read", Err: syscall.ECONNRESET}
	conn := func(err error) func(r *request) error {
		return func(r *request) error { return c.connectionError(r, err, c.address) }
	}
	resp := func(status int, msgs ...string) func(r *request) error {
		return func(r *request) error {
			e := &ResponseError{StatusCode: status, Errors: msgs, RetryAfter: 2 * time.Second, fromVault: len(msgs) > 0, idempotent: r.idempotent()}
			e.classify()
			return e
		}
	}
	get := &request{method: http.MethodGet, path: "secret/data/x"}
	post := &request{method: http.MethodPost, path: "secret/data/x"}
	cas := &request{method: http.MethodPost, path: "secret/data/x", safe: true}
	creds := &request{method: http.MethodGet, path: "database/creds/app"}
	for _, tc := range []struct {
		name    string
		r       *request
		err     func(*request) error
		retry   bool
		unknown bool // the error says the outcome is unknown
	}{
		{"read, refused", get, conn(refused), true, false},
		{"read, reset", get, conn(reset), true, false},
		{"read, 502 html", get, resp(502), true, false},
		{"read, 503 sealed", get, resp(503, "Vault is sealed"), true, false},
		{"read, 500", get, resp(500, "internal error"), true, false},
		{"read, 504", get, resp(504), true, false},
		{"read, 412", get, resp(412), true, false},
		{"read, 429", get, resp(429, "rate limit quota exceeded"), true, false},
		{"read, 400", get, resp(400, "bad"), false, false},
		{"read, 403", get, resp(403, "permission denied"), false, false},
		{"read, 404", get, resp(404), false, false},
		{"read, 405", get, resp(405), false, false},
		{"read, cancelled", get, conn(context.Canceled), false, false},
		{"read, unknown CA", get, conn(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), false, false},
		{"write, refused: never reached vault", post, conn(refused), true, false},
		{"write, reset: may have run", post, conn(reset), false, true},
		{"write, bad certificate: never ran", post, conn(x509.HostnameError{Host: "vault"}), false, false},
		{"write, 502: may have run", post, resp(502), false, true},
		{"write, sealed: not processed", post, resp(503, "Vault is sealed"), true, false},
		{"write, 429: not processed", post, resp(429, "quota"), true, false},
		{"write, a proxy's 503 page: may have run", post, resp(503), false, true},
		{"a request marked safe (a renewal), reset", cas, conn(reset), true, false},
		{"issue credentials, reset", creds, conn(reset), false, true},
		{"issue credentials, refused", creds, conn(refused), true, false},
		{"circuit open", get, func(*request) error { return &CircuitOpenError{} }, false, false},
	} {
		err := tc.err(tc.r)
		v := c.verdict(context.Background(), err)
		if v.Retry != tc.retry {
			t.Errorf("%s: retry = %v, want %v", tc.name, v.Retry, tc.retry)
		}
		if v.Retry && errors.Is(err, ErrRateLimited) && v.After != 2*time.Second {
			t.Errorf("%s: Retry-After %v not passed on", tc.name, v.After)
		}
		if got := errors.Is(err, ErrOutcomeUnknown); got != tc.unknown {
			t.Errorf("%s: ErrOutcomeUnknown = %v, want %v (%v)", tc.name, got, tc.unknown, err)
		}
		if tc.unknown && !strings.Contains(err.Error(), "may have been applied") {
			t.Errorf("%s: the message does not say the request may have been applied: %v", tc.name, err)
		}
	}
}

// flaky fails the first n requests with err, then answers a secret.
type flaky struct {
	n     int
	err   error
	calls int
}

func (f *flaky) RoundTrip(req *http.Request) (*http.Response, error) {
	f.calls++
	if f.calls <= f.n {
		return nil, f.err
	}
	return (&fakeVault{}).reply(req, 200, `{"data":{"k":"v"}}`), nil
}

func (f *fakeVault) reply(req *http.Request, status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: http.NoBody, Request: req,
		ContentLength: -1}
}

func TestClientRetriesAndGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reset := &net.OpError{Op: "read", Err: syscall.ECONNRESET}
		f := &flaky{n: 2, err: reset}
		c, _ := New(WithTransport(f), WithToken("t"))
		if _, err := c.Read(context.Background(), "secret/data/x"); err != nil || f.calls != 3 {
			t.Fatalf("err %v after %d calls, want success on the 3rd", err, f.calls)
		}
		f = &flaky{n: 10, err: reset}
		c, _ = New(WithTransport(f), WithToken("t"), WithMaxRetries(3))
		_, err := c.Read(context.Background(), "secret/data/x")
		var re *retry.Error
		if !errors.As(err, &re) || re.Attempts != 4 || !errors.Is(err, ErrConnection) || f.calls != 4 {
			t.Fatalf("err %v, calls %d", err, f.calls)
		}
		if got := fmt.Sprint(err); got == "" || !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("message %q", got)
		}
		// A write that may have reached Vault is not retried.
		f = &flaky{n: 10, err: reset}
		c, _ = New(WithTransport(f), WithToken("t"))
		if _, err := c.Write(context.Background(), "secret/data/x", map[string]any{"a": 1}); err == nil || f.calls != 1 {
			t.Errorf("write retried: %d calls", f.calls)
		}
		// No retries at all.
		f = &flaky{n: 10, err: reset}
		c, _ = New(WithTransport(f), WithToken("t"), WithMaxRetries(0))
		c.Read(context.Background(), "secret/data/x")
		if f.calls != 1 {
			t.Errorf("WithMaxRetries(0): %d calls", f.calls)
		}
	})
}

func TestClientCircuitBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &flaky{n: 1 << 30, err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}
		c, _ := New(WithTransport(f), WithToken("t"), WithMaxRetries(0), WithCircuitBreaker(retry.BreakerConfig{}))
		for range 5 {
			c.Read(context.Background(), "secret/data/x")
		}
		_, err := c.Read(context.Background(), "secret/data/x")
		if !errors.Is(err, ErrCircuitOpen) || !IsTransient(err) || f.calls != 5 {
			t.Fatalf("6th call: %v after %d requests, want a fast ErrCircuitOpen", err, f.calls)
		}
		time.Sleep(30 * time.Second)
		f.n = 0 // Vault is back
		for range 2 {
			if _, err := c.Read(context.Background(), "secret/data/x"); err != nil {
				t.Fatalf("probe: %v", err)
			}
		}
		if c.shared.breaker.State() != retry.Closed {
			t.Errorf("state %v after two good probes", c.shared.breaker.State())
		}
	})
}

// blip fails the next request after failNext is set, then succeeds.
type blip struct{ failNext bool }

func (b *blip) RoundTrip(req *http.Request) (*http.Response, error) {
	if b.failNext {
		b.failNext = false
		return nil, &net.OpError{Op: "read", Err: syscall.ECONNRESET}
	}
	return (&fakeVault{}).reply(req, 200, ""), nil
}

func TestRetryBudgetRefillsWithHealthyTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &blip{}
		c, _ := New(WithTransport(b), WithToken("t"))
		// 300 isolated blips (each retry costs 5 of the 500 tokens), each
		// followed by healthy reads: retries must still work at the end.
		for range 300 {
			b.failNext = true
			if _, err := c.Read(context.Background(), "secret/data/x"); err != nil {
				t.Fatalf("a single blip was not retried: %v (budget %d)", err, c.retry.Budget.Available())
			}
			for range 10 {
				c.Read(context.Background(), "secret/data/x")
			}
		}
	})
}

func TestCallerDeadlineDoesNotOpenTheCircuit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &flaky{n: 1 << 30, err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}
		c, _ := New(WithTransport(f), WithToken("t"), WithCircuitBreaker(retry.BreakerConfig{Failures: 1}))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		c.Read(ctx, "secret/data/x")
		if st := c.shared.breaker.State(); st != retry.Closed {
			t.Fatalf("a caller's cancelled context opened the circuit: %v", st)
		}
	})
}

// TestBreakerLetsTheProbeLogIn: with the circuit open and the token
// expired during the outage, the probe's login is not refused by the probe.
func TestBreakerLetsTheProbeLogIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newFakeVault(time.Minute, time.Hour, true)
		c := newFakeClient(t, fv, fakeLogin, nil, WithCircuitBreaker(retry.BreakerConfig{Failures: 2, Cooldown: 10 * time.Second, Successes: 1}), WithMaxRetries(0))
		defer c.Close(context.Background())
		if _, err := c.Read(context.Background(), "secret/data/app"); err != nil {
			t.Fatal(err)
		}
		fv.setDown(true)
		for range 5 {
			c.Read(context.Background(), "secret/data/app")
			time.Sleep(time.Second)
		}
		time.Sleep(5 * time.Minute) // the token expires while Vault is away
		fv.setDown(false)
		var err error
		for range 100 {
			if _, err = c.Read(context.Background(), "secret/data/app"); err == nil {
				break
			}
			time.Sleep(time.Second)
		}
		if err != nil {
			t.Fatalf("never recovered: %v", err)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"3": 3 * time.Second, " 10 ": 10 * time.Second, "-1": 0, "soon": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzDecodeResponse feeds hostile answers (wrong types, nulls, huge
// numbers, deep nesting, garbage) to every decoder of the client: a KV v2
// read, a generic read, a login and a token lookup. Whatever the body, the
// client does not panic, returns a value or a typed error, clamps TTLs into
// [0, MaxSaneTTL], and never puts its token in an error.
func FuzzDecodeResponse(f *testing.F) {
	for _, seed := range []string{
		`{"data":{"data":{"k":"v"},"metadata":{"version":3,"created_time":"2026-01-01T00:00:00Z"}}}`,
		`{"auth":{"client_token":"hvs.x","lease_duration":20211507185753197,"renewable":true}}`,
		`{"auth":{"client_token":"hvs.x","lease_duration":-5}}`,
		`{"auth":{"client_token":7,"lease_duration":"x"}}`,
		`{"data":"not an object","lease_duration":1e400}`,
		`{"data":{"ttl":null,"policies":{"a":1}}}`,
		`null`, ``, `[`, `{"errors":["x"]}`,
		strings.Repeat(`[`, 5000),
	} {
		f.Add([]byte(seed), uint16(200))
	}
	f.Add([]byte(`{"errors":["permission denied"]}`), uint16(403))
	f.Add([]byte(`<html>502</html>`), uint16(502))
	const tok = "hvs.fuzz-client-token"
	f.Fuzz(func(t *testing.T, body []byte, status uint16) {
		code := int(status)
		if code < 200 || code > 599 {
			code = 200
		}
		tr := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.Body != nil {
				r.Body.Close()
			}
			b, c := body, code
			if strings.HasPrefix(r.URL.Path, "/v1/sys/internal/ui/mounts/") {
				b, c = []byte(`{"data":{"path":"secret/","type":"kv","options":{"version":"2"}}}`), 200
			}
			return &http.Response{StatusCode: c, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(bytes.NewReader(b)), ContentLength: int64(len(b)), Request: r}, nil
		})
		c, err := New(WithTransport(tr), WithToken(tok), WithMaxRetries(0), WithLogger(slog.New(slog.DiscardHandler)),
			WithMaxResponseSize(1<<20))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		check := func(what string, err error) {
			if err == nil {
				return
			}
			var re *ResponseError
			var ce *ConnectionError
			if !errors.As(err, &re) && !errors.As(err, &ce) {
				t.Fatalf("%s: untyped error %T: %v", what, err, err)
			}
			if !bytes.Contains(body, []byte(tok)) && strings.Contains(err.Error(), tok) {
				t.Fatalf("%s: the token is in the error: %v", what, err)
			}
		}
		s, err := c.GetSecret(ctx, "secret/data/x")
		check("kv", err)
		if err == nil && (s == nil || s.LeaseDuration < 0 || s.LeaseDuration > MaxSaneTTL) {
			t.Fatalf("kv: %v with lease %v", s, s.LeaseDuration)
		}
		g, err := c.Read(ctx, "transit/keys/x")
		check("read", err)
		if err == nil && (g == nil || g.LeaseTTL() < 0 || g.LeaseTTL() > MaxSaneTTL) {
			t.Fatalf("read: %v", g)
		}
		a, err := c.Login(ctx, "auth/approle/login", map[string]any{"role_id": "r"})
		check("login", err)
		if err == nil && (a.ClientToken.IsZero() || a.TTL() < 0 || a.TTL() > MaxSaneTTL) {
			t.Fatalf("login: %+v ttl %v", a, a.TTL())
		}
		l, err := c.LookupToken(ctx, NewToken(tok))
		check("lookup", err)
		if err == nil && (l.TTL() < 0 || l.TTL() > MaxSaneTTL) {
			t.Fatalf("lookup: ttl %v", l.TTL())
		}
	})
}

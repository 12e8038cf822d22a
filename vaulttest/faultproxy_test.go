package vaulttest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/retry"
	"github.com/gdsvault/gdsvault/vaulttest"
	"go.uber.org/goleak"
)

// checkLeaks fails the test if goroutines started during it outlive it. Call it
// first: its cleanup then runs last, after the proxy and clients closed.
func checkLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		// The provisioning helpers use http.DefaultTransport; its idle
		// keep-alive connections are not leaks of the code under test.
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		goleak.VerifyNone(t, ignore)
	})
}

// plainClient is a net/http client with its own transport, closed at cleanup.
func plainClient(t *testing.T, timeout time.Duration) *http.Client {
	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: timeout}
}

// vaultClient is a gdsvault client without retries (unless opts turn them on),
// so that a test sees how one attempt fails.
func vaultClient(t *testing.T, addr, token string, opts ...gdsvault.Option) *gdsvault.Client {
	t.Helper()
	base := []gdsvault.Option{gdsvault.WithAddress(addr), gdsvault.WithToken(token), gdsvault.WithMaxRetries(0)}
	c, err := gdsvault.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func get(t *testing.T, hc *http.Client, url, token string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Vault-Token", token)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// mustRead reads secret/data/<path> through c and checks the value of k.
func mustRead(t *testing.T, c *gdsvault.Client, path, want string) {
	t.Helper()
	s, err := c.Read(ctxT(t), "secret/data/"+path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	data, _ := s.Data["data"].(map[string]any)
	if data["k"] != want {
		t.Fatalf("read %s: data %v, want k=%s", path, s.Data, want)
	}
}

func TestFaultProxy(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	srv.PutKV(t, "secret", "fp", map[string]any{"k": "v"})
	// A body long enough that half of it is not valid JSON on its own.
	srv.PutKV(t, "secret", "big", map[string]any{"k": strings.Repeat("x", 4096)})
	secretURL := func(p *vaulttest.Proxy) string { return p.Addr + "/v1/secret/data/fp" }

	t.Run("PassThroughKeepAlive", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, srv.Addr)
		hc := plainClient(t, 10*time.Second)
		for i := 0; i < 5; i++ {
			resp, b, err := get(t, hc, secretURL(p), srv.RootToken)
			if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"k":"v"`) {
				t.Fatalf("request %d through the proxy: %v %v %s", i, resp, err, b)
			}
		}
		st := p.Stats()
		if st.Connections != 1 || st.Requests != 5 || st.Forwarded != 5 || len(st.Faults) != 0 {
			t.Fatalf("stats = %+v, want 5 requests on 1 kept-alive connection, no fault", st)
		}
		mustRead(t, vaultClient(t, p.Addr, srv.RootToken), "fp", "v")
	})

	t.Run("Reset", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, srv.Addr)
		p.Set(vaulttest.Fault{Reset: true})
		_, _, err := get(t, plainClient(t, 10*time.Second), secretURL(p), srv.RootToken)
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("plain client: err = %v, want connection reset by peer", err)
		}
		c := vaultClient(t, p.Addr, srv.RootToken)
		_, err = c.Read(ctxT(t), "secret/data/fp")
		var ce *gdsvault.ConnectionError
		if !errors.Is(err, gdsvault.ErrConnection) || !errors.As(err, &ce) || !errors.Is(err, syscall.ECONNRESET) || !gdsvault.IsTransient(err) {
			t.Fatalf("gdsvault: err = %v, want a transient ConnectionError wrapping ECONNRESET", err)
		}
		t.Logf("gdsvault on Reset: %v", err)
		if st := p.Stats(); st.Faults[vaulttest.FaultReset] < 2 || st.Forwarded != 0 {
			t.Fatalf("stats = %+v", st)
		}
		p.Set(vaulttest.Fault{})
		mustRead(t, c, "fp", "v")
	})

	t.Run("Truncate", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, srv.Addr)
		p.Set(vaulttest.Fault{Truncate: true})
		resp, _, err := get(t, plainClient(t, 10*time.Second), p.Addr+"/v1/secret/data/big", srv.RootToken)
		if resp == nil || resp.StatusCode != http.StatusOK || resp.ContentLength < 4096 || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("plain client: resp %v, body error %v; want 200 with the full Content-Length, then unexpected EOF", resp, err)
		}
		c := vaultClient(t, p.Addr, srv.RootToken)
		_, err = c.Read(ctxT(t), "secret/data/big")
		// A body cut off on the way is a connection failure (transient), not
		// a malformed answer from Vault.
		if !errors.Is(err, gdsvault.ErrConnection) || !gdsvault.IsTransient(err) || errors.Is(err, gdsvault.ErrMalformedResponse) ||
			!strings.Contains(err.Error(), "cut off") || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("gdsvault: err = %v, want ErrConnection (the answer was cut off: unexpected EOF)", err)
		}
		t.Logf("gdsvault on Truncate: %v (IsTransient=%v, ErrConnection=%v)", err, gdsvault.IsTransient(err), errors.Is(err, gdsvault.ErrConnection))
		if st := p.Stats(); st.Faults[vaulttest.FaultTruncate] != 2 || st.Forwarded != 2 {
			t.Fatalf("stats = %+v", st)
		}
		p.Set(vaulttest.Fault{})
		mustRead(t, c, "fp", "v")
	})

	t.Run("HTML502", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, srv.Addr)
		p.Set(vaulttest.Fault{HTML502: true})
		resp, b, err := get(t, plainClient(t, 10*time.Second), secretURL(p), srv.RootToken)
		if err != nil || resp.StatusCode != http.StatusBadGateway || resp.Header.Get("Content-Type") != "text/html" ||
			!strings.Contains(string(b), "<h1>502 Bad Gateway</h1>") {
			t.Fatalf("plain client: %v %v %s", resp, err, b)
		}
		c := vaultClient(t, p.Addr, srv.RootToken)
		_, err = c.Read(ctxT(t), "secret/data/fp")
		var re *gdsvault.ResponseError
		if !errors.Is(err, gdsvault.ErrUnavailable) || !errors.As(err, &re) || re.StatusCode != http.StatusBadGateway ||
			!strings.Contains(err.Error(), "proxy") || !gdsvault.IsTransient(err) {
			t.Fatalf("gdsvault: err = %v, want transient ErrUnavailable 502 naming a proxy", err)
		}
		t.Logf("gdsvault on HTML502: %v", err)
		p.Set(vaulttest.Fault{})
		mustRead(t, c, "fp", "v")
	})

	t.Run("Status429RetryAfter", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, srv.Addr)
		p.Set(vaulttest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 7 * time.Second})
		resp, b, err := get(t, plainClient(t, 10*time.Second), secretURL(p), srv.RootToken)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "7" ||
			!strings.HasPrefix(string(b), `{"errors":[`) {
			t.Fatalf("plain client: %v %v %s", resp, err, b)
		}
		c := vaultClient(t, p.Addr, srv.RootToken)
		_, err = c.Read(ctxT(t), "secret/data/fp")
		var re *gdsvault.ResponseError
		if !errors.Is(err, gdsvault.ErrRateLimited) || !errors.As(err, &re) || re.RetryAfter != 7*time.Second || !gdsvault.IsTransient(err) {
			t.Fatalf("gdsvault: err = %v (%+v), want transient ErrRateLimited with RetryAfter 7s", err, re)
		}
		t.Logf("gdsvault on 429: %v", err)
		p.Set(vaulttest.Fault{})
		mustRead(t, c, "fp", "v")
	})

	t.Run("Status503", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, srv.Addr)
		c := vaultClient(t, p.Addr, srv.RootToken)
		p.Set(vaulttest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: 1500 * time.Millisecond})
		_, err := c.Read(ctxT(t), "secret/data/fp")
		var re *gdsvault.ResponseError
		if !errors.Is(err, gdsvault.ErrUnavailable) || errors.Is(err, gdsvault.ErrSealed) || !errors.As(err, &re) ||
			re.RetryAfter != 2*time.Second || !gdsvault.IsTransient(err) {
			t.Fatalf("gdsvault: err = %v, want transient ErrUnavailable (not sealed), RetryAfter rounded up to 2s", err)
		}
		p.Set(vaulttest.Fault{Status: http.StatusServiceUnavailable, Errors: []string{"Vault is sealed"}})
		if _, err := c.Read(ctxT(t), "secret/data/fp"); !errors.Is(err, gdsvault.ErrSealed) {
			t.Fatalf("gdsvault: err = %v, want ErrSealed", err)
		}
		p.Set(vaulttest.Fault{})
		mustRead(t, c, "fp", "v")
	})

	t.Run("Blackhole", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, srv.Addr)
		p.Set(vaulttest.Fault{Blackhole: true})
		c := vaultClient(t, p.Addr, srv.RootToken, gdsvault.WithTimeout(300*time.Millisecond))
		res := make(chan error, 1)
		start := time.Now()
		go func() { _, err := c.Read(context.Background(), "secret/data/fp"); res <- err }()
		var err error
		select {
		case err = <-res:
		case <-time.After(20 * time.Second):
			t.Fatal("the client's 300ms timeout did not end a blackholed request within 20s")
		}
		var ce *gdsvault.ConnectionError
		if !errors.Is(err, gdsvault.ErrConnection) || !errors.As(err, &ce) || !gdsvault.IsTransient(err) || time.Since(start) < 300*time.Millisecond {
			t.Fatalf("gdsvault: err = %v after %s, want a transient ConnectionError after at least 300ms", err, time.Since(start))
		}
		t.Logf("gdsvault on Blackhole: %v (after %s)", err, time.Since(start).Round(time.Millisecond))
		p.Set(vaulttest.Fault{})
		mustRead(t, c, "fp", "v")
	})

	t.Run("BlackholeReleasedBySet", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, srv.Addr)
		entered := make(chan struct{})
		var once sync.Once
		p.Set(vaulttest.Fault{Blackhole: true, Only: func(*http.Request) bool { once.Do(func() { close(entered) }); return true }})
		res := make(chan error, 1)
		hc := plainClient(t, 0) // no timeout: only the proxy can end the request
		go func() { _, _, err := get(t, hc, secretURL(p), srv.RootToken); res <- err }()
		<-entered
		select {
		case err := <-res:
			t.Fatalf("a blackholed request ended before the fault changed: %v", err)
		default:
		}
		p.Set(vaulttest.Fault{})
		select {
		case err := <-res:
			if err == nil {
				t.Fatal("a blackholed request got an answer")
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Set did not release a blackholed connection within 20s")
		}
		mustRead(t, vaultClient(t, p.Addr, srv.RootToken), "fp", "v")
	})

	t.Run("BlackholeReleasedByClose", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, srv.Addr)
		entered := make(chan struct{})
		var once sync.Once
		p.Set(vaulttest.Fault{Blackhole: true, Only: func(*http.Request) bool { once.Do(func() { close(entered) }); return true }})
		const n = 3
		res := make(chan error, n)
		hc := plainClient(t, 0)
		for i := 0; i < n; i++ {
			go func() { _, _, err := get(t, hc, secretURL(p), srv.RootToken); res <- err }()
		}
		<-entered
		p.Close()
		for i := 0; i < n; i++ {
			select {
			case err := <-res:
				if err == nil {
					t.Fatal("a blackholed request got an answer")
				}
			case <-time.After(20 * time.Second):
				t.Fatal("Close did not release the blackholed connections within 20s")
			}
		}
		p.Close() // idempotent
		if _, _, err := get(t, hc, secretURL(p), srv.RootToken); err == nil {
			t.Fatal("a closed proxy answered")
		}
	})

	t.Run("Latency", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, srv.Addr)
		c := vaultClient(t, p.Addr, srv.RootToken)
		mustRead(t, c, "fp", "v") // a warm connection: the delay below is the proxy's
		const d = 250 * time.Millisecond
		p.Set(vaulttest.Fault{Latency: d})
		start := time.Now()
		mustRead(t, c, "fp", "v")
		if el := time.Since(start); el < d {
			t.Fatalf("a read with %s of added latency took %s", d, el)
		}
		start = time.Now()
		resp, _, err := get(t, plainClient(t, 10*time.Second), secretURL(p), srv.RootToken)
		if el := time.Since(start); err != nil || resp.StatusCode != http.StatusOK || el < d {
			t.Fatalf("plain client: %v %v after %s, want 200 after at least %s", resp, err, el, d)
		}
		if st := p.Stats(); st.Faults[vaulttest.FaultLatency] != 2 || st.Forwarded != 3 {
			t.Fatalf("stats = %+v", st)
		}
		p.Set(vaulttest.Fault{})
		mustRead(t, c, "fp", "v")
	})

	t.Run("Count", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, srv.Addr)
		c := vaultClient(t, p.Addr, srv.RootToken)
		p.Set(vaulttest.Fault{Status: http.StatusServiceUnavailable, Count: 2})
		for i := 0; i < 2; i++ {
			if _, err := c.Read(ctxT(t), "secret/data/fp"); !errors.Is(err, gdsvault.ErrUnavailable) {
				t.Fatalf("request %d: err = %v, want ErrUnavailable", i, err)
			}
		}
		mustRead(t, c, "fp", "v") // the third passes
		mustRead(t, c, "fp", "v")
		if st := p.Stats(); st.Requests != 4 || st.Faults[vaulttest.FaultStatus] != 2 || st.Forwarded != 2 {
			t.Fatalf("stats = %+v, want 4 requests, 2 faulted, 2 forwarded", st)
		}
		p.Set(vaulttest.Fault{Status: http.StatusServiceUnavailable, Count: 1}) // Set restarts the count
		if _, err := c.Read(ctxT(t), "secret/data/fp"); !errors.Is(err, gdsvault.ErrUnavailable) {
			t.Fatalf("after a new Set: err = %v, want ErrUnavailable", err)
		}
		mustRead(t, c, "fp", "v")
	})

	t.Run("Only", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, srv.Addr)
		c := vaultClient(t, p.Addr, srv.RootToken)
		srv.PutKV(t, "secret", "only", map[string]any{"k": "v"})
		p.Set(vaulttest.Fault{Status: http.StatusServiceUnavailable, Only: func(r *http.Request) bool {
			return r.Method == http.MethodGet && r.URL.Path == "/v1/secret/data/only"
		}})
		// GetSecret first looks the mount up (sys/internal/ui/mounts/...),
		// which passes; only the read itself fails.
		if _, err := c.GetSecret(ctxT(t), "secret/only"); !errors.Is(err, gdsvault.ErrUnavailable) {
			t.Fatalf("matching read: err = %v, want ErrUnavailable", err)
		}
		if s, err := c.GetSecret(ctxT(t), "secret/big"); err != nil || len(s.Data["k"].(string)) != 4096 {
			t.Fatalf("other path: %v %v", s, err)
		}
		if _, err := c.KV().Put(ctxT(t), "secret/only", map[string]any{"k": "v2"}); err != nil {
			t.Fatalf("a write to the same path (not matched): %v", err)
		}
		st := p.Stats()
		if st.Faults[vaulttest.FaultStatus] != 1 || st.Forwarded != st.Requests-1 || st.Requests < 3 {
			t.Fatalf("stats = %+v, want exactly one faulted request", st)
		}
		p.Set(vaulttest.Fault{})
		mustRead(t, c, "only", "v2")
	})

	t.Run("RetryingClient", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, srv.Addr)
		// The default policy: 3 attempts, idempotent requests only.
		c := vaultClient(t, p.Addr, srv.RootToken, gdsvault.WithRetry(retry.Default))
		p.Set(vaulttest.Fault{Status: http.StatusServiceUnavailable, Count: 2})
		mustRead(t, c, "fp", "v")
		if st := p.Stats(); st.Requests != 3 || st.Faults[vaulttest.FaultStatus] != 2 {
			t.Fatalf("a read through two 503s: stats = %+v, want 3 attempts", st)
		}
		// A write that may have reached Vault is not sent twice.
		p.Set(vaulttest.Fault{Reset: true, Only: func(r *http.Request) bool { return r.Method != http.MethodGet }})
		_, err := c.KV().Put(ctxT(t), "secret/retry", map[string]any{"k": "v"})
		if !errors.Is(err, gdsvault.ErrConnection) || !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("reset write: err = %v, want ErrConnection (reset)", err)
		}
		if n := p.Stats().Faults[vaulttest.FaultReset]; n != 1 {
			t.Fatalf("a reset write was sent %d times, want once", n)
		}
		t.Logf("retrying gdsvault on a reset write: %v", err)
		// A read cut off on the way is transient and idempotent: retried up
		// to the policy's 3 attempts.
		p.Set(vaulttest.Fault{Truncate: true})
		before := p.Stats().Requests
		if _, err := c.Read(ctxT(t), "secret/data/big"); !errors.Is(err, gdsvault.ErrConnection) {
			t.Fatalf("truncated read: err = %v, want ErrConnection", err)
		}
		if n := p.Stats().Requests - before; n != 3 {
			t.Fatalf("retrying gdsvault sent a truncated read %d time(s), want 3", n)
		}
		p.Set(vaulttest.Fault{})
		mustRead(t, c, "fp", "v")
	})

	t.Run("InvalidFaultPanics", func(t *testing.T) {
		p := vaulttest.NewProxy(t, srv.Addr)
		for _, f := range []vaulttest.Fault{
			{Reset: true, Status: 503},
			{Blackhole: true, Truncate: true},
			{RetryAfter: time.Second},
			{Status: 42},
			{Count: -1},
			{Errors: []string{"x"}},
		} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("Set(%+v) did not panic", f)
					}
				}()
				p.Set(f)
			}()
		}
	})
}

func TestNewProxyBadTarget(t *testing.T) {
	ft := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() { // Fatal ends the goroutine with runtime.Goexit
		defer close(done)
		vaulttest.NewProxy(ft, "https://127.0.0.1:1")
	}()
	<-done
	if !strings.Contains(ft.msg, "not an http://host:port") {
		t.Fatalf("NewProxy with an https target: fatal %q", ft.msg)
	}
}

type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatal(args ...any) {
	for _, a := range args {
		if e, ok := a.(error); ok {
			f.msg += e.Error()
		}
	}
	runtime.Goexit()
}

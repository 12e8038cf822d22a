package vaulttest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strconv"
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

// do sends a request with an optional token and body; the caller reads and
// closes the answer's body.
func do(t *testing.T, hc *http.Client, method, url, token, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(vaulttest.Context(t), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	return hc.Do(req)
}

// send is do that reads the whole answer.
func send(t *testing.T, hc *http.Client, method, url, token, body string) (*http.Response, []byte, error) {
	t.Helper()
	resp, err := do(t, hc, method, url, token, body)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// authField is the JSON text of auth.<key> in a Vault answer ("" if absent).
func authField(t *testing.T, body []byte, key string) string {
	t.Helper()
	var out struct {
		Auth map[string]json.RawMessage `json:"auth"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("answer %.200s: %v", body, err)
	}
	return string(out.Auth[key])
}

type readResult struct {
	body []byte
	err  error
}

// readAsync reads and closes resp.Body in a goroutine.
func readAsync(resp *http.Response) <-chan readResult {
	res := make(chan readResult, 1)
	go func() {
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		res <- readResult{b, err}
	}()
	return res
}

// readHeld reads resp's body in the background once p holds the
// connection (a stall), and fails the test if the body ended before.
func readHeld(t *testing.T, p *vaulttest.Proxy, resp *http.Response) <-chan readResult {
	t.Helper()
	rest := readAsync(resp)
	waitHeld(t, p, 1)
	select {
	case r := <-rest:
		t.Fatalf("a stalled body ended before the fault changed: %q %v", r.body, r.err)
	default:
	}
	return rest
}

// waitHeld waits until p holds n connections.
func waitHeld(t *testing.T, p *vaulttest.Proxy, n int) {
	t.Helper()
	if _, err := p.WaitFor(vaulttest.Context(t), func(s vaulttest.ProxyStats) bool { return s.Held == n }); err != nil {
		t.Fatal(err)
	}
}

// mustRead reads secret/data/<path> through c and checks the value of k.
func mustRead(t *testing.T, c *gdsvault.Client, path, want string) {
	t.Helper()
	s, err := c.Read(vaulttest.Context(t), "secret/data/"+path)
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
		_, err = c.Read(vaulttest.Context(t), "secret/data/fp")
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
		_, err = c.Read(vaulttest.Context(t), "secret/data/big")
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
		_, err = c.Read(vaulttest.Context(t), "secret/data/fp")
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
		_, err = c.Read(vaulttest.Context(t), "secret/data/fp")
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
		_, err := c.Read(vaulttest.Context(t), "secret/data/fp")
		var re *gdsvault.ResponseError
		if !errors.Is(err, gdsvault.ErrUnavailable) || errors.Is(err, gdsvault.ErrSealed) || !errors.As(err, &re) ||
			re.RetryAfter != 2*time.Second || !gdsvault.IsTransient(err) {
			t.Fatalf("gdsvault: err = %v, want transient ErrUnavailable (not sealed), RetryAfter rounded up to 2s", err)
		}
		p.Set(vaulttest.Fault{Status: http.StatusServiceUnavailable, Errors: []string{"Vault is sealed"}})
		if _, err := c.Read(vaulttest.Context(t), "secret/data/fp"); !errors.Is(err, gdsvault.ErrSealed) {
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
			if _, err := c.Read(vaulttest.Context(t), "secret/data/fp"); !errors.Is(err, gdsvault.ErrUnavailable) {
				t.Fatalf("request %d: err = %v, want ErrUnavailable", i, err)
			}
		}
		mustRead(t, c, "fp", "v") // the third passes
		mustRead(t, c, "fp", "v")
		if st := p.Stats(); st.Requests != 4 || st.Faults[vaulttest.FaultStatus] != 2 || st.Forwarded != 2 {
			t.Fatalf("stats = %+v, want 4 requests, 2 faulted, 2 forwarded", st)
		}
		p.Set(vaulttest.Fault{Status: http.StatusServiceUnavailable, Count: 1}) // Set restarts the count
		if _, err := c.Read(vaulttest.Context(t), "secret/data/fp"); !errors.Is(err, gdsvault.ErrUnavailable) {
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
		// GetSecret looks the mount up (sys/internal/ui/mounts/...), which
		// passes, and on a client without a cache guesses the mount and
		// reads at the same time; only the reads themselves fail.
		if _, err := c.GetSecret(vaulttest.Context(t), "secret/only"); !errors.Is(err, gdsvault.ErrUnavailable) {
			t.Fatalf("matching read: err = %v, want ErrUnavailable", err)
		}
		if s, err := c.GetSecret(vaulttest.Context(t), "secret/big"); err != nil || len(s.Data["k"].(string)) != 4096 {
			t.Fatalf("other path: %v %v", s, err)
		}
		if _, err := c.KV().Put(vaulttest.Context(t), "secret/only", map[string]any{"k": "v2"}); err != nil {
			t.Fatalf("a write to the same path (not matched): %v", err)
		}
		st := p.Stats()
		if n := st.Faults[vaulttest.FaultStatus]; n < 1 || n > 2 || st.Forwarded != st.Requests-n || st.Requests < 3 {
			t.Fatalf("stats = %+v, want the matching reads (one, or two with the cold-read guess) faulted, nothing else", st)
		}
		p.Set(vaulttest.Fault{})
		mustRead(t, c, "only", "v2")
	})

	t.Run("RetryingClient", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, srv.Addr)
		// The default policy: 3 attempts, idempotent requests only.
		c := vaultClient(t, p.Addr, srv.RootToken, gdsvault.WithRetry(retry.DefaultPolicy()))
		p.Set(vaulttest.Fault{Status: http.StatusServiceUnavailable, Count: 2})
		mustRead(t, c, "fp", "v")
		if st := p.Stats(); st.Requests != 3 || st.Faults[vaulttest.FaultStatus] != 2 {
			t.Fatalf("a read through two 503s: stats = %+v, want 3 attempts", st)
		}
		// A write that may have reached Vault is not sent twice.
		p.Set(vaulttest.Fault{Reset: true, Only: func(r *http.Request) bool { return r.Method != http.MethodGet }})
		_, err := c.KV().Put(vaulttest.Context(t), "secret/retry", map[string]any{"k": "v"})
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
		if _, err := c.Read(vaulttest.Context(t), "secret/data/big"); !errors.Is(err, gdsvault.ErrConnection) {
			t.Fatalf("truncated read: err = %v, want ErrConnection", err)
		}
		if n := p.Stats().Requests - before; n != 3 {
			t.Fatalf("retrying gdsvault sent a truncated read %d time(s), want 3", n)
		}
		p.Set(vaulttest.Fault{})
		mustRead(t, c, "fp", "v")
	})

	// An AppRole whose secret ID serves many logins, and whose tokens live
	// an hour (lease_duration 3600) and can be renewed.
	approle := srv.UniqueName("approle")
	srv.EnableAuth(t, approle, "approle")
	srv.CreateAppRole(t, approle, "r", map[string]any{"token_ttl": "1h", "token_max_ttl": "2h"})
	roleID, secretID := srv.RoleID(t, approle, "r"), srv.SecretID(t, approle, "r")
	loginPath := "auth/" + approle + "/login"
	login := func(t *testing.T, hc *http.Client, p *vaulttest.Proxy) (*http.Response, []byte) {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"role_id": roleID, "secret_id": secretID})
		resp, body, err := send(t, hc, http.MethodPost, p.Addr+"/v1/"+loginPath, "", string(b))
		if err != nil {
			t.Fatalf("login through the proxy: %v", err)
		}
		return resp, body
	}

	t.Run("ForbidTokensLetLoginsPass", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, srv.Addr)
		hc := plainClient(t, 10*time.Second)
		p.Set(vaulttest.Fault{Only: vaulttest.HasToken(), Status: http.StatusForbidden, Errors: []string{"permission denied", "invalid token"}})
		resp, b := login(t, hc, p)
		tok := authField(t, b, "client_token")
		if resp.StatusCode != http.StatusOK || len(tok) < 3 {
			t.Fatalf("a login (no token) was not passed to Vault: %d %s", resp.StatusCode, b)
		}
		tok, _ = strconv.Unquote(tok)
		for _, r := range []struct{ method, path string }{{http.MethodGet, "secret/data/fp"}, {http.MethodPost, "auth/token/renew-self"}} {
			resp, b, err := send(t, hc, r.method, p.Addr+"/v1/"+r.path, tok, "")
			if err != nil || resp.StatusCode != http.StatusForbidden || string(b) != `{"errors":["permission denied","invalid token"]}` {
				t.Fatalf("%s %s with a valid token: %v %v %s, want the injected 403", r.method, r.path, resp, err, b)
			}
		}
		st := p.Stats()
		if st.Paths[loginPath] != 1 || st.Forwarded != 1 || st.Faults[vaulttest.FaultStatus] != 2 || st.Paths["secret/data/fp"] != 1 {
			t.Fatalf("stats = %+v, want 1 login forwarded and 2 requests with a token answered 403", st)
		}
	})

	t.Run("RewriteLeaseDuration", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, srv.Addr)
		hc := plainClient(t, 10*time.Second)
		if _, b := login(t, hc, p); authField(t, b, "lease_duration") != "3600" {
			t.Fatalf("Vault's own login answer: %s, want lease_duration 3600", b)
		}
		hostile := []struct {
			value any
			want  string // as it reads in the answer
		}{
			{int64(20211507185753197), "20211507185753197"},
			{-5, "-5"},
			{json.RawMessage(`1e30`), "1e30"},
			{"x", `"x"`},
			{nil, "null"},
		}
		for _, h := range hostile {
			p.Set(vaulttest.Fault{Rewrite: vaulttest.RewriteJSON("auth.lease_duration", h.value)})
			resp, b := login(t, hc, p)
			if got := authField(t, b, "lease_duration"); resp.StatusCode != http.StatusOK || got != h.want {
				t.Fatalf("login with lease_duration rewritten to %s: %d, lease_duration %s in %s", h.want, resp.StatusCode, got, b)
			}
			tok, _ := strconv.Unquote(authField(t, b, "client_token"))
			// The token is Vault's own: the login really happened.
			if _, err := srv.DoWithToken(vaulttest.Context(t), http.MethodGet, "auth/token/lookup-self", nil, tok); err != nil {
				t.Fatalf("the token from a rewritten login: %v", err)
			}
			resp, b, err := send(t, hc, http.MethodPost, p.Addr+"/v1/auth/token/renew-self", tok, "")
			if got := authField(t, b, "lease_duration"); err != nil || resp.StatusCode != http.StatusOK || got != h.want {
				t.Fatalf("renew-self with lease_duration rewritten to %s: %v %v, lease_duration %s in %s", h.want, resp, err, got, b)
			}
			// An answer without auth.lease_duration passes unchanged.
			if resp, b, err := get(t, hc, secretURL(p), srv.RootToken); err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"k":"v"`) {
				t.Fatalf("a read under the rewrite: %v %v %s", resp, err, b)
			}
		}
		if st := p.Stats(); st.Faults[vaulttest.FaultRewrite] != 2*len(hostile) || st.Forwarded != 1+3*len(hostile) || st.Paths[loginPath] != 1+len(hostile) {
			t.Fatalf("stats = %+v, want %d rewritten answers (logins and renewals) of %d forwarded", st, 2*len(hostile), 1+3*len(hostile))
		}
	})

	t.Run("RenewSelfPastMaxTTL", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, srv.Addr)
		hc := plainClient(t, 10*time.Second)
		tok := srv.CreateToken(t, map[string]any{"ttl": "1h"})
		const pastMax = `{"errors":["past the max TTL, cannot renew"]}`
		p.Set(vaulttest.Fault{Only: vaulttest.PathIs("auth/token/renew-self"), Respond: vaulttest.RespondJSON(http.StatusInternalServerError, pastMax)})
		resp, b, err := send(t, hc, http.MethodPost, p.Addr+"/v1/auth/token/renew-self", tok, "")
		if err != nil || resp.StatusCode != http.StatusInternalServerError || string(b) != pastMax || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("renew-self: %v %v %s, want the scripted 500", resp, err, b)
		}
		if st := p.Stats(); st.Forwarded != 0 || st.Faults[vaulttest.FaultRespond] != 1 {
			t.Fatalf("stats = %+v: the scripted answer was forwarded", st)
		}
		resp, b, err = get(t, hc, p.Addr+"/v1/auth/token/lookup-self", tok)
		if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"ttl":`) {
			t.Fatalf("lookup-self (another path) did not reach Vault: %v %v %s", resp, err, b)
		}
		st := p.Stats()
		if st.Forwarded != 1 || st.Paths["auth/token/renew-self"] != 1 || st.Paths["auth/token/lookup-self"] != 1 {
			t.Fatalf("stats = %+v", st)
		}
	})

	t.Run("RespondNilForwardsThenRewrite", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, srv.Addr)
		hc := plainClient(t, 10*time.Second)
		var mu sync.Mutex
		var seen []string
		p.Set(vaulttest.Fault{
			Respond: func(r *http.Request, body []byte) *vaulttest.Answer {
				if r.Method == http.MethodGet {
					return nil // to Vault
				}
				mu.Lock()
				seen = append(seen, r.Method+" "+r.URL.Path+" "+string(body))
				mu.Unlock()
				return &vaulttest.Answer{Status: http.StatusTeapot}
			},
			Rewrite: vaulttest.RewriteJSON("data.data.k", "rewritten"),
		})
		resp, b, err := get(t, hc, secretURL(p), srv.RootToken)
		if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"k":"rewritten"`) {
			t.Fatalf("a forwarded, rewritten read: %v %v %s", resp, err, b)
		}
		resp, b, err = send(t, hc, http.MethodPost, secretURL(p), srv.RootToken, `{"data":{"k":"w"}}`)
		if err != nil || resp.StatusCode != http.StatusTeapot || len(b) != 0 {
			t.Fatalf("a write answered by Respond: %v %v %s", resp, err, b)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 1 || seen[0] != `POST /v1/secret/data/fp {"data":{"k":"w"}}` {
			t.Fatalf("Respond saw %q", seen)
		}
		if st := p.Stats(); st.Forwarded != 1 || st.Faults[vaulttest.FaultRespond] != 1 || st.Faults[vaulttest.FaultRewrite] != 1 {
			t.Fatalf("stats = %+v", st)
		}
		mustRead(t, vaultClient(t, srv.Addr, srv.RootToken), "fp", "v") // the write never reached Vault
	})

	t.Run("StallForwarded", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, srv.Addr)
		p.Set(vaulttest.Fault{Stall: true, StallAfter: 5, Only: vaulttest.PathIs("secret/data/fp")})
		resp, err := do(t, plainClient(t, 0), http.MethodGet, secretURL(p), srv.RootToken, "")
		if err != nil || resp.StatusCode != http.StatusOK || resp.ContentLength <= 5 {
			t.Fatalf("stalled read: %v %v, want Vault's status and Content-Length", resp, err)
		}
		rest := readHeld(t, p, resp)
		p.Set(vaulttest.Fault{})
		r := <-rest
		if string(r.body) != `{"req` || !errors.Is(r.err, io.ErrUnexpectedEOF) {
			t.Fatalf("stalled body after Set: %q %v, want 5 bytes then unexpected EOF", r.body, r.err)
		}
		if st := p.Stats(); st.Forwarded != 1 || st.Faults[vaulttest.FaultStall] != 1 {
			t.Fatalf("stats = %+v", st)
		}
		mustRead(t, vaultClient(t, p.Addr, srv.RootToken), "fp", "v")
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

// noTarget is the target of a proxy whose tests never reach Vault: a request
// forwarded by mistake finds the connection refused.
const noTarget = "http://127.0.0.1:1"

func TestProxyStreamBody(t *testing.T) {
	t.Run("512MiBInLittleMemory", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, noTarget)
		const size = 512 << 20
		p.Set(vaulttest.Fault{StreamBody: size})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a 512 MiB copy under -race on a busy machine
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.Addr+"/v1/secret/data/big", nil)
		resp, err := plainClient(t, 0).Do(req)
		if err != nil || resp.StatusCode != http.StatusOK || resp.ContentLength != size || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("streamed answer: %v %v, want 200 application/json with Content-Length %d", resp, err, size)
		}
		defer resp.Body.Close()
		// The client counts bytes; the proxy, in this process, must not hold
		// the body either.
		const limit = 64 << 20
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		peak := ms.HeapAlloc
		buf := make([]byte, 64<<10)
		var n int64
		var head, tail []byte
		for {
			k, err := resp.Body.Read(buf)
			if len(head) < 32 {
				head = append(head, buf[:min(k, 32)]...)
			}
			tail = append(tail, buf[max(0, k-8):k]...) // the last 8 bytes across reads
			tail = tail[max(0, len(tail)-8):]
			if n/(16<<20) != (n+int64(k))/(16<<20) {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
			n += int64(k)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("after %d bytes: %v", n, err)
			}
		}
		if n != size || !strings.HasPrefix(string(head), `{"data":{"data":{"k":"AAAA`) || !strings.HasSuffix(string(tail), `AAAA"}}}`) {
			t.Fatalf("read %d bytes, head %q, tail %q; want %d bytes of {\"data\":{\"data\":{\"k\":\"AAAA…\"}}}", n, head, tail, size)
		}
		if peak >= limit {
			t.Fatalf("heap peaked at %d MiB while streaming %d MiB, want under %d MiB", peak>>20, size>>20, limit>>20)
		}
		t.Logf("streamed %d MiB; heap peak %d MiB", n>>20, peak>>20)
		if st := p.Stats(); st.Forwarded != 0 || st.Faults[vaulttest.FaultStream] != 1 {
			t.Fatalf("stats = %+v", st)
		}
	})

	t.Run("ChunkedWithoutLength", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, noTarget)
		const size = 64 << 20
		p.Set(vaulttest.Fault{StreamBody: size, StreamChunked: true})
		resp, err := do(t, plainClient(t, 0), http.MethodGet, p.Addr+"/v1/secret/data/big", "", "")
		if err != nil || resp.ContentLength != -1 || len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
			t.Fatalf("chunked stream: %v %v, want no Content-Length", resp, err)
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil || n != size {
			t.Fatalf("read %d bytes, %v; want %d", n, err, size)
		}
	})

	t.Run("ValidJSON", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, noTarget)
		hc := plainClient(t, 10*time.Second)
		for _, tc := range []struct {
			prefix string
			size   int64
			chunk  bool
		}{
			{"", 1000, false},
			{"", int64(len(`{"data":{"data":{"k":""}}}`)), false}, // no filler at all
			{`{"auth":{"client_token":"`, 4096, true},
			{`{"data":{"keys":["a","b\"]","`, 777, false}, // a quote escaped inside a string
		} {
			p.Set(vaulttest.Fault{StreamBody: tc.size, StreamPrefix: tc.prefix, StreamChunked: tc.chunk})
			resp, b, err := get(t, hc, p.Addr+"/v1/x", "")
			if err != nil || resp.StatusCode != http.StatusOK || int64(len(b)) != tc.size || !json.Valid(b) {
				t.Fatalf("prefix %q: %v %v, %d bytes %s; want %d bytes of valid JSON", tc.prefix, resp, err, len(b), b, tc.size)
			}
		}
	})

	t.Run("Truncated", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, noTarget)
		p.Set(vaulttest.Fault{StreamBody: 1 << 20, Truncate: true})
		resp, b, err := get(t, plainClient(t, 10*time.Second), p.Addr+"/v1/x", "")
		if resp == nil || resp.ContentLength != 1<<20 || len(b) != 1<<19 || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("truncated stream: %v, %d bytes, %v; want half of 1 MiB then unexpected EOF", resp, len(b), err)
		}
	})
}

func TestProxyStall(t *testing.T) {
	body := `{"data":` + strings.Repeat(" ", 980) + `{"k":"v"}}`

	t.Run("HoldsUntilSet", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, noTarget)
		p.Set(vaulttest.Fault{Respond: vaulttest.RespondJSON(200, body), Stall: true, StallAfter: 10})
		resp, err := do(t, plainClient(t, 0), http.MethodGet, p.Addr+"/v1/secret/data/a", "", "")
		if err != nil || resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(body)) {
			t.Fatalf("stalled answer: %v %v, want 200 with the full Content-Length", resp, err)
		}
		rest := readHeld(t, p, resp)
		p.Set(vaulttest.Fault{})
		if r := <-rest; string(r.body) != body[:10] || !errors.Is(r.err, io.ErrUnexpectedEOF) {
			t.Fatalf("after Set: %q %v, want %q then unexpected EOF", r.body, r.err, body[:10])
		}
		waitHeld(t, p, 0)
		if st := p.Stats(); st.Forwarded != 0 || st.Faults[vaulttest.FaultStall] != 1 || st.Faults[vaulttest.FaultRespond] != 1 {
			t.Fatalf("stats = %+v", st)
		}
	})

	t.Run("ReleasedWhenTheClientGivesUp", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, noTarget)
		p.Set(vaulttest.Fault{StreamBody: 1 << 20, Stall: true}) // headers only
		ctx, cancel := context.WithCancel(vaulttest.Context(t))
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.Addr+"/v1/secret/data/a", nil)
		resp, err := plainClient(t, 0).Do(req)
		if err != nil || resp.ContentLength != 1<<20 {
			t.Fatalf("stalled answer: %v %v", resp, err)
		}
		rest := readAsync(resp)
		waitHeld(t, p, 1)
		cancel()
		if r := <-rest; len(r.body) != 0 || !errors.Is(r.err, context.Canceled) {
			t.Fatalf("after the client gave up: %d bytes, %v", len(r.body), r.err)
		}
		if _, err := p.WaitFor(vaulttest.Context(t), func(s vaulttest.ProxyStats) bool { return s.Held == 0 }); err != nil {
			t.Fatalf("the proxy still holds a connection its client closed: %v", err)
		}
	})

	t.Run("NoBodyStallsBeforeTheStatus", func(t *testing.T) {
		checkLeaks(t)
		p := vaulttest.NewProxy(t, noTarget)
		p.Set(vaulttest.Fault{Respond: func(*http.Request, []byte) *vaulttest.Answer { return &vaulttest.Answer{Status: http.StatusNoContent} }, Stall: true})
		res := make(chan error, 1)
		hc := plainClient(t, 0)
		go func() { _, _, err := send(t, hc, http.MethodPost, p.Addr+"/v1/secret/data/a", "", `{}`); res <- err }()
		waitHeld(t, p, 1)
		select {
		case err := <-res:
			t.Fatalf("a stalled 204 arrived: %v", err)
		default:
		}
		p.Close()
		if err := <-res; err == nil {
			t.Fatal("a stalled 204 arrived after Close")
		}
	})
}

func TestProxyRespondHostileJSON(t *testing.T) {
	checkLeaks(t)
	p := vaulttest.NewProxy(t, noTarget)
	hc := plainClient(t, 10*time.Second)
	deep := strings.Repeat(`{"data":`, 100000) + "null" + strings.Repeat("}", 100000)
	bodies := map[string]string{
		"data is a string":          `{"data":"not an object"}`,
		"lease_duration is a word":  `{"auth":{"client_token":"hvs.x","lease_duration":"x","renewable":true}}`,
		"nulls":                     `{"auth":null,"data":null,"lease_duration":null,"errors":null}`,
		"huge numbers":              `{"auth":{"client_token":"hvs.x","lease_duration":1e400,"renewable":true},"lease_duration":20211507185753197}`,
		"deep nesting":              deep,
		"not JSON":                  `{"data":{"data":{"k":"v"`,
		"errors of the wrong shape": `{"errors":"permission denied"}`,
	}
	for name, body := range bodies {
		p.Set(vaulttest.Fault{Respond: vaulttest.RespondJSON(http.StatusOK, body)})
		resp, b, err := get(t, hc, p.Addr+"/v1/secret/data/a", "t")
		if err != nil || resp.StatusCode != http.StatusOK || string(b) != body || resp.ContentLength != int64(len(body)) {
			t.Fatalf("%s: %v %v, %.100s; want the scripted body byte for byte", name, resp, err, b)
		}
	}
	if st := p.Stats(); st.Forwarded != 0 || st.Faults[vaulttest.FaultRespond] != len(bodies) || st.Paths["secret/data/a"] != len(bodies) {
		t.Fatalf("stats = %+v, want %d answers made up, none forwarded", st, len(bodies))
	}
}

func TestProxyStatsPaths(t *testing.T) {
	checkLeaks(t)
	p := vaulttest.NewProxy(t, noTarget)
	hc := plainClient(t, 10*time.Second)
	p.Set(vaulttest.Fault{Respond: vaulttest.RespondJSON(http.StatusOK, `{}`)})
	for i := 0; i < 300; i++ {
		if _, _, err := get(t, hc, p.Addr+"/v1/secret/data/"+strconv.Itoa(i), ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{"/v1/secret/data/0", "/v1/secret/data/299", "/ui/"} {
		if _, _, err := get(t, hc, p.Addr+path, ""); err != nil {
			t.Fatal(err)
		}
	}
	st := p.Stats()
	if len(st.Paths) != 256 || st.Paths["secret/data/0"] != 2 || st.Paths["secret/data/255"] != 1 || st.OtherPaths != 300-256+2 || st.Requests != 303 {
		t.Fatalf("paths: %d entries, secret/data/0: %d, secret/data/255: %d, other: %d, requests %d; want 256 entries and 46 others",
			len(st.Paths), st.Paths["secret/data/0"], st.Paths["secret/data/255"], st.OtherPaths, st.Requests)
	}
	st.Paths["secret/data/0"] = 99 // a copy
	if p.Stats().Paths["secret/data/0"] != 2 {
		t.Fatal("Stats shares its Paths map with the proxy")
	}
}

func TestProxyWaitFor(t *testing.T) {
	checkLeaks(t)
	p := vaulttest.NewProxy(t, noTarget)
	p.Set(vaulttest.Fault{Respond: vaulttest.RespondJSON(http.StatusOK, `{}`)})
	done := make(chan error, 1)
	go func() {
		_, err := p.WaitFor(context.Background(), func(s vaulttest.ProxyStats) bool { return s.Paths["sys/health"] == 3 })
		done <- err
	}()
	hc := plainClient(t, 10*time.Second)
	for i := 0; i < 3; i++ {
		if _, _, err := get(t, hc, p.Addr+"/v1/sys/health", ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("WaitFor for 3 requests: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := p.WaitFor(ctx, func(s vaulttest.ProxyStats) bool { return s.Requests > 3 }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitFor past its deadline: %v", err)
	}
	go func() {
		_, err := p.WaitFor(context.Background(), func(s vaulttest.ProxyStats) bool { return false })
		done <- err
	}()
	p.Close()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("WaitFor on a closed proxy: %v", err)
	}
}

func TestStartProxy(t *testing.T) {
	checkLeaks(t)
	for _, bad := range []string{"https://127.0.0.1:8200", "127.0.0.1:8200", "http://", "::"} {
		if p, err := vaulttest.StartProxy(bad); err == nil || p != nil {
			t.Errorf("StartProxy(%q) = %v, %v; want an error", bad, p, err)
		}
	}
	p, err := vaulttest.StartProxy(noTarget)
	if err != nil {
		t.Fatal(err)
	}
	p.Set(vaulttest.Fault{Status: http.StatusServiceUnavailable})
	resp, _, err := get(t, plainClient(t, 10*time.Second), p.Addr+"/v1/sys/health", "")
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a started proxy: %v %v", resp, err)
	}
	p.Close()
	p.Close()
}

func TestFaultValidate(t *testing.T) {
	respond := vaulttest.RespondJSON(200, `{}`)
	rewrite := vaulttest.RewriteJSON("auth.lease_duration", 1)
	valid := []vaulttest.Fault{
		{},
		{Status: 503, Truncate: true},
		{HTML502: true, Stall: true, RetryAfter: time.Second},
		{Respond: respond, Stall: true, StallAfter: 3},
		{Respond: respond, Rewrite: rewrite},
		{Rewrite: rewrite, Truncate: true},
		{StreamBody: 1 << 30, StreamChunked: true, Stall: true, StallAfter: 100},
		{StreamBody: int64(len(`{"data":{"data":{"k":""}}}`))},
		{Latency: time.Second, Reset: true, Count: 2, Only: vaulttest.HasToken()},
	}
	for _, f := range valid {
		if err := f.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", f, err)
		}
	}
	invalid := []vaulttest.Fault{
		{Reset: true, Status: 503},
		{Blackhole: true, Truncate: true},
		{Stall: true, Truncate: true},
		{Reset: true, Stall: true},
		{Status: 503, Respond: respond},
		{HTML502: true, StreamBody: 1 << 20},
		{Blackhole: true, Rewrite: rewrite},
		{Reset: true, Respond: respond},
		{Rewrite: rewrite, Status: 500},
		{Rewrite: rewrite, StreamBody: 1 << 20},
		{RetryAfter: time.Second},
		{Status: 42},
		{Count: -1},
		{StreamBody: -1},
		{Stall: true, StallAfter: -1},
		{StallAfter: 10},
		{StreamPrefix: `{"a":"`},
		{StreamChunked: true},
		{StreamBody: 5},
		{Errors: []string{"x"}},
	}
	p := vaulttest.NewProxy(t, noTarget)
	for _, f := range invalid {
		if err := f.Validate(); err == nil || !strings.HasPrefix(err.Error(), "vaulttest: ") {
			t.Errorf("Validate(%+v) = %v, want an error", f, err)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Set(%+v) did not panic", f)
				}
			}()
			p.Set(f)
		}()
	}
}

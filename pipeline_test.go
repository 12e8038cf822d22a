package gdsvault_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gdsvault/gdsvault"
)

// An http.Client without a Timeout: the client's own deadline must cover
// reading the body, not end when the headers arrive.
func TestHTTPClientWithoutTimeoutReadsWholeBodies(t *testing.T) {
	vault.Require(t)
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	vault.PutKV(t, mount, "big", map[string]any{"blob": strings.Repeat("x", 200_000)})
	c := newClient(t, vault.RootToken, gdsvault.WithHTTPClient(&http.Client{}))
	for i := range 30 {
		if s, err := c.GetSecret(ctx(t), mount+"/big"); err != nil || len(s.Data["blob"].(string)) != 200_000 {
			t.Fatalf("read %d: %v", i, err)
		}
	}
}

// The token never follows a redirect to another host over plain http.
func TestTokenDoesNotFollowRedirects(t *testing.T) {
	vault.Require(t)
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Vault-Token") != "" {
			leaked.Store(true)
		}
		w.Write([]byte(`{"data":{}}`))
	}))
	defer other.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	c := newClient(t, "hvs.must-not-travel", gdsvault.WithAddress(redirector.URL), gdsvault.WithMaxRetries(0))
	_, err := c.Read(context.Background(), "secret/data/x")
	if err == nil || !strings.Contains(err.Error(), "redirect") || leaked.Load() {
		t.Fatalf("err = %v, token leaked = %v", err, leaked.Load())
	}
}

// recorder is a RoundTripper that keeps each request's method, path and
// Vault headers (the token only as "present").
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, path, namespace, request string
	token                            bool
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.Path, req.Header.Get("X-Vault-Namespace"),
		req.Header.Get("X-Vault-Request"), req.Header.Get("X-Vault-Token") != ""})
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func TestHeadersOnEveryRequest(t *testing.T) {
	vault.Require(t)
	rec := &recorder{}
	c := newClient(t, vault.RootToken, gdsvault.WithTransport(rec), gdsvault.WithNamespace("team-a/"))
	// Open-source Vault has no namespaces; the header is still sent, and the
	// answer does not matter here.
	_, _ = c.GetSecret(ctx(t), "secret/data/myapp/config")
	_, _ = c.List(ctx(t), "secret/metadata")
	rec.mu.Lock()
	namespaced := len(rec.reqs)
	rec.mu.Unlock()
	_, _ = c.WithNamespace("").GetSecret(ctx(t), "secret/data/myapp/config")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if namespaced < 2 || len(rec.reqs) <= namespaced {
		t.Fatalf("recorded %d requests (%d namespaced)", len(rec.reqs), namespaced)
	}
	for i, r := range rec.reqs {
		if r.request != "true" || !r.token {
			t.Errorf("request %d %s %s: X-Vault-Request=%q token=%t", i, r.method, r.path, r.request, r.token)
		}
	}
	for _, r := range rec.reqs[:namespaced] {
		if r.namespace != "team-a" {
			t.Errorf("%s %s: namespace header %q, want team-a", r.method, r.path, r.namespace)
		}
	}
	for _, r := range rec.reqs[namespaced:] {
		if r.namespace != "" {
			t.Errorf("WithNamespace(\"\") copy still sends %q on %s", r.namespace, r.path)
		}
	}
}

// WithTokenSource, TokenSourceFunc and WithUserAgent reach the wire.
func TestTokenSourceAndUserAgent(t *testing.T) {
	vault.Require(t)
	var calls int
	var ua string
	seen := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		ua = r.Header.Get("User-Agent")
		return http.DefaultTransport.RoundTrip(r)
	})
	c := newClient(t, "", gdsvault.WithTransport(seen), gdsvault.WithUserAgent("myapp/1.0"),
		gdsvault.WithTokenSource(gdsvault.TokenSourceFunc(func(context.Context) (gdsvault.Token, error) {
			calls++
			return gdsvault.NewToken(vault.RootToken), nil
		})))
	if _, err := c.Read(ctx(t), "auth/token/lookup-self"); err != nil || calls != 1 || ua != "myapp/1.0" {
		t.Errorf("err %v, token source calls %d, User-Agent %q", err, calls, ua)
	}
}

// Package cloudtest holds the test helpers the cloud auth methods' tests
// share: a log for the requests a stand-in of a cloud service receives, a
// recording reverse proxy in front of the real Vault, and the checks of the
// login request Vault received and of errors that must hold no secret.
//
// The stand-ins themselves (GCE's metadata server, the IAM API, Azure IMDS,
// Azure AD) stay with each method's tests: they are what differs.
package cloudtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/internal/cloudauth"
)

// RandomHex is n random bytes in hex, for made-up tokens and IDs.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Request is one request a stand-in received.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// RequestLog keeps the requests a stand-in received; embed it in the
// stand-in and call Add first thing in its handler. The zero value is ready
// to use, and it is safe for concurrent use.
type RequestLog struct {
	mu   sync.Mutex
	reqs []Request
}

// Add reads r's body and keeps r; it returns what it kept.
func (l *RequestLog) Add(r *http.Request) Request {
	b, _ := io.ReadAll(r.Body)
	s := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: b}
	l.mu.Lock()
	l.reqs = append(l.reqs, s)
	l.mu.Unlock()
	return s
}

// All returns the requests received so far, oldest first.
func (l *RequestLog) All() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Request(nil), l.reqs...)
}

// Exchange is one request through the recording proxy and the real Vault's
// answer to it.
type Exchange struct {
	Method string
	Path   string
	Header http.Header
	// Body is the request's JSON body.
	Body   map[string]any
	Status int
	Answer []byte
}

// RecordingProxy is a reverse proxy in front of the real Vault that keeps
// every request and answer. Point the client under test at its URL.
type RecordingProxy struct {
	*httptest.Server
	mu        sync.Mutex
	exchanges []Exchange
}

type exchangeKey struct{}

// NewRecordingProxy starts a recording proxy to target (Vault's address);
// it is closed when the test ends.
func NewRecordingProxy(tb testing.TB, target string) *RecordingProxy {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatal(err)
	}
	p := &RecordingProxy{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u) },
		ModifyResponse: func(resp *http.Response) error {
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			resp.Body = io.NopCloser(bytes.NewReader(b))
			i := resp.Request.Context().Value(exchangeKey{}).(int)
			p.mu.Lock()
			p.exchanges[i].Status, p.exchanges[i].Answer = resp.StatusCode, b
			p.mu.Unlock()
			return nil
		},
	}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		p.mu.Lock()
		i := len(p.exchanges)
		p.exchanges = append(p.exchanges, Exchange{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
		p.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), exchangeKey{}, i)))
	}))
	tb.Cleanup(p.Close)
	return p
}

// All returns the exchanges so far, oldest first.
func (p *RecordingProxy) All() []Exchange {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Exchange(nil), p.exchanges...)
}

// Logins are the exchanges whose path ends in /login.
func (p *RecordingProxy) Logins() []Exchange {
	var out []Exchange
	for _, e := range p.All() {
		if strings.HasSuffix(e.Path, "/login") {
			out = append(out, e)
		}
	}
	return out
}

// AssertLogin checks one login request the real Vault received: a POST (or
// PUT) to /v1/auth/<mount>/login with exactly body as its JSON, no client
// token, namespace as X-Vault-Namespace, and a JSON content type.
func AssertLogin(tb testing.TB, e Exchange, mount string, body map[string]any, namespace string) {
	tb.Helper()
	if e.Method != http.MethodPost && e.Method != http.MethodPut {
		tb.Errorf("login method = %s", e.Method)
	}
	if want := "/v1/auth/" + mount + "/login"; e.Path != want {
		tb.Errorf("login path = %s, want %s", e.Path, want)
	}
	if !reflect.DeepEqual(e.Body, body) {
		tb.Errorf("login body = %v\nwant %v", redactJWT(e.Body), redactJWT(body))
	}
	if v := e.Header.Values("X-Vault-Token"); len(v) != 0 {
		tb.Errorf("the login carried a client token header")
	}
	if got := e.Header.Get("X-Vault-Namespace"); got != namespace {
		tb.Errorf("X-Vault-Namespace = %q, want %q", got, namespace)
	}
	if got := e.Header.Get("Content-Type"); got != "application/json" {
		tb.Errorf("Content-Type = %q", got)
	}
}

// redactJWT shortens the "jwt" of a login body, for a failure message.
func redactJWT(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if s, ok := v.(string); ok && k == "jwt" && len(s) > 12 {
			v = s[:12] + "..."
		}
		out[k] = v
	}
	return out
}

// ClosedAddr is a host:port of 127.0.0.1 that nothing listens on (it did
// a moment ago): a metadata server or a cloud API that is not there.
func ClosedAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// LoginHanging logs in with m, whose metadata server accepts the connection
// and never answers, under a context that ends after 200 ms, and returns
// Login's error; it fails the test when Login outlasts its context by
// seconds. The client's Vault is never reached.
func LoginHanging(tb testing.TB, m gdsvault.AuthMethod) error {
	tb.Helper()
	c, err := gdsvault.New(gdsvault.WithAddress("http://127.0.0.1:1"))
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = m.Login(ctx, c)
	if d := time.Since(start); d > 3*time.Second {
		tb.Errorf("took %s", d)
	}
	return err
}

// AssertMentions fails the test when err's text lacks one of wants.
func AssertMentions(tb testing.TB, err error, wants ...string) {
	tb.Helper()
	for _, w := range wants {
		if err == nil || !strings.Contains(err.Error(), w) {
			tb.Errorf("error %q lacks %q", err, w)
		}
	}
}

// AssertDefaultClients checks a cloud method's default clients (see
// cloudauth.Clients.SetDefaults): the metadata server's goes around any
// proxy, the API's through net/http's default proxy settings, and each call
// of either is bounded by timeout.
func AssertDefaultClients(tb testing.TB, c cloudauth.Clients, timeout time.Duration) {
	tb.Helper()
	if c.Metadata == nil || c.API == nil {
		tb.Fatalf("clients = %+v, want both set", c)
	}
	if c.Metadata.Timeout != timeout || c.API.Timeout != timeout {
		tb.Errorf("timeouts = %s, %s; want %s", c.Metadata.Timeout, c.API.Timeout, timeout)
	}
	if tr, ok := c.Metadata.Transport.(*http.Transport); !ok || tr.Proxy != nil {
		tb.Errorf("the metadata server's transport uses a proxy")
	}
	if tr, ok := c.API.Transport.(*http.Transport); !ok || tr.Proxy == nil {
		tb.Errorf("the API's transport ignores the default proxy settings")
	}
}

// AssertNoSecret fails the test when text (what it is: "error"...) holds
// any of the secrets, or the signature part of a JWT among them.
func AssertNoSecret(tb testing.TB, what, text string, secrets ...string) {
	tb.Helper()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(text, s) {
			tb.Errorf("%s holds a secret: %s", what, text)
		}
		if i := strings.LastIndexByte(s, '.'); i > 0 && len(s)-i > 20 && strings.Contains(text, s[i+1:]) {
			tb.Errorf("%s holds a JWT signature: %s", what, text)
		}
	}
}

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
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/retry"
	"github.com/gdsvault/gdsvault/secretcache"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		status int
		errs   []string
		want   []error
		not    []error
	}{
		{404, nil, []error{ErrNotFound}, []error{ErrPermissionDenied}},
		{403, []string{"permission denied"}, []error{ErrPermissionDenied}, []error{ErrInvalidToken}},
		{403, []string{"2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"}, []error{ErrInvalidToken}, []error{ErrPermissionDenied}},
		{429, []string{"request path \"x\": rate limit quota exceeded"}, []error{ErrRateLimited}, nil},
		{503, []string{"Vault is sealed"}, []error{ErrSealed, ErrUnavailable}, nil},
		{503, []string{"standby"}, []error{ErrUnavailable}, []error{ErrSealed}},
		{502, nil, []error{ErrUnavailable}, nil},
		{504, nil, []error{ErrUnavailable}, nil},
		{500, []string{"internal error"}, []error{ErrInternal}, []error{ErrUnavailable}},
		{400, []string{"check-and-set parameter did not match the current version"}, []error{ErrCASMismatch, ErrBadRequest}, nil},
		{400, []string{"missing client token"}, []error{ErrBadRequest}, []error{ErrCASMismatch}},
	} {
		tc.errs = flattenErrors(tc.errs)
		e := &ResponseError{StatusCode: tc.status, Errors: tc.errs, Method: "GET", Path: "p"}
		e.classify()
		for _, w := range tc.want {
			if !errors.Is(e, w) {
				t.Errorf("%d %q: not %v", tc.status, tc.errs, w)
			}
		}
		for _, n := range tc.not {
			if errors.Is(e, n) {
				t.Errorf("%d %q: unexpectedly %v", tc.status, tc.errs, n)
			}
		}
		if e.Kind() != tc.want[0] {
			t.Errorf("%d: Kind() = %v, want %v", tc.status, e.Kind(), tc.want[0])
		}
	}
}

func TestResponseErrorMessage(t *testing.T) {
	e := &ResponseError{StatusCode: 403, Method: "GET", Path: "secret/data/x", Namespace: "ns1", Errors: []string{"permission denied"},
		Hint: "the token's policies do not grant read on secret/data/x", sentToken: &[]Token{NewToken("hvs.SECRET")}[0]}
	e.classify()
	got := e.Error()
	want := "vault: GET secret/data/x (namespace ns1): 403 permission denied: permission denied (hint: the token's policies do not grant read on secret/data/x)"
	if got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	for _, s := range []string{fmt.Sprintf("%v", e), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e), fmt.Sprintf("%#v", *e)} {
		if strings.Contains(s, "hvs.SECRET") {
			t.Errorf("printed error shows the token: %s", s)
		}
	}
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

func TestEscapePath(t *testing.T) {
	for in, want := range map[string]string{
		"secret/data/myapp/config": "secret/data/myapp/config",
		"secret/data/my app":       "secret/data/my%20app",
		"secret/data/a%b":          "secret/data/a%25b",
		"auth/token/lookup-self":   "auth/token/lookup-self",
	} {
		if got := escapePath(in); got != want {
			t.Errorf("escapePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizePath(t *testing.T) {
	for in, want := range map[string]string{
		"secret/data/myapp/config":   "secret/data/myapp/config",
		"/secret/myapp/config/":      "secret/myapp/config",
		" v1/secret/x ":              "secret/x",
		"/v1/secret/x":               "secret/x",
		"secret/ünïcode/ok":          "secret/ünïcode/ok",
		"secret/with space/is fine ": "secret/with space/is fine",
	} {
		got, err := NormalizePath(in)
		if err != nil || got != want {
			t.Errorf("NormalizePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "/", "  ", "a//b", "a/./b", "a/../b", "..", "a/b?x=1", "a\x00b", "a\nb", "a#b", "\xff"} {
		if _, err := NormalizePath(in); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("NormalizePath(%q) err = %v, want ErrInvalidPath", in, err)
		}
	}
}

func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"secret/data/myapp/config", "/a/b/", "a//b", "../x", "v1/x", "\x00", "a b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := NormalizePath(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("error %v is not ErrInvalidPath", err)
			}
			return
		}
		if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//") {
			t.Fatalf("NormalizePath(%q) = %q: bad shape", in, p)
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("NormalizePath(%q) = %q keeps a relative segment", in, p)
			}
		}
		if again, err := NormalizePath(p); err != nil && !strings.HasPrefix(p, "v1/") || err == nil && again != p && !strings.HasPrefix(p, "v1/") {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, p, again, err)
		}
		if plainPath(in) && p != in {
			t.Fatalf("plainPath(%q) but NormalizePath changed it to %q", in, p)
		}
		if esc := escapePath(p); strings.ContainsAny(esc, " ?#") {
			t.Fatalf("escapePath(%q) = %q keeps a character a URL path cannot hold", p, esc)
		}
	})
}

func TestTokenNeverPrints(t *testing.T) {
	const v = "hvs.CAESIsupersecret"
	tok := NewToken(v)
	a := &Auth{ClientToken: tok, Accessor: "acc", Policies: []string{"default"}}
	w := &WrapInfo{Token: tok}
	j, _ := json.Marshal(a)
	var logged bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&logged, nil))
	l.Info("x", "token", tok, "auth", a, "wrap", w)
	l.Info("y", slog.Any("token", tok))
	outs := []string{
		tok.String(), tok.GoString(), fmt.Sprint(tok), fmt.Sprintf("%v %+v %#v %s %q %x %d", tok, tok, tok, tok, tok, tok, tok),
		fmt.Sprintf("%v %+v %#v", a, a, *a), fmt.Sprintf("%+v %#v", w, *w), string(j), logged.String(),
	}
	for _, o := range outs {
		if strings.Contains(o, v) || strings.Contains(o, "supersecret") {
			t.Errorf("token leaked: %s", o)
		}
	}
	if tok.Reveal() != v {
		t.Error("Reveal lost the value")
	}
	var back Token
	if err := json.Unmarshal([]byte(`"`+v+`"`), &back); err != nil || back.Reveal() != v {
		t.Errorf("UnmarshalJSON: %v", err)
	}
	if NewToken("").String() != "" || !NewToken("").IsZero() {
		t.Error("empty token")
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	s := &KVSecret{Mount: "secret", Path: "myapp/config", KVVersion: 2, Data: map[string]any{"db_pass": "secret123"},
		VersionMetadata: &VersionMetadata{Version: 3}}
	g := &Secret{Data: map[string]any{"password": "secret123"}, Auth: &Auth{ClientToken: NewToken("secret123")}}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("read", "secret", s, "generic", g)
	for _, o := range []string{fmt.Sprint(s), fmt.Sprintf("%+v %#v %s", s, s, s), fmt.Sprint(g), fmt.Sprintf("%+v %#v", g, g), logged.String()} {
		if strings.Contains(o, "secret123") {
			t.Errorf("secret value printed: %s", o)
		}
		if !strings.Contains(o, "db_pass") && !strings.Contains(o, "password") {
			t.Errorf("printed form should still name the keys: %s", o)
		}
	}
}

// TestSecretsNeverPrintByValueOrInContainers: values, pointers, slices,
// maps and structs holding secrets, through fmt, slog text and JSON, and
// json.Marshal.
func TestSecretsNeverPrintByValueOrInContainers(t *testing.T) {
	const v = "s3cr3t-value"
	kv := &KVSecret{Mount: "secret", Path: "app", KVVersion: 2, Data: map[string]any{"db_pass": v, "nested": map[string]any{"k": v}}}
	g := &Secret{LeaseID: "database/creds/app/xyz", Data: map[string]any{"password": v}}
	type holder struct {
		Name   string
		Secret Secret
		KV     *KVSecret
		List   []*Secret
		ByKey  map[string]KVSecret
	}
	h := holder{Name: "h", Secret: *g, KV: kv, List: []*Secret{g, g}, ByKey: map[string]KVSecret{"a": *kv}}
	var text, js bytes.Buffer
	tl := slog.New(slog.NewTextHandler(&text, nil))
	jl := slog.New(slog.NewJSONHandler(&js, nil))
	for _, l := range []*slog.Logger{tl, jl} {
		l.Info("x", "byvalue", *g, "kvbyvalue", *kv, "list", []*Secret{g}, "kvlist", []KVSecret{*kv}, "holder", h, "data", g.Data)
	}
	j1, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	j2, _ := json.Marshal([]Secret{*g})
	outs := map[string]string{
		"%v value":    fmt.Sprintf("%v", *g),
		"%+v value":   fmt.Sprintf("%+v", *kv),
		"%#v value":   fmt.Sprintf("%#v", *kv),
		"%v slice":    fmt.Sprintf("%v", []Secret{*g}),
		"%+v holder":  fmt.Sprintf("%+v", h),
		"%#v holder":  fmt.Sprintf("%#v", h),
		"%v data":     fmt.Sprint(g.Data),
		"slog text":   text.String(),
		"slog json":   js.String(),
		"json holder": string(j1),
		"json slice":  string(j2),
	}
	for name, o := range outs {
		if strings.Contains(o, v) {
			t.Errorf("%s shows the value: %s", name, o)
		}
		if !strings.Contains(o, "password") && !strings.Contains(o, "db_pass") {
			t.Errorf("%s should still name the keys: %s", name, o)
		}
	}
	// The values stay reachable on purpose.
	b, _ := json.Marshal(map[string]any(g.Data))
	if !strings.Contains(string(b), v) || g.Data["password"] != v {
		t.Errorf("explicit encoding lost the value: %s", b)
	}
}

func TestNewValidation(t *testing.T) {
	for name, tc := range map[string]struct {
		opts  []Option
		field string
	}{
		"empty address":      {[]Option{WithAddress("")}, "address"},
		"no scheme":          {[]Option{WithAddress("vault.example.com:8200")}, "address"},
		"ftp":                {[]Option{WithAddress("ftp://x")}, "address"},
		"credentials in url": {[]Option{WithAddress("https://u:p@x")}, "address"},
		"zero timeout":       {[]Option{WithTimeout(0)}, "timeout"},
		"negative timeout":   {[]Option{WithTimeout(-time.Second)}, "timeout"},
		"empty token":        {[]Option{WithToken(" ")}, "token"},
		"nil logger":         {[]Option{WithLogger(nil)}, "logger"},
		"tls and transport":  {[]Option{WithTLS(TLSConfig{}), WithTransport(http.DefaultTransport)}, "tls"},
		"token and auth": {[]Option{WithToken("t"), WithAuth(AuthMethodFunc(func(_ context.Context, c *Client) (*Auth, error) {
			return nil, nil
		}))}, "auth"},
		"cache ttl":             {[]Option{WithCache(secretcache.WithTTL(-time.Second))}, "cache ttl"},
		"cache size":            {[]Option{WithCache(secretcache.WithMaxEntries(0))}, "cache max entries"},
		"retry attempts":        {[]Option{WithRetry(retry.Policy{MaxAttempts: -1})}, "retry max attempts"},
		"retry delays":          {[]Option{WithRetry(retry.Policy{BaseDelay: time.Second, MaxDelay: time.Millisecond})}, "retry max delay"},
		"max retries":           {[]Option{WithMaxRetries(-1)}, "max retries"},
		"breaker":               {[]Option{WithCircuitBreaker(retry.BreakerConfig{Failures: -1})}, "circuit breaker failures"},
		"max response size":     {[]Option{WithMaxResponseSize(0)}, "max response size"},
		"require tls":           {[]Option{WithAddress("http://10.1.2.3:8200"), WithToken("t"), RequireTLS()}, "address"},
		"nil auth":              {[]Option{WithAuth(nil)}, "auth"},
		"nil token source":      {[]Option{WithTokenSource(nil)}, "token source"},
		"nil http client":       {[]Option{WithHTTPClient(nil)}, "http client"},
		"nil transport":         {[]Option{WithTransport(nil)}, "transport"},
		"http client and trans": {[]Option{WithHTTPClient(&http.Client{}), WithTransport(http.DefaultTransport)}, "transport"},
	} {
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s: New panicked: %v", name, p)
				}
			}()
			_, err = New(tc.opts...)
		}()
		var ce *ConfigError
		if !errors.Is(err, ErrConfig) || !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("%s: err = %v, want ConfigError on %s", name, err, tc.field)
		}
	}
	// Several problems are reported together.
	_, err := New(WithAddress("nope"), WithTimeout(0))
	if err == nil || !strings.Contains(err.Error(), "address") || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("joined error = %v", err)
	}
	c, err := New(WithAddress("https://vault.example.com:8200/"))
	if err != nil || c.Address() != "https://vault.example.com:8200" {
		t.Errorf("address = %q, %v", c.Address(), err)
	}
}

// TestPlainHTTPWarning: a token over plain http to another host is logged
// once per client (never for loopback), and RequireTLS refuses it.
func TestPlainHTTPWarning(t *testing.T) {
	for _, tc := range []struct {
		addr string
		warn bool
	}{
		{"http://10.1.2.3:8200", true}, {"http://vault.example.com", true},
		{"http://127.0.0.1:8200", false}, {"http://[::1]:8200", false}, {"http://localhost:8200", false},
		{"https://vault.example.com", false},
	} {
		var logs bytes.Buffer
		c, err := New(WithAddress(tc.addr), WithToken("hvs.x"), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err != nil {
			t.Fatal(err)
		}
		_ = c.WithNamespace("a") // copies do not warn again
		if got := strings.Count(logs.String(), "unencrypted"); got != map[bool]int{true: 1, false: 0}[tc.warn] {
			t.Errorf("%s: %d warnings: %s", tc.addr, got, logs.String())
		}
		logs.Reset()
		if _, err := New(WithAddress(tc.addr), WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))); err != nil || logs.Len() != 0 {
			t.Errorf("%s without a token: %v, logs %q", tc.addr, err, logs.String())
		}
	}
}

func TestFlattenErrors(t *testing.T) {
	got := flattenErrors([]string{"2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n", " plain "})
	if strings.Join(got, "|") != "permission denied|invalid token|plain" {
		t.Errorf("flattenErrors = %q", got)
	}
}

func TestCleanMountPath(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"gcp", "gcp"},
		{"/team-a/gcp/", "team-a/gcp"},
		{"  azure  ", "azure"},
		{"auth/approle", "approle"},
		{"/auth/ci/gitlab/", "ci/gitlab"},
		{"a.b/c_d", "a.b/c_d"},
		{"...", "..."},
	} {
		got, err := CleanMountPath("gcp", tt.in)
		if err != nil || got != tt.want {
			t.Errorf("CleanMountPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", " / ", "//", "auth/", "a//b", "a/../b", "../sys", "./a", "a b", "a\tb", "gcp?x=1", "a#b", "a%2fb", `a\b`} {
		got, err := CleanMountPath("azure", in)
		var ce *ConfigError
		if got != "" || !errors.As(err, &ce) || ce.Field != "azure mount path" || ce.Hint == "" {
			t.Errorf("CleanMountPath(%q) = %q, %v", in, got, err)
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

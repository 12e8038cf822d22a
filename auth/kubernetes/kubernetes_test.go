package kubernetes_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/internal/authtest"
	"github.com/gdsvault/gdsvault/auth/internal/optiontest"
	"github.com/gdsvault/gdsvault/auth/kubernetes"
	"github.com/gdsvault/gdsvault/vaulttest"
)

var vault *vaulttest.Server

func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m, vaulttest.Options{}, &vault)) }

// ---- JWTs -----------------------------------------------------------------

// serviceAccount is a Kubernetes service account.
type serviceAccount struct{ Namespace, Name, UID string }

func (sa serviceAccount) username() string {
	return "system:serviceaccount:" + sa.Namespace + ":" + sa.Name
}

// cluster is a stand-in for the one Kubernetes API endpoint Vault's
// kubernetes auth calls: TokenReview, over TLS. It issues service account
// tokens, accepts those it issued until they are revoked, and records every
// token it was asked to review.
type cluster struct {
	URL    string
	CAPEM  string
	key    *ecdsa.PrivateKey
	server *httptest.Server

	reviewer string // the token Vault must present as its bearer

	mu       sync.Mutex
	valid    map[string]tokenInfo
	reviewed []string
}

type tokenInfo struct {
	sa        serviceAccount
	audiences []string
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := vaulttest.NewCA(t, "kubernetes-ca")
	certPEM, keyPEM := ca.Issue(t, "kube-apiserver", true)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	k := &cluster{CAPEM: string(ca.CertPEM), key: key, valid: map[string]tokenInfo{}}
	k.server = httptest.NewUnstartedServer(http.HandlerFunc(k.serveHTTP))
	k.server.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	k.server.StartTLS()
	t.Cleanup(k.server.Close)
	k.URL = k.server.URL
	k.reviewer = k.Issue(t, serviceAccount{"kube-system", "vault-auth", "uid-vault-auth"}, false)
	return k
}

// Issue signs a token for sa and makes the stand-in accept it. A projected
// token carries its identity in the nested "kubernetes.io" claim, as the
// kubelet's rotated tokens do; otherwise it has the flat claims of a legacy
// secret-based token.
func (k *cluster) Issue(t *testing.T, sa serviceAccount, projected bool) string {
	t.Helper()
	tok := k.Sign(t, sa, projected, nil)
	k.mu.Lock()
	k.valid[tok] = tokenInfo{sa: sa, audiences: []string{"vault"}}
	k.mu.Unlock()
	return tok
}

// Sign signs a token for sa without making the stand-in accept it; extra
// overrides claims.
func (k *cluster) Sign(t *testing.T, sa serviceAccount, projected bool, extra map[string]any) string {
	t.Helper()
	now := time.Now()
	claims := map[string]any{
		"sub": sa.username(),
		"iat": now.Unix(),
	}
	if projected {
		claims["iss"] = "https://kubernetes.default.svc.cluster.local"
		claims["aud"] = []string{"vault"}
		claims["nbf"] = now.Unix()
		claims["exp"] = now.Add(time.Hour).Unix()
		claims["kubernetes.io"] = map[string]any{
			"namespace":      sa.Namespace,
			"pod":            map[string]any{"name": sa.Name + "-7d9f8-abcde", "uid": "pod-" + sa.UID},
			"serviceaccount": map[string]any{"name": sa.Name, "uid": sa.UID},
		}
	} else {
		claims["iss"] = "kubernetes/serviceaccount"
		claims["aud"] = []string{"vault"}
		claims["kubernetes.io/serviceaccount/namespace"] = sa.Namespace
		claims["kubernetes.io/serviceaccount/secret.name"] = sa.Name + "-token-x7k2p"
		claims["kubernetes.io/serviceaccount/service-account.name"] = sa.Name
		claims["kubernetes.io/serviceaccount/service-account.uid"] = sa.UID
	}
	for name, v := range extra {
		claims[name] = v
	}
	return authtest.SignES256(t, k.key, claims)
}

// Revoke makes the stand-in refuse tok from now on.
func (k *cluster) Revoke(tok string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.valid, tok)
}

// Reviewed returns the tokens Vault asked the stand-in to review, in order.
func (k *cluster) Reviewed() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.reviewed)
}

func (k *cluster) serveHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost || r.URL.Path != "/apis/authentication.k8s.io/v1/tokenreviews" {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+k.reviewer {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`)
		return
	}
	var review struct {
		Spec struct {
			Token     string   `json:"token"`
			Audiences []string `json:"audiences"`
		} `json:"spec"`
	}
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"BadRequest","code":400}`)
		return
	}
	k.mu.Lock()
	k.reviewed = append(k.reviewed, review.Spec.Token)
	info, ok := k.valid[review.Spec.Token]
	k.mu.Unlock()

	status := map[string]any{"authenticated": false, "error": "invalid bearer token"}
	if ok {
		// As the API server does: the answer's audiences are the requested
		// ones the token is valid for (all of its own when none requested).
		auds := info.audiences
		if len(review.Spec.Audiences) > 0 {
			auds = nil
			for _, a := range review.Spec.Audiences {
				if slices.Contains(info.audiences, a) {
					auds = append(auds, a)
				}
			}
		}
		if len(auds) > 0 {
			status = map[string]any{
				"authenticated": true,
				"user": map[string]any{
					"username": info.sa.username(),
					"uid":      info.sa.UID,
					"groups":   []string{"system:serviceaccounts", "system:serviceaccounts:" + info.sa.Namespace, "system:authenticated"},
				},
				"audiences": auds,
			}
		} else {
			status = map[string]any{"authenticated": false, "error": "token audiences do not match"}
		}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"apiVersion": "authentication.k8s.io/v1",
		"kind":       "TokenReview",
		"status":     status,
	})
}

// ---- Vault setup ----------------------------------------------------------

// fixture is a kubernetes auth mount of the shared Vault, configured against
// its own stand-in cluster, with one role that may read one KV secret.
type fixture struct {
	cluster *cluster
	mount   string
	role    string
	sa      serviceAccount
	secret  string // KV path (in the dev server's "secret" mount) the role may read
}

// setup enables kubernetes auth at mount and binds role to a service account
// "app" of namespace "payments".
func setup(t *testing.T, mount string) *fixture {
	t.Helper()
	k := newCluster(t)
	f := &fixture{
		cluster: k,
		mount:   mount,
		role:    "app",
		sa:      serviceAccount{"payments", "app", "uid-" + vault.UniqueName("sa")},
		secret:  vault.UniqueName("myapp") + "/config",
	}
	vault.EnableAuth(t, mount, "kubernetes")
	vault.Must(t, http.MethodPost, "auth/"+mount+"/config", map[string]any{
		"kubernetes_host":      k.URL,
		"kubernetes_ca_cert":   k.CAPEM,
		"token_reviewer_jwt":   k.reviewer,
		"disable_local_ca_jwt": true,
	})
	policy := vault.UniqueName("k8s-read")
	vault.WritePolicy(t, policy, `path "secret/data/`+f.secret+`" { capabilities = ["read"] }`)
	vault.Must(t, http.MethodPost, "auth/"+mount+"/role/"+f.role, map[string]any{
		"bound_service_account_names":      []string{f.sa.Name},
		"bound_service_account_namespaces": []string{f.sa.Namespace},
		"audience":                         "vault",
		"token_policies":                   []string{policy},
		"token_ttl":                        "10m",
	})
	vault.PutKV(t, "secret", f.secret, map[string]any{"db_host": "postgres.payments.svc"})
	return f
}

func newClient(t *testing.T, opts ...gdsvault.Option) *gdsvault.Client {
	return authtest.Client(t, vault.Addr, opts...)
}

func newMethod(t *testing.T, role string, opts ...kubernetes.Option) *kubernetes.Method {
	t.Helper()
	m, err := kubernetes.New(role, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// ---- tests ----------------------------------------------------------------

func TestNewValidation(t *testing.T) {
	tests := []struct {
		name      string
		role      string
		opts      []kubernetes.Option
		wantField []string // ConfigError fields, in order; none means success
		want      string   // String() on success
	}{
		{name: "defaults", role: "app", want: "kubernetes(role=app, mount=kubernetes)"},
		{name: "role trimmed", role: "  app\n", want: "kubernetes(role=app, mount=kubernetes)"},
		{name: "mount slashes trimmed", role: "app", opts: []kubernetes.Option{kubernetes.WithMountPath("/clusters/prod/")},
			want: "kubernetes(role=app, mount=clusters/prod)"},
		{name: "auth/ prefix dropped", role: "app", opts: []kubernetes.Option{kubernetes.WithMountPath("auth/clusters/prod")},
			want: "kubernetes(role=app, mount=clusters/prod)"},
		{name: "nil option ignored", role: "app", opts: []kubernetes.Option{nil}, want: "kubernetes(role=app, mount=kubernetes)"},
		{name: "token file", role: "app", opts: []kubernetes.Option{kubernetes.WithToken(gdsvault.CredentialFile("/tmp/t"))},
			want: "kubernetes(role=app, mount=kubernetes)"},
		{name: "empty role", role: "", wantField: []string{"kubernetes role"}},
		{name: "blank role", role: " \t", wantField: []string{"kubernetes role"}},
		{name: "empty mount", role: "app", opts: []kubernetes.Option{kubernetes.WithMountPath("//")},
			wantField: []string{"kubernetes mount path"}},
		{name: "empty credential", role: "app", opts: []kubernetes.Option{kubernetes.WithToken(gdsvault.Credential{})},
			wantField: []string{"kubernetes token"}},
		{name: "all problems at once", role: "", opts: []kubernetes.Option{kubernetes.WithMountPath(""), kubernetes.WithToken(gdsvault.CredentialValue("  "))},
			wantField: []string{"kubernetes role", "kubernetes mount path", "kubernetes token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := kubernetes.New(tt.role, tt.opts...)
			if len(tt.wantField) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if got := m.String(); got != tt.want {
					t.Fatalf("String() = %q, want %q", got, tt.want)
				}
				if got := "kubernetes(role=" + m.Role() + ", mount=" + m.MountPath() + ")"; got != tt.want {
					t.Fatalf("Role(), MountPath() = %q", got)
				}
				return
			}
			if m != nil {
				t.Fatalf("New = %v, %v; want nil and an error", m, err)
			}
			optiontest.CheckExplained(t, err, tt.wantField...)
		})
	}
}

// TestLoginAndReadSecret: a client built WithAuth logs in on its first
// request with a legacy (flat-claims) token and reads what the role's
// policy allows, and nothing else.
func TestLoginAndReadSecret(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	f := setup(t, vault.UniqueName("kubernetes"))
	jwt := f.cluster.Issue(t, f.sa, false)
	path := vaulttest.WriteFile(t, "token", []byte(jwt))
	m := newMethod(t, f.role, kubernetes.WithMountPath(f.mount), kubernetes.WithToken(gdsvault.CredentialFile(path)))
	c := newClient(t, gdsvault.WithAuth(m))

	s, err := c.GetSecret(vaulttest.Context(t), "secret/"+f.secret)
	if err != nil {
		t.Fatalf("GetSecret: %v", err)
	}
	if s.Data["db_host"] != "postgres.payments.svc" {
		t.Fatalf("data = %v", s.Data)
	}
	if got := f.cluster.Reviewed(); !slices.Equal(got, []string{jwt}) {
		t.Fatalf("reviewed %d tokens, want exactly the service account's one", len(got))
	}
	if _, err := c.GetSecret(vaulttest.Context(t), "secret/other"); !errors.Is(err, gdsvault.ErrPermissionDenied) {
		t.Fatalf("read outside the policy: %v, want ErrPermissionDenied", err)
	}

	// The auth block carries what Vault learned from the token.
	a, err := m.Login(vaulttest.Context(t), newClient(t))
	if err != nil {
		t.Fatal(err)
	}
	if a.Metadata["service_account_name"] != "app" || a.Metadata["service_account_namespace"] != "payments" ||
		a.Metadata["service_account_uid"] != f.sa.UID || a.Metadata["role"] != f.role {
		t.Fatalf("metadata = %v", a.Metadata)
	}
	if a.TTL() != 10*time.Minute || a.ClientToken.IsZero() {
		t.Fatalf("auth = %+v", a)
	}
}

// TestTokenFileRotated: the kubelet replaces a projected token and the API
// server stops accepting the old one; the next login reads the new file.
func TestTokenFileRotated(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	f := setup(t, vault.UniqueName("kubernetes"))
	first := f.cluster.Issue(t, f.sa, true)
	path := filepath.Join(t.TempDir(), "token")
	authtest.ReplaceFile(t, path, first)
	m := newMethod(t, f.role, kubernetes.WithMountPath(f.mount), kubernetes.WithToken(gdsvault.CredentialFile(path)))
	c := newClient(t)

	a1, err := m.Login(vaulttest.Context(t), c)
	if err != nil {
		t.Fatalf("first login: %v", err)
	}

	second := f.cluster.Issue(t, f.sa, true)
	authtest.ReplaceFile(t, path, second)
	f.cluster.Revoke(first)

	a2, err := m.Login(vaulttest.Context(t), c)
	if err != nil {
		t.Fatalf("login after rotation: %v", err)
	}
	if got := f.cluster.Reviewed(); !slices.Equal(got, []string{first, second}) {
		t.Fatalf("reviewed tokens: got %d, want the first then the rotated one (first=%v second=%v)",
			len(got), len(got) > 0 && got[0] == first, len(got) > 1 && got[1] == second)
	}
	if a1.ClientToken.Equal(a2.ClientToken) {
		t.Fatal("two logins returned the same Vault token")
	}

	// The old token is really refused now: the second login succeeded
	// because it read the file again.
	stale := newMethod(t, f.role, kubernetes.WithMountPath(f.mount), kubernetes.WithToken(gdsvault.CredentialValue(first)))
	if _, err := stale.Login(vaulttest.Context(t), c); !errors.Is(err, gdsvault.ErrAuthFailed) {
		t.Fatalf("login with the revoked token: %v, want ErrAuthFailed", err)
	}
}

// TestCustomMountPath: a nested mount given with stray slashes; the default
// mount, not enabled on this server, is refused with a hint naming it.
func TestCustomMountPath(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	mount := "clusters/" + vault.UniqueName("prod")
	f := setup(t, mount)
	cred := gdsvault.CredentialValue(f.cluster.Issue(t, f.sa, true))

	m := newMethod(t, f.role, kubernetes.WithMountPath("/"+mount+"/"), kubernetes.WithToken(cred))
	if got, want := m.String(), "kubernetes(role=app, mount="+mount+")"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	c := newClient(t, gdsvault.WithAuth(m))
	if _, err := c.GetSecret(vaulttest.Context(t), "secret/"+f.secret); err != nil {
		t.Fatalf("GetSecret through %s: %v", mount, err)
	}

	def := newMethod(t, f.role, kubernetes.WithToken(cred))
	_, err := def.Login(vaulttest.Context(t), newClient(t))
	if !errors.Is(err, gdsvault.ErrAuthFailed) || !strings.Contains(err.Error(), "auth/kubernetes") {
		t.Fatalf("login at the default mount: %v, want ErrAuthFailed naming auth/kubernetes", err)
	}
}

// TestLoginRefused: every kind of bad token or binding is refused as
// ErrAuthFailed, and no error or printed form holds the token.
func TestLoginRefused(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	f := setup(t, vault.UniqueName("kubernetes"))
	other := serviceAccount{"payments", "other", "uid-other"}
	otherNS := serviceAccount{"default", "app", "uid-default-app"}
	revoked := f.cluster.Issue(t, f.sa, true)
	f.cluster.Revoke(revoked)

	tests := []struct {
		name, role, jwt string
	}{
		{"unknown to the cluster", f.role, f.cluster.Sign(t, f.sa, true, nil)},
		{"revoked", f.role, revoked},
		{"not a JWT", f.role, "not-a-jwt-" + vault.UniqueName("x")},
		{"service account not bound", f.role, f.cluster.Issue(t, other, true)},
		{"namespace not bound", f.role, f.cluster.Issue(t, otherNS, false)},
		{"wrong audience", f.role, f.cluster.Sign(t, f.sa, true, map[string]any{"aud": []string{"someone-else"}})},
		{"expired", f.role, f.cluster.Sign(t, f.sa, true, map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})},
		{"unknown role", "no-such-role", f.cluster.Issue(t, f.sa, true)},
	}
	c := newClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMethod(t, tt.role, kubernetes.WithMountPath(f.mount), kubernetes.WithToken(gdsvault.CredentialValue(tt.jwt)))
			a, err := m.Login(vaulttest.Context(t), c)
			authtest.AssertRefused(t, m, a, err, tt.jwt)
		})
	}
}

// TestTokenFileMissing: an unreadable or empty token file is a
// configuration error that names the file, and nothing is sent to Vault.
func TestTokenFileMissing(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	var rec recorder
	c := newClient(t, gdsvault.WithTransport(&rec))
	dir := t.TempDir()
	empty := vaulttest.WriteFile(t, "empty", []byte(" \n"))
	tests := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope"), "no such file"},
		{"directory", dir, "is a directory"},
		{"empty", empty, "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMethod(t, "app", kubernetes.WithToken(gdsvault.CredentialFile(tt.path)))
			_, err := m.Login(vaulttest.Context(t), c)
			var ce *gdsvault.ConfigError
			if !errors.Is(err, gdsvault.ErrConfig) || !errors.As(err, &ce) {
				t.Fatalf("Login: %v, want a *ConfigError", err)
			}
			if ce.Field != "kubernetes service account token" || !strings.Contains(err.Error(), tt.path) ||
				!strings.Contains(err.Error(), tt.want) || ce.Hint == "" {
				t.Fatalf("error %q does not name the token file and the problem %q", err, tt.want)
			}
		})
	}
	if n := len(rec.Requests()); n != 0 {
		t.Fatalf("%d requests sent to Vault without a token", n)
	}

	// The default path: outside a pod, the hint says what to do instead.
	if _, err := os.Stat(kubernetes.DefaultTokenPath); err == nil {
		t.Logf("%s exists (running in a pod): default-path hint not checked", kubernetes.DefaultTokenPath)
		return
	}
	_, err := newMethod(t, "app").Login(vaulttest.Context(t), c)
	if !errors.Is(err, gdsvault.ErrConfig) || !strings.Contains(err.Error(), kubernetes.DefaultTokenPath) ||
		!strings.Contains(err.Error(), "kubernetes.WithToken") {
		t.Fatalf("default path: %v", err)
	}
}

// recorder is an http.RoundTripper that records requests (headers and
// body) before passing them on.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.Path, req.Header.Clone(), body})
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) Requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

// TestLoginRequest: the login is a POST to auth/<mount>/login with the role
// and the token, no Vault token, and the client's namespace header. Open
// source Vault has no namespaces, so only the request is checked.
func TestLoginRequest(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	f := setup(t, vault.UniqueName("kubernetes"))
	jwt := f.cluster.Issue(t, f.sa, true)
	var rec recorder
	m := newMethod(t, f.role, kubernetes.WithMountPath(f.mount), kubernetes.WithToken(gdsvault.CredentialValue(jwt)))
	_, err := m.Login(vaulttest.Context(t), newClient(t, gdsvault.WithTransport(&rec), gdsvault.WithNamespace("/team-a/")))
	t.Logf("login in namespace team-a on open-source Vault: %v", err)

	reqs := rec.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/v1/auth/"+f.mount+"/login" {
		t.Fatalf("request = %s %s", r.Method, r.Path)
	}
	if got := r.Header.Get("X-Vault-Namespace"); got != "team-a" {
		t.Fatalf("X-Vault-Namespace = %q, want team-a", got)
	}
	if r.Header.Get("X-Vault-Token") != "" {
		t.Fatal("the login carried a Vault token")
	}
	var body map[string]string
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	if len(body) != 2 || body["role"] != f.role || body["jwt"] != jwt {
		t.Fatalf("login body has keys %v, want exactly role and jwt with the right values", slices.Sorted(maps.Keys(body)))
	}
}

// TestSecretsNeverPrinted: with a debug logger, neither the service account
// token nor the Vault token reaches a log line, an error or a printed form,
// on success or refusal.
func TestSecretsNeverPrinted(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	f := setup(t, vault.UniqueName("kubernetes"))
	good := f.cluster.Issue(t, f.sa, true)
	bad := f.cluster.Sign(t, f.sa, true, nil)
	authtest.AssertSecretsNeverPrinted(t, vault.Addr, f.mount, "secret/"+f.secret, func(tok string) gdsvault.AuthMethod {
		return newMethod(t, f.role, kubernetes.WithMountPath(f.mount), kubernetes.WithToken(gdsvault.CredentialValue(tok)))
	}, good, bad)
}

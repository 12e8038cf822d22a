package jwt_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/internal/authtest"
	"github.com/gdsvault/gdsvault/auth/internal/optiontest"
	"github.com/gdsvault/gdsvault/auth/jwt"
	"github.com/gdsvault/gdsvault/vaulttest"
)

var vault *vaulttest.Server

func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m, vaulttest.Options{}, &vault)) }

// issuer signs ES256 JWTs with its own P-256 key.
type issuer struct{ key *ecdsa.PrivateKey }

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &issuer{key: key}
}

// PublicPEM is the PEM public key Vault is given in jwt_validation_pubkeys.
func (is *issuer) PublicPEM(t *testing.T) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&is.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// Sign returns a token for sub, for audience "gdsvault-test", valid for ten
// minutes from now; extra overrides claims.
func (is *issuer) Sign(t *testing.T, sub string, extra map[string]any) string {
	t.Helper()
	now := time.Now()
	claims := map[string]any{
		"iss": "https://issuer.example.com",
		"sub": sub,
		"aud": "gdsvault-test",
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(10 * time.Minute).Unix(),
	}
	maps.Copy(claims, extra)
	return authtest.SignES256(t, is.key, claims)
}

// fixture is a jwt auth mount of the shared Vault that trusts one issuer,
// with one role that may read one KV secret.
type fixture struct {
	issuer *issuer
	mount  string
	role   string
	secret string // KV path (in the dev server's "secret" mount) the role may read
}

func setup(t *testing.T, mount string) *fixture {
	t.Helper()
	f := &fixture{issuer: newIssuer(t), mount: mount, role: "deploy", secret: vault.UniqueName("ci") + "/config"}
	vault.EnableAuth(t, mount, "jwt")
	vault.Must(t, http.MethodPost, "auth/"+mount+"/config", map[string]any{
		"jwt_validation_pubkeys": []string{f.issuer.PublicPEM(t)},
		"bound_issuer":           "https://issuer.example.com",
	})
	policy := vault.UniqueName("jwt-read")
	vault.WritePolicy(t, policy, `path "secret/data/`+f.secret+`" { capabilities = ["read"] }`)
	vault.Must(t, http.MethodPost, "auth/"+mount+"/role/"+f.role, map[string]any{
		"role_type":       "jwt",
		"bound_audiences": []string{"gdsvault-test"},
		"user_claim":      "sub",
		"claim_mappings":  map[string]string{"sub": "subject"},
		"token_policies":  []string{policy},
		"token_ttl":       "10m",
	})
	vault.PutKV(t, "secret", f.secret, map[string]any{"deploy_key": "k-123"})
	return f
}

func newClient(t *testing.T, opts ...gdsvault.Option) *gdsvault.Client {
	return authtest.Client(t, vault.Addr, opts...)
}

func newMethod(t *testing.T, role string, opts ...jwt.Option) *jwt.Method {
	t.Helper()
	m, err := jwt.New(role, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNewValidation(t *testing.T) {
	tok := jwt.WithToken(gdsvault.CredentialFile("/run/tokens/vault"))
	tests := []struct {
		name      string
		role      string
		opts      []jwt.Option
		wantField []string // ConfigError fields, in order; none means success
		want      string   // String() on success
	}{
		{name: "token file", role: "deploy", opts: []jwt.Option{tok}, want: "jwt(role=deploy, mount=jwt)"},
		{name: "token value, role trimmed", role: " deploy\n", opts: []jwt.Option{jwt.WithToken(gdsvault.CredentialValue("a.b.c"))},
			want: "jwt(role=deploy, mount=jwt)"},
		{name: "mount slashes trimmed", role: "deploy", opts: []jwt.Option{tok, jwt.WithMountPath("/ci/gitlab/")},
			want: "jwt(role=deploy, mount=ci/gitlab)"},
		{name: "auth/ prefix dropped", role: "deploy", opts: []jwt.Option{tok, jwt.WithMountPath("auth/ci/gitlab")},
			want: "jwt(role=deploy, mount=ci/gitlab)"},
		{name: "nil option ignored", role: "deploy", opts: []jwt.Option{nil, tok}, want: "jwt(role=deploy, mount=jwt)"},
		{name: "token missing", role: "deploy", wantField: []string{"jwt token"}},
		{name: "empty role", role: "", opts: []jwt.Option{tok}, wantField: []string{"jwt role"}},
		{name: "empty mount", role: "deploy", opts: []jwt.Option{tok, jwt.WithMountPath(" / ")}, wantField: []string{"jwt mount path"}},
		{name: "empty credential reported once", role: "deploy", opts: []jwt.Option{jwt.WithToken(gdsvault.CredentialValue(""))},
			wantField: []string{"jwt token"}},
		{name: "all problems at once", role: " ", opts: []jwt.Option{jwt.WithMountPath("")},
			wantField: []string{"jwt role", "jwt mount path", "jwt token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := jwt.New(tt.role, tt.opts...)
			if len(tt.wantField) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if got := m.String(); got != tt.want {
					t.Fatalf("String() = %q, want %q", got, tt.want)
				}
				if got := "jwt(role=" + m.Role() + ", mount=" + m.MountPath() + ")"; got != tt.want {
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
// request and reads what the role's policy allows, and nothing else.
func TestLoginAndReadSecret(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	f := setup(t, vault.UniqueName("jwt"))
	path := vaulttest.WriteFile(t, "token", []byte(f.issuer.Sign(t, "repo:gdsvault/app:ref:main", nil)))
	m := newMethod(t, f.role, jwt.WithMountPath(f.mount), jwt.WithToken(gdsvault.CredentialFile(path)))
	c := newClient(t, gdsvault.WithAuth(m))

	s, err := c.GetSecret(vaulttest.Context(t), "secret/"+f.secret)
	if err != nil {
		t.Fatalf("GetSecret: %v", err)
	}
	if s.Data["deploy_key"] != "k-123" {
		t.Fatalf("data = %v", s.Data)
	}
	if _, err := c.GetSecret(vaulttest.Context(t), "secret/other"); !errors.Is(err, gdsvault.ErrPermissionDenied) {
		t.Fatalf("read outside the policy: %v, want ErrPermissionDenied", err)
	}

	a, err := m.Login(vaulttest.Context(t), newClient(t))
	if err != nil {
		t.Fatal(err)
	}
	if a.Metadata["role"] != f.role || a.Metadata["subject"] != "repo:gdsvault/app:ref:main" || a.TTL() != 10*time.Minute {
		t.Fatalf("auth = %+v", a)
	}
}

// TestTokenFileReadAtEveryLogin: each login reads the file as it is now: an
// expired token written there fails the next login, a fresh one (for
// another subject) succeeds as that subject.
func TestTokenFileReadAtEveryLogin(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	f := setup(t, vault.UniqueName("jwt"))
	path := filepath.Join(t.TempDir(), "token")
	authtest.ReplaceFile(t, path, f.issuer.Sign(t, "first", nil))
	m := newMethod(t, f.role, jwt.WithMountPath(f.mount), jwt.WithToken(gdsvault.CredentialFile(path)))
	c := newClient(t)

	login := func(wantSubject string) {
		t.Helper()
		a, err := m.Login(vaulttest.Context(t), c)
		if err != nil {
			t.Fatalf("login as %s: %v", wantSubject, err)
		}
		if got := a.Metadata["subject"]; got != wantSubject {
			t.Fatalf("logged in as %q, want %q: the file was not read again", got, wantSubject)
		}
	}
	login("first")

	authtest.ReplaceFile(t, path, f.issuer.Sign(t, "stale", map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}))
	if _, err := m.Login(vaulttest.Context(t), c); !errors.Is(err, gdsvault.ErrAuthFailed) {
		t.Fatalf("login with the expired token now in the file: %v, want ErrAuthFailed", err)
	}

	authtest.ReplaceFile(t, path, f.issuer.Sign(t, "second", nil))
	login("second")
}

// TestCustomMountPath: a nested mount given with stray slashes; the default
// mount, not enabled on this server, is refused with a hint naming it.
func TestCustomMountPath(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	mount := "ci/" + vault.UniqueName("gitlab")
	f := setup(t, mount)
	cred := gdsvault.CredentialValue(f.issuer.Sign(t, "pipeline-42", nil))

	m := newMethod(t, f.role, jwt.WithMountPath("/"+mount+"/"), jwt.WithToken(cred))
	if got, want := m.String(), "jwt(role=deploy, mount="+mount+")"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	if _, err := newClient(t, gdsvault.WithAuth(m)).GetSecret(vaulttest.Context(t), "secret/"+f.secret); err != nil {
		t.Fatalf("GetSecret through %s: %v", mount, err)
	}

	_, err := newMethod(t, f.role, jwt.WithToken(cred)).Login(vaulttest.Context(t), newClient(t))
	if !errors.Is(err, gdsvault.ErrAuthFailed) || !strings.Contains(err.Error(), "auth/jwt") {
		t.Fatalf("login at the default mount: %v, want ErrAuthFailed naming auth/jwt", err)
	}
}

// TestLoginRefused: expired, wrong audience, foreign key and the like are
// refused as ErrAuthFailed, and no error or printed form holds the token.
func TestLoginRefused(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	f := setup(t, vault.UniqueName("jwt"))
	stranger := newIssuer(t)
	now := time.Now()
	good := f.issuer.Sign(t, "someone", nil)
	parts := strings.Split(good, ".")

	tests := []struct {
		name, role, jwt string
	}{
		{"expired", f.role, f.issuer.Sign(t, "someone", map[string]any{"iat": now.Add(-2 * time.Hour).Unix(),
			"nbf": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()})},
		{"not yet valid", f.role, f.issuer.Sign(t, "someone", map[string]any{"nbf": now.Add(time.Hour).Unix(),
			"exp": now.Add(2 * time.Hour).Unix()})},
		{"wrong audience", f.role, f.issuer.Sign(t, "someone", map[string]any{"aud": "another-service"})},
		{"wrong issuer", f.role, f.issuer.Sign(t, "someone", map[string]any{"iss": "https://evil.example.com"})},
		{"signed by another key", f.role, stranger.Sign(t, "someone", nil)},
		{"signature tampered", f.role, parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin","aud":"gdsvault-test"}`)) + "." + parts[2]},
		{"alg none", f.role, base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."},
		{"not a JWT", f.role, "not-a-jwt-" + vault.UniqueName("x")},
		{"unknown role", "no-such-role", good},
	}
	c := newClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMethod(t, tt.role, jwt.WithMountPath(f.mount), jwt.WithToken(gdsvault.CredentialValue(tt.jwt)))
			a, err := m.Login(vaulttest.Context(t), c)
			authtest.AssertRefused(t, m, a, err, tt.jwt)
		})
	}
}

// TestTokenFileMissing: an unreadable or empty token file is a
// configuration error that names the file; nothing is sent to Vault.
func TestTokenFileMissing(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	requests := 0
	var mu sync.Mutex
	c := newClient(t, gdsvault.WithTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		requests++
		mu.Unlock()
		return http.DefaultTransport.RoundTrip(r)
	})))
	dir := t.TempDir()
	for _, tt := range []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "nope"), "no such file"},
		{"empty", vaulttest.WriteFile(t, "empty", []byte("\n")), "is empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newMethod(t, "deploy", jwt.WithToken(gdsvault.CredentialFile(tt.path)))
			_, err := m.Login(vaulttest.Context(t), c)
			var ce *gdsvault.ConfigError
			if !errors.Is(err, gdsvault.ErrConfig) || !errors.As(err, &ce) || ce.Field != "jwt token" || ce.Hint == "" ||
				!strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Login: %v, want a jwt token ConfigError naming %s and %q", err, tt.path, tt.want)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if requests != 0 {
		t.Fatalf("%d requests sent to Vault", requests)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestSecretsNeverPrinted: with a debug logger, neither the JWT nor the
// Vault token reaches a log line, an error or a printed form, on success or
// refusal.
func TestSecretsNeverPrinted(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	f := setup(t, vault.UniqueName("jwt"))
	good := f.issuer.Sign(t, "printer", nil)
	bad := newIssuer(t).Sign(t, "printer", nil)
	authtest.AssertSecretsNeverPrinted(t, vault.Addr, f.mount, "secret/"+f.secret, func(tok string) gdsvault.AuthMethod {
		return newMethod(t, f.role, jwt.WithMountPath(f.mount), jwt.WithToken(gdsvault.CredentialValue(tok)))
	}, good, bad)
}

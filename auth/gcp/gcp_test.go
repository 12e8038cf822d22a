package gcp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/gcp"
	"github.com/gdsvault/gdsvault/auth/internal/authtest"
	"github.com/gdsvault/gdsvault/auth/internal/optiontest"
	"github.com/gdsvault/gdsvault/internal/cloudauth/cloudtest"
	"github.com/gdsvault/gdsvault/vaulttest"
)

var _ gdsvault.AuthMethod = (*gcp.Method)(nil)

const saEmail = "vault-client@stand-in-project.iam.gserviceaccount.com"

func TestNewValidation(t *testing.T) {
	tests := []struct {
		name  string
		role  string
		opts  []gcp.Option
		field string // "" means valid
	}{
		{"defaults", "web", nil, ""},
		{"all options", "web.v2", []gcp.Option{gcp.WithMountPath("/team-a/gcp/"), gcp.WithMetadataHost("169.254.169.254"),
			gcp.WithIAMServiceAccount(saEmail), gcp.WithIAMEndpoint("https://iam.example.com/"), gcp.WithHTTPClient(&http.Client{})}, ""},
		{"metadata host:port", "web", []gcp.Option{gcp.WithMetadataHost("localhost:8080")}, ""},
		{"metadata http URL", "web", []gcp.Option{gcp.WithMetadataHost("http://127.0.0.1:8080/")}, ""},
		{"nil option ignored", "web", []gcp.Option{nil}, ""},
		{"empty role", "", nil, "gcp role"},
		{"blank role", "  ", nil, "gcp role"},
		{"role with slash", "a/b", nil, "gcp role"},
		{"role with space", "my role", nil, "gcp role"},
		{"empty mount", "web", []gcp.Option{gcp.WithMountPath(" / ")}, "gcp mount path"},
		{"mount with dot-dot", "web", []gcp.Option{gcp.WithMountPath("a/../b")}, "gcp mount path"},
		{"mount with query", "web", []gcp.Option{gcp.WithMountPath("gcp?x=1")}, "gcp mount path"},
		{"empty metadata host", "web", []gcp.Option{gcp.WithMetadataHost("")}, "gcp metadata host"},
		{"https metadata host", "web", []gcp.Option{gcp.WithMetadataHost("https://metadata")}, "gcp metadata host"},
		{"metadata host with path", "web", []gcp.Option{gcp.WithMetadataHost("metadata/x")}, "gcp metadata host"},
		{"metadata host with user", "web", []gcp.Option{gcp.WithMetadataHost("u@metadata")}, "gcp metadata host"},
		{"empty service account", "web", []gcp.Option{gcp.WithIAMServiceAccount(" ")}, "gcp service account"},
		{"service account with slash", "web", []gcp.Option{gcp.WithIAMServiceAccount("a/b@c")}, "gcp service account"},
		{"IAM endpoint not a URL", "web", []gcp.Option{gcp.WithIAMEndpoint("iamcredentials.googleapis.com")}, "gcp IAM endpoint"},
		{"IAM endpoint with query", "web", []gcp.Option{gcp.WithIAMEndpoint("https://iam.example.com/?k=v")}, "gcp IAM endpoint"},
		{"nil HTTP client", "web", []gcp.Option{gcp.WithHTTPClient(nil)}, "gcp http client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := gcp.New(tt.role, tt.opts...)
			optiontest.Expect(t, m, err, tt.field)
		})
	}
	// Several problems come back together.
	_, err := gcp.New("", gcp.WithMountPath(""), gcp.WithHTTPClient(nil))
	if n := strings.Count(err.Error(), "gdsvault: "); n != 3 {
		t.Fatalf("want 3 joined errors, got %d: %v", n, err)
	}
	if _, err := gcp.New(""); !strings.Contains(err.Error(), "VAULT_GCP_ROLE") {
		t.Errorf("the empty-role error does not name VAULT_GCP_ROLE: %v", err)
	}
}

// TestGCELoginRejectedByVault: the GCE flow asks the stand-in metadata server
// for an identity token (Metadata-Flavor header, audience vault/<role>,
// format=full) and posts exactly {role, jwt} to auth/<mount>/login of the
// real Vault, with and without a namespace. Vault cannot reach Google to get
// the signing key and refuses with 400, which comes back as ErrAuthFailed
// without the token.
func TestGCELoginRejectedByVault(t *testing.T) {
	vault.Require(t)
	mount, role := gcpMount(t, nil, map[string]any{"type": "gce", "bound_projects": []string{"stand-in-project"}})
	md := newMetadataServer(t, testKey, "vm@stand-in-project.iam.gserviceaccount.com")
	proxy := cloudtest.NewRecordingProxy(t, vault.Addr)
	m, err := gcp.New(role, gcp.WithMountPath(mount), gcp.WithMetadataHost(md.URL))
	if err != nil {
		t.Fatal(err)
	}
	for i, ns := range []string{"", "team-a"} {
		t.Run("namespace="+ns, func(t *testing.T) {
			c := authtest.Client(t, proxy.URL, gdsvault.WithNamespace(ns))
			auth, err := m.Login(vaulttest.Context(t), c)
			// A server with namespaces (OpenBao, Vault Enterprise) has no
			// team-a: it answers 404 namespace not found; one without
			// ignores the header. Either way the header went along
			// (checked below).
			noNS := ns != "" && errors.Is(err, gdsvault.ErrNamespaceNotFound)
			if auth != nil || !errors.Is(err, gdsvault.ErrAuthFailed) && !noNS {
				t.Fatalf("Login = %v, %v; want ErrAuthFailed", auth, err)
			}
			var re *gdsvault.ResponseError
			if !errors.As(err, &re) || (re.StatusCode != http.StatusBadRequest && !noNS) || re.Namespace != ns {
				t.Fatalf("err = %#v, want a 400 *ResponseError", err)
			}
			if !noNS && !strings.Contains(err.Error(), "public key") {
				t.Errorf("Vault's reason is not the signing key: %v", err)
			}
			t.Logf("real Vault answered: %v", err)

			reqs := md.All()
			if len(reqs) != i+1 {
				t.Fatalf("metadata server saw %d requests, want %d", len(reqs), i+1)
			}
			r := reqs[i]
			if r.Path != "/computeMetadata/v1/instance/service-accounts/default/identity" || r.Method != http.MethodGet ||
				r.Header.Get("Metadata-Flavor") != "Google" || r.Query.Get("audience") != "vault/"+role || r.Query.Get("format") != "full" {
				t.Errorf("metadata request = %s %s %v %v", r.Method, r.Path, r.Query, r.Header)
			}
			jwt := md.lastIdentityJWT()
			if aud := jwtClaims(t, jwt)["aud"]; aud != "vault/"+role {
				t.Errorf("identity token aud = %v", aud)
			}
			logins := proxy.Logins()
			if len(logins) != i+1 {
				t.Fatalf("Vault saw %d logins, want %d", len(logins), i+1)
			}
			cloudtest.AssertLogin(t, logins[i], mount, map[string]any{"role": role, "jwt": jwt}, ns)
			if logins[i].Status != http.StatusBadRequest && !(noNS && logins[i].Status == http.StatusNotFound) {
				t.Errorf("Vault's status = %d", logins[i].Status)
			}
			cloudtest.AssertNoSecret(t, "error", err.Error(), jwt)
			cloudtest.AssertNoSecret(t, "error %+v", fmt.Sprintf("%+v %#v", err, err), jwt)
		})
	}
}

// TestIAMLoginRejectedByVault: the IAM flow gets the access token from the
// metadata stand-in, has the signJwt stand-in sign {sub, aud, exp} (it checks
// the bearer token and every claim), and posts the signed JWT to the real
// Vault, which cannot reach Google for the service account's key: 400,
// ErrAuthFailed, neither the access token nor the JWT in the error.
func TestIAMLoginRejectedByVault(t *testing.T) {
	vault.Require(t)
	mount, role := gcpMount(t, nil, map[string]any{"type": "iam", "bound_service_accounts": []string{saEmail}})
	md := newMetadataServer(t, testKey, "vm@stand-in-project.iam.gserviceaccount.com")
	iam := newIAMServer(t, testKey, md.accessToken, saEmail, role)
	proxy := cloudtest.NewRecordingProxy(t, vault.Addr)
	m, err := gcp.New(role, gcp.WithMountPath(mount), gcp.WithMetadataHost(md.URL),
		gcp.WithIAMServiceAccount(saEmail), gcp.WithIAMEndpoint(iam.URL))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	auth, err := m.Login(vaulttest.Context(t), authtest.Client(t, proxy.URL))
	if auth != nil || !errors.Is(err, gdsvault.ErrAuthFailed) || !strings.Contains(err.Error(), "public key") {
		t.Fatalf("Login = %v, %v; want ErrAuthFailed about the public key", auth, err)
	}
	t.Logf("real Vault answered: %v", err)

	signed, problems := iam.state()
	if len(problems) > 0 || len(signed) != 1 {
		t.Fatalf("signJwt stand-in: signed %d, problems %v", len(signed), problems)
	}
	claims := jwtClaims(t, signed[0])
	exp, _ := claims["exp"].(float64)
	if claims["sub"] != saEmail || claims["aud"] != "vault/"+role ||
		time.Unix(int64(exp), 0).Before(start.Add(14*time.Minute)) || time.Unix(int64(exp), 0).After(time.Now().Add(15*time.Minute)) {
		t.Errorf("signed claims = %v", claims)
	}
	mreqs := md.All()
	if len(mreqs) != 1 || mreqs[0].Path != "/computeMetadata/v1/instance/service-accounts/default/token" || mreqs[0].Header.Get("Metadata-Flavor") != "Google" {
		t.Errorf("metadata requests = %+v", mreqs)
	}
	logins := proxy.Logins()
	if len(logins) != 1 {
		t.Fatalf("Vault saw %d logins", len(logins))
	}
	cloudtest.AssertLogin(t, logins[0], mount, map[string]any{"role": role, "jwt": signed[0]}, "")
	cloudtest.AssertNoSecret(t, "error", fmt.Sprintf("%v %+v %#v", err, err, err), signed[0], md.accessToken)
}

// TestIAMLoginAcceptedByVault points the real Vault's gcp mount at stand-ins
// of Google's APIs (custom_endpoint), so that it verifies the JWT the IAM
// flow produced with the service account's published key, looks the account
// up in the "IAM API" and issues a token: the claims this package builds are
// the ones Vault requires. A client WithAuth then reads a secret with that
// token. A role bound to another service account is refused.
func TestIAMLoginAcceptedByVault(t *testing.T) {
	vault.Require(t)
	google.addAccount(saEmail, testKey)
	kv := vault.UniqueName("kv")
	vault.EnableSecrets(t, kv, "kv", map[string]any{"version": "2"})
	vault.PutKV(t, kv, "app", map[string]any{"db_pass": "from-vault"})
	policy := vault.UniqueName("pol")
	vault.WritePolicy(t, policy, `path "`+kv+`/data/app" { capabilities = ["read"] }`)
	config := map[string]any{"custom_endpoint": map[string]string{"api": google.URL, "iam": google.URL + "/"}}
	mount, role := gcpMount(t, config, map[string]any{"type": "iam", "bound_service_accounts": []string{saEmail}, "token_policies": []string{policy}})

	md := newMetadataServer(t, testKey, "vm@stand-in-project.iam.gserviceaccount.com")
	iam := newIAMServer(t, testKey, md.accessToken, saEmail, role)
	proxy := cloudtest.NewRecordingProxy(t, vault.Addr)
	m, err := gcp.New(role, gcp.WithMountPath(mount), gcp.WithMetadataHost(md.host()),
		gcp.WithIAMServiceAccount(saEmail), gcp.WithIAMEndpoint(iam.URL))
	if err != nil {
		t.Fatal(err)
	}
	auth, err := m.Login(vaulttest.Context(t), authtest.Client(t, proxy.URL))
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if auth.ClientToken.IsZero() || !slices.Contains(auth.TokenPolicies, policy) || auth.Metadata["service_account_email"] != saEmail {
		t.Fatalf("auth = %+v", auth)
	}
	t.Logf("real Vault answered: 200, policies %v, metadata %v, ttl %s", auth.Policies, auth.Metadata, auth.TTL())

	c := authtest.Client(t, proxy.URL, gdsvault.WithAuth(m))
	s, err := c.GetSecret(vaulttest.Context(t), kv+"/app")
	if err != nil || s.Data["db_pass"] != "from-vault" {
		t.Fatalf("GetSecret with the gcp login = %v, %v", s, err)
	}
	signed, problems := iam.state()
	if len(signed) != 2 || len(problems) > 0 {
		t.Fatalf("signJwt: %d signed, problems %v", len(signed), problems)
	}
	logins := proxy.Logins()
	if len(logins) != 2 {
		t.Fatalf("Vault saw %d logins", len(logins))
	}
	for i, e := range logins {
		cloudtest.AssertLogin(t, e, mount, map[string]any{"role": role, "jwt": signed[i]}, "")
		if e.Status != http.StatusOK {
			t.Errorf("login %d: Vault answered %d", i, e.Status)
		}
	}
	var lookedUp bool
	for _, r := range google.All() {
		if r.Path == "/v1/projects/-/serviceAccounts/"+saEmail && r.Header.Get("Authorization") == "Bearer "+google.vaultToken {
			lookedUp = true
		}
	}
	if !lookedUp {
		t.Error("Vault did not look the service account up in the stand-in IAM API")
	}

	t.Run("unbound service account", func(t *testing.T) {
		other := "other@stand-in-project.iam.gserviceaccount.com"
		google.addAccount(other, testKey)
		iam2 := newIAMServer(t, testKey, md.accessToken, other, role)
		m2, err := gcp.New(role, gcp.WithMountPath(mount), gcp.WithMetadataHost(md.host()),
			gcp.WithIAMServiceAccount(other), gcp.WithIAMEndpoint(iam2.URL))
		if err != nil {
			t.Fatal(err)
		}
		_, err = m2.Login(vaulttest.Context(t), authtest.Client(t, proxy.URL))
		if !errors.Is(err, gdsvault.ErrAuthFailed) || !strings.Contains(err.Error(), "not authorized") {
			t.Fatalf("Login as an unbound account = %v, want ErrAuthFailed (not authorized)", err)
		}
		t.Logf("real Vault answered: %v", err)
	})
}

// TestMetadataErrors: every way the metadata server can fail is a *gcp.Error
// with the endpoint, the status and a hint, and Vault is never asked.
func TestMetadataErrors(t *testing.T) {
	vault.Require(t)
	tests := []struct {
		name    string
		iam     bool
		handler http.HandlerFunc
		status  int
		want    []string // in the error text
	}{
		{"no service account", false, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Metadata-Flavor", "Google")
			http.Error(w, "not found", http.StatusNotFound)
		}, 404, []string{"identity token from the metadata server", "/service-accounts/default/identity", "404", "attach a service account"}},
		{"forbidden", false, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Metadata-Flavor", "Google")
			http.Error(w, "Missing required header", http.StatusForbidden)
		}, 403, []string{"403 forbidden: Missing required header", "proxy"}},
		{"not a metadata server", false, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "<html>gateway error</html>", http.StatusBadGateway)
		}, 502, []string{"502", "Metadata-Flavor: Google header"}},
		{"HTML instead of a JWT", false, func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "<html>captive portal</html>")
		}, 200, []string{"not a JWT", "GCE_METADATA_HOST"}},
		{"token without access_token", true, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Metadata-Flavor", "Google")
			fmt.Fprint(w, `{"token_type":"Bearer"}`)
		}, 200, []string{"access token from the metadata server", "no access_token"}},
		{"token 500", true, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Metadata-Flavor", "Google")
			http.Error(w, "metadata server overloaded", http.StatusInternalServerError)
		}, 500, []string{"/service-accounts/default/token", "500 internal server error: metadata server overloaded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := newMetadataServer(t, testKey, "vm@p.iam.gserviceaccount.com")
			md.fail = tt.handler
			proxy := cloudtest.NewRecordingProxy(t, vault.Addr)
			opts := []gcp.Option{gcp.WithMetadataHost(md.URL)}
			if tt.iam {
				opts = append(opts, gcp.WithIAMServiceAccount(saEmail), gcp.WithIAMEndpoint(proxy.URL))
			}
			m, err := gcp.New("web", opts...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = m.Login(vaulttest.Context(t), authtest.Client(t, proxy.URL))
			var ge *gcp.Error
			if !errors.As(err, &ge) || ge.StatusCode != tt.status || ge.Hint == "" || ge.Method != http.MethodGet {
				t.Fatalf("err = %#v, want *gcp.Error with status %d and a hint", err, tt.status)
			}
			cloudtest.AssertMentions(t, err, tt.want...)
			if strings.Contains(ge.URL, "?") {
				t.Errorf("URL keeps its query: %s", ge.URL)
			}
			if n := len(proxy.All()); n != 0 {
				t.Errorf("Vault was asked %d times", n)
			}
		})
	}
}

// TestIAMErrors: signJwt failures are *gcp.Error with status and hint; the
// access token never shows, even when the API quotes it.
func TestIAMErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   []string
	}{
		{"permission denied", 403, `{"error":{"code":403,"message":"Permission 'iam.serviceAccounts.signJwt' denied for token %s","status":"PERMISSION_DENIED"}}`,
			[]string{"signJwt", "403 forbidden: PERMISSION_DENIED Permission 'iam.serviceAccounts.signJwt' denied", "roles/iam.serviceAccountTokenCreator"}},
		{"unauthenticated", 401, `{"error":{"code":401,"message":"Request had invalid authentication credentials: %s","status":"UNAUTHENTICATED"}}`,
			[]string{"401", "cloud-platform"}},
		{"no such account", 404, `{"error":{"code":404,"message":"Not found; Gaia id not found for email %s","status":"NOT_FOUND"}}`,
			[]string{"404", "no service account " + saEmail}},
		{"no signedJwt", 200, `{"keyId":"k"}`, []string{"no signedJwt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := newMetadataServer(t, testKey, "vm@p.iam.gserviceaccount.com")
			iam := newIAMServer(t, testKey, md.accessToken, saEmail, "web")
			iam.fail = func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				body := tt.body
				if strings.Contains(body, "%s") {
					body = fmt.Sprintf(body, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
				}
				fmt.Fprint(w, body)
			}
			m, err := gcp.New("web", gcp.WithMetadataHost(md.URL), gcp.WithIAMServiceAccount(saEmail), gcp.WithIAMEndpoint(iam.URL))
			if err != nil {
				t.Fatal(err)
			}
			_, err = m.Login(vaulttest.Context(t), authtest.Client(t, "http://127.0.0.1:1"))
			var ge *gcp.Error
			if !errors.As(err, &ge) || ge.StatusCode != tt.status || ge.Method != http.MethodPost ||
				ge.URL != iam.URL+"/v1/projects/-/serviceAccounts/"+saEmail+":signJwt" {
				t.Fatalf("err = %#v", err)
			}
			cloudtest.AssertMentions(t, err, tt.want...)
			cloudtest.AssertNoSecret(t, "error", fmt.Sprintf("%v %+v %#v", err, err, err), md.accessToken)
			if reqs := iam.All(); len(reqs) != 1 || reqs[0].Header.Get("Authorization") != "Bearer "+md.accessToken {
				t.Errorf("signJwt requests: %d", len(reqs))
			}
		})
	}
}

// TestMetadataUnreachable: without a metadata server (a closed port) Login
// fails at once with a *gcp.Error that wraps the connection error and says
// what to do.
func TestMetadataUnreachable(t *testing.T) {
	vault.Require(t)
	addr := cloudtest.ClosedAddr(t)
	proxy := cloudtest.NewRecordingProxy(t, vault.Addr)
	for _, iam := range []bool{false, true} {
		opts := []gcp.Option{gcp.WithMetadataHost(addr)}
		if iam {
			opts = append(opts, gcp.WithIAMServiceAccount(saEmail))
		}
		m, err := gcp.New("web", opts...)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = m.Login(vaulttest.Context(t), authtest.Client(t, proxy.URL))
		var ge *gcp.Error
		if !errors.As(err, &ge) || ge.StatusCode != 0 || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("err = %#v, want *gcp.Error wrapping ECONNREFUSED", err)
		}
		if d := time.Since(start); d > gcp.DefaultTimeout {
			t.Errorf("took %s", d)
		}
		cloudtest.AssertMentions(t, err, "no answer", addr, "not running on GCE", "GCE_METADATA_HOST", "another auth method")
	}
	if n := len(proxy.All()); n != 0 {
		t.Errorf("Vault was asked %d times", n)
	}
}

// TestMetadataHangs: a metadata server that accepts the connection but never
// answers is bounded by the caller's context.
func TestMetadataHangs(t *testing.T) {
	md := newMetadataServer(t, testKey, "vm@p.iam.gserviceaccount.com")
	md.fail = func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	m, err := gcp.New("web", gcp.WithMetadataHost(md.URL))
	if err != nil {
		t.Fatal(err)
	}
	err = cloudtest.LoginHanging(t, m)
	var ge *gcp.Error
	if !errors.As(err, &ge) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %#v, want *gcp.Error wrapping context.DeadlineExceeded", err)
	}
}

// TestPrintedForms: String, fmt verbs and slog show role, mount, flow and
// endpoints, nothing else.
func TestPrintedForms(t *testing.T) {
	m, err := gcp.New("web", gcp.WithMountPath("team/gcp"), gcp.WithIAMServiceAccount(saEmail))
	if err != nil {
		t.Fatal(err)
	}
	authtest.AssertPrinted(t, m, "gcp(role=web mount=team/gcp flow=iam service_account="+saEmail+" iam=https://iamcredentials.googleapis.com metadata=metadata.google.internal)")
	g, _ := gcp.New("web")
	if g.String() != "gcp(role=web mount=gcp flow=gce metadata=metadata.google.internal)" || g.Role() != "web" || g.MountPath() != "gcp" {
		t.Errorf("GCE method = %s", g)
	}
	if _, err := g.Login(context.Background(), nil); !errors.Is(err, gdsvault.ErrConfig) {
		t.Errorf("Login(nil client) = %v", err)
	}
}

package azure_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/azure"
	"github.com/gdsvault/gdsvault/auth/internal/authtest"
	"github.com/gdsvault/gdsvault/auth/internal/optiontest"
	"github.com/gdsvault/gdsvault/internal/cloudauth/cloudtest"
	"github.com/gdsvault/gdsvault/vaulttest"
)

var _ gdsvault.AuthMethod = (*azure.Method)(nil)

func TestNewValidation(t *testing.T) {
	tokenFile := gdsvault.CredentialFile("/var/run/secrets/azure/tokens/azure-identity-token")
	tests := []struct {
		name  string
		role  string
		opts  []azure.Option
		field string // "" means valid
	}{
		{"defaults", "web", nil, ""},
		{"managed identity options", "web", []azure.Option{azure.WithMountPath("/team/azure/"), azure.WithResource("api://vault"),
			azure.WithIMDSEndpoint("http://127.0.0.1:9/"), azure.WithClientID("c0ffee00-0000-4000-8000-000000000001"),
			azure.WithVM(subscriptionID, resourceGroup, "vm1", ""), azure.WithHTTPClient(&http.Client{})}, ""},
		{"workload identity", "web", []azure.Option{azure.WithWorkloadIdentity(tenantID, "app-id", tokenFile),
			azure.WithAuthorityHost("https://login.microsoftonline.us/")}, ""},
		{"tenant as domain", "web", []azure.Option{azure.WithWorkloadIdentity("contoso.onmicrosoft.com", "app-id", tokenFile)}, ""},
		{"VMSS only", "web", []azure.Option{azure.WithVM(subscriptionID, resourceGroup, "", "vmss1")}, ""},
		{"nil option ignored", "web", []azure.Option{nil}, ""},
		{"empty role", "", nil, "azure role"},
		{"role with slash", "a/b", nil, "azure role"},
		{"empty mount", "web", []azure.Option{azure.WithMountPath("")}, "azure mount path"},
		{"mount with dot-dot", "web", []azure.Option{azure.WithMountPath("../sys")}, "azure mount path"},
		{"empty resource", "web", []azure.Option{azure.WithResource(" ")}, "azure resource"},
		{"IMDS not a URL", "web", []azure.Option{azure.WithIMDSEndpoint("169.254.169.254")}, "azure IMDS endpoint"},
		{"authority with query", "web", []azure.Option{azure.WithAuthorityHost("https://login.microsoftonline.com/?x=1")}, "azure authority host"},
		{"empty client ID", "web", []azure.Option{azure.WithClientID("")}, "azure client id"},
		{"client ID with workload identity", "web", []azure.Option{azure.WithClientID("x"), azure.WithWorkloadIdentity(tenantID, "app-id", tokenFile)}, "azure client id"},
		{"workload identity without tenant", "web", []azure.Option{azure.WithWorkloadIdentity("", "app-id", tokenFile)}, "azure tenant id"},
		{"workload identity tenant with slash", "web", []azure.Option{azure.WithWorkloadIdentity("a/b", "app-id", tokenFile)}, "azure tenant id"},
		{"workload identity without client", "web", []azure.Option{azure.WithWorkloadIdentity(tenantID, " ", tokenFile)}, "azure client id"},
		{"workload identity without token file", "web", []azure.Option{azure.WithWorkloadIdentity(tenantID, "app-id", gdsvault.Credential{})}, "azure federated token file"},
		{"VM without subscription", "web", []azure.Option{azure.WithVM("", resourceGroup, "vm1", "")}, "azure vm"},
		{"VM without names", "web", []azure.Option{azure.WithVM(subscriptionID, resourceGroup, "", "")}, "azure vm"},
		{"VM name with slash", "web", []azure.Option{azure.WithVM(subscriptionID, resourceGroup, "a/b", "")}, "azure vm"},
		{"nil HTTP client", "web", []azure.Option{azure.WithHTTPClient(nil)}, "azure http client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := azure.New(tt.role, tt.opts...)
			optiontest.Expect(t, m, err, tt.field)
		})
	}
	_, err := azure.New("", azure.WithWorkloadIdentity("", "", gdsvault.Credential{}))
	if n := strings.Count(err.Error(), "gdsvault: "); n != 4 {
		t.Fatalf("want 4 joined errors, got %d: %v", n, err)
	}
	if !strings.Contains(err.Error(), "VAULT_AZURE_ROLE") || !strings.Contains(err.Error(), "AZURE_TENANT_ID") {
		t.Errorf("the errors do not name the variables: %v", err)
	}
}

// TestManagedIdentityLogin: the managed identity flow asks the IMDS stand-in
// for a token (Metadata: true, api-version, resource, client_id when set) and
// for the instance, and posts role, jwt, subscription_id,
// resource_group_name and vm_name, or vmss_name on a scale set, to the real
// Vault; with a namespace, X-Vault-Namespace goes along. Vault cannot fetch
// the tenant's OpenID configuration from login.microsoftonline.com and
// answers 500: ErrInternal, without the token.
func TestManagedIdentityLogin(t *testing.T) {
	vault.Require(t)
	mount, role := azureMount(t, map[string]any{"bound_subscription_ids": []string{subscriptionID}, "bound_resource_groups": []string{resourceGroup}})
	proxy := cloudtest.NewRecordingProxy(t, vault.Addr)
	tests := []struct {
		name      string
		clientID  string
		compute   compute
		namespace string
		machine   map[string]any
	}{
		{"system-assigned on a VM", "", compute{subscriptionID, resourceGroup, "vm-app-1", "", "westeurope"}, "",
			map[string]any{"vm_name": "vm-app-1"}},
		{"user-assigned on a scale set", "c0ffee00-0000-4000-8000-000000000001", compute{subscriptionID, resourceGroup, "vmss-app_3", "vmss-app", "westeurope"}, "",
			map[string]any{"vmss_name": "vmss-app"}},
		{"namespace", "", compute{subscriptionID, resourceGroup, "vm-app-2", "", "westeurope"}, "team-a",
			map[string]any{"vm_name": "vm-app-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imds := newIMDS(t, azure.DefaultResource, tt.clientID, tt.compute)
			opts := []azure.Option{azure.WithMountPath(mount), azure.WithIMDSEndpoint(imds.URL)}
			if tt.clientID != "" {
				opts = append(opts, azure.WithClientID(tt.clientID))
			}
			m, err := azure.New(role, opts...)
			if err != nil {
				t.Fatal(err)
			}
			before := len(proxy.All())
			auth, err := m.Login(vaulttest.Context(t), authtest.Client(t, proxy.URL, gdsvault.WithNamespace(tt.namespace)))
			// A server with namespaces (OpenBao, Vault Enterprise) has no
			// team-a: 404 namespace not found; one without ignores the
			// header. Either way the header went along (checked below).
			noNS := tt.namespace != "" && errors.Is(err, gdsvault.ErrNamespaceNotFound)
			if auth != nil || !errors.Is(err, gdsvault.ErrInternal) && !noNS {
				t.Fatalf("Login = %v, %v; want ErrInternal (Vault cannot reach Azure AD)", auth, err)
			}
			var re *gdsvault.ResponseError
			if !errors.As(err, &re) || (re.StatusCode != http.StatusInternalServerError && !noNS) || re.Namespace != tt.namespace {
				t.Fatalf("err = %#v", err)
			}
			t.Logf("real Vault answered: %v", err)

			reqs := imds.All()
			if len(reqs) != 2 {
				t.Fatalf("IMDS saw %d requests, want 2", len(reqs))
			}
			tokReq, instReq := reqs[0], reqs[1]
			wantQ := "api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F"
			if tt.clientID != "" {
				wantQ = "api-version=2018-02-01&client_id=" + tt.clientID + "&resource=https%3A%2F%2Fmanagement.azure.com%2F"
			}
			if tokReq.Path != "/metadata/identity/oauth2/token" || tokReq.Query.Encode() != wantQ || tokReq.Header.Get("Metadata") != "true" {
				t.Errorf("token request = %s ?%s %v", tokReq.Path, tokReq.Query.Encode(), tokReq.Header)
			}
			if instReq.Path != "/metadata/instance" || instReq.Query.Encode() != "api-version=2021-02-01" || instReq.Header.Get("Metadata") != "true" {
				t.Errorf("instance request = %s ?%s %v", instReq.Path, instReq.Query.Encode(), instReq.Header)
			}
			jwt := imds.issued()[0]
			ex := proxy.All()[before:]
			if len(ex) != 1 {
				t.Fatalf("Vault saw %d requests, want 1 login", len(ex))
			}
			want := map[string]any{"role": role, "jwt": jwt, "subscription_id": subscriptionID, "resource_group_name": resourceGroup}
			for k, v := range tt.machine {
				want[k] = v
			}
			cloudtest.AssertLogin(t, ex[0], mount, want, tt.namespace)
			// Offline, Vault cannot resolve login.microsoftonline.com; online,
			// Azure AD does not know the made-up tenant. Both end in a 500
			// (or a 404 from a server with namespaces but no team-a).
			if !(noNS && ex[0].Status == http.StatusNotFound) && (ex[0].Status != http.StatusInternalServerError ||
				!bytes.Contains(ex[0].Answer, []byte("openid-configuration")) && !bytes.Contains(ex[0].Answer, []byte("AADSTS"))) {
				t.Errorf("Vault answered %d %s", ex[0].Status, ex[0].Answer)
			}
			cloudtest.AssertNoSecret(t, "error", fmt.Sprintf("%v %+v %#v", err, err, err), jwt)
		})
	}
}

// TestVaultRefusal: a login the real Vault refuses before any cloud call (no
// such role) is a 400 and matches ErrAuthFailed.
func TestVaultRefusal(t *testing.T) {
	vault.Require(t)
	mount, _ := azureMount(t, map[string]any{"bound_subscription_ids": []string{subscriptionID}})
	imds := newIMDS(t, azure.DefaultResource, "", compute{subscriptionID, resourceGroup, "vm1", "", "westeurope"})
	proxy := cloudtest.NewRecordingProxy(t, vault.Addr)
	m, err := azure.New("no-such-role", azure.WithMountPath(mount), azure.WithIMDSEndpoint(imds.URL))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Login(vaulttest.Context(t), authtest.Client(t, proxy.URL))
	var re *gdsvault.ResponseError
	if !errors.Is(err, gdsvault.ErrAuthFailed) || !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest ||
		!strings.Contains(err.Error(), `invalid role name "no-such-role"`) {
		t.Fatalf("err = %v, want ErrAuthFailed (400 invalid role name)", err)
	}
	t.Logf("real Vault answered: %v", err)
	cloudtest.AssertNoSecret(t, "error", err.Error(), imds.issued()...)
}

// TestWithVMSkipsInstanceMetadata: with WithVM only the token comes from
// IMDS, and the login carries the given machine.
func TestWithVMSkipsInstanceMetadata(t *testing.T) {
	vault.Require(t)
	mount, role := azureMount(t, map[string]any{"bound_resource_groups": []string{"rg-other"}})
	imds := newIMDS(t, "api://vault-prod", "", compute{})
	proxy := cloudtest.NewRecordingProxy(t, vault.Addr)
	m, err := azure.New(role, azure.WithMountPath(mount), azure.WithIMDSEndpoint(imds.URL), azure.WithResource("api://vault-prod"),
		azure.WithVM(subscriptionID, "rg-other", "ignored-vm", "vmss-other"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Login(vaulttest.Context(t), authtest.Client(t, proxy.URL))
	if !errors.Is(err, gdsvault.ErrInternal) {
		t.Fatalf("err = %v", err)
	}
	reqs := imds.All()
	if len(reqs) != 1 || reqs[0].Path != "/metadata/identity/oauth2/token" || reqs[0].Query.Get("resource") != "api://vault-prod" {
		t.Fatalf("IMDS requests = %+v", reqs)
	}
	ex := proxy.All()
	if len(ex) != 1 {
		t.Fatalf("Vault saw %d requests", len(ex))
	}
	cloudtest.AssertLogin(t, ex[0], mount, map[string]any{"role": role, "jwt": imds.issued()[0], "subscription_id": subscriptionID,
		"resource_group_name": "rg-other", "vmss_name": "vmss-other"}, "")
}

// TestWorkloadIdentityRotation: workload identity exchanges the federated
// token file at the Azure AD stand-in (which checks every form field and
// that the assertion is the file's current content) and logs in with the
// access token alone; IMDS is never asked. The file is rotated between two
// logins and the second exchange carries the new content. Neither the
// assertion nor the access token reaches an error.
func TestWorkloadIdentityRotation(t *testing.T) {
	vault.Require(t)
	mount, role := azureMount(t, map[string]any{"bound_service_principal_ids": []string{"*"}})
	const clientID = "5e1f0000-aaaa-4bbb-8ccc-000000000042"
	aad := newAAD(t, tenantID, clientID, "https://management.azure.com//.default")
	imds := newIMDS(t, azure.DefaultResource, "", compute{})
	proxy := cloudtest.NewRecordingProxy(t, vault.Addr)
	file := filepath.Join(t.TempDir(), "azure-identity-token")

	m, err := azure.New(role, azure.WithMountPath(mount), azure.WithIMDSEndpoint(imds.URL), azure.WithAuthorityHost(aad.URL+"/"),
		azure.WithWorkloadIdentity(tenantID, clientID, gdsvault.CredentialFile(file)))
	if err != nil {
		t.Fatal(err)
	}
	var assertions []string
	for i := 0; i < 2; i++ {
		assertion := fakeJWT(map[string]any{"iss": "https://oidc.prod-aks.azure.com/x/", "sub": "system:serviceaccount:app:web", "n": i})
		assertions = append(assertions, assertion)
		if err := os.WriteFile(file, []byte(assertion+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		aad.expect(assertion)
		_, err := m.Login(vaulttest.Context(t), authtest.Client(t, proxy.URL))
		if !errors.Is(err, gdsvault.ErrInternal) {
			t.Fatalf("login %d: err = %v, want ErrInternal", i, err)
		}
		if i == 0 {
			t.Logf("real Vault answered: %v", err)
		}
		issued, problems := aad.state()
		if len(problems) > 0 || len(issued) != i+1 {
			t.Fatalf("login %d: Azure AD stand-in issued %d, problems %v", i, len(issued), problems)
		}
		cloudtest.AssertNoSecret(t, "error", fmt.Sprintf("%v %+v %#v", err, err, err), assertion, issued[i])
	}
	issued, _ := aad.state()
	if issued[0] == issued[1] {
		t.Fatal("the stand-in issued the same token twice")
	}
	for i, r := range aad.All() {
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || !strings.Contains(string(r.Body), "client_assertion="+assertions[i]) {
			t.Errorf("exchange %d did not carry assertion %d", i, i)
		}
	}
	ex := proxy.All()
	if len(ex) != 2 {
		t.Fatalf("Vault saw %d requests", len(ex))
	}
	for i, e := range ex {
		cloudtest.AssertLogin(t, e, mount, map[string]any{"role": role, "jwt": issued[i]}, "")
	}
	if n := len(imds.All()); n != 0 {
		t.Errorf("IMDS was asked %d times in the workload identity flow", n)
	}

	t.Run("missing token file", func(t *testing.T) {
		if err := os.Remove(file); err != nil {
			t.Fatal(err)
		}
		_, err := m.Login(vaulttest.Context(t), authtest.Client(t, proxy.URL))
		var ce *gdsvault.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), file) {
			t.Fatalf("err = %v, want a ConfigError naming the file", err)
		}
		if n := len(aad.All()); n != 2 {
			t.Errorf("Azure AD was asked without an assertion")
		}
	})
}

// TestIMDSErrors: IMDS failures are *azure.Error with endpoint, status,
// Azure's code and a hint; Vault is not asked.
func TestIMDSErrors(t *testing.T) {
	vault.Require(t)
	tests := []struct {
		name     string
		clientID string // asked for; the stand-in knows none
		handler  http.HandlerFunc
		status   int
		want     []string
	}{
		{"identity not found", "c0ffee00-0000-4000-8000-000000000009", nil, 400,
			[]string{"managed identity token from IMDS", "/metadata/identity/oauth2/token", "400 bad request: invalid_request: Identity not found", "WithClientID"}},
		{"busy", "", func(w http.ResponseWriter, r *http.Request) { imdsError(w, 429, "too_many_requests", "slow down") },
			429, []string{"429", "try again"}},
		{"no token in answer", "", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"token_type":"Bearer"}`) },
			200, []string{"no access_token"}},
		{"instance without subscription", "", func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/token") {
				fmt.Fprint(w, `{"access_token":"eyJ.eyJ.sig"}`)
				return
			}
			fmt.Fprint(w, `{"compute":{"name":"vm1"}}`)
		}, 200, []string{"instance metadata from IMDS", "/metadata/instance", "WithVM"}},
		{"HTML", "", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "<html>proxy</html>", http.StatusBadGateway)
		},
			502, []string{"502 bad gateway"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imds := newIMDS(t, azure.DefaultResource, "", compute{subscriptionID, resourceGroup, "vm1", "", ""})
			imds.fail = tt.handler
			proxy := cloudtest.NewRecordingProxy(t, vault.Addr)
			opts := []azure.Option{azure.WithIMDSEndpoint(imds.URL)}
			if tt.clientID != "" {
				opts = append(opts, azure.WithClientID(tt.clientID))
			}
			m, err := azure.New("web", opts...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = m.Login(vaulttest.Context(t), authtest.Client(t, proxy.URL))
			var ae *azure.Error
			if !errors.As(err, &ae) || ae.StatusCode != tt.status || ae.Hint == "" || strings.Contains(ae.URL, "?") {
				t.Fatalf("err = %#v, want *azure.Error with status %d", err, tt.status)
			}
			cloudtest.AssertMentions(t, err, tt.want...)
			if n := len(proxy.All()); n != 0 {
				t.Errorf("Vault was asked %d times", n)
			}
		})
	}
}

// TestAADErrors: Azure AD refusals are *azure.Error with code, the first
// line of the description and a hint; the assertion never shows, even when
// Azure AD quotes it.
func TestAADErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string // %s is replaced by the assertion
		want   []string
	}{
		{"no federated credential", 400, `{"error":"invalid_request","error_description":"AADSTS70021: No matching federated identity record found for presented assertion %s.\r\nTrace ID: 1\r\nCorrelation ID: 2","error_codes":[70021]}`,
			[]string{"400 bad request: invalid_request: AADSTS70021: No matching federated identity record", "federated credential", "system:serviceaccount"}},
		{"expired assertion", 401, `{"error":"invalid_client","error_description":"AADSTS700024: Client assertion is not within its valid time range."}`,
			[]string{"invalid_client", "has expired"}},
		{"unknown resource", 400, `{"error":"invalid_scope","error_description":"AADSTS500011: The resource principal named x was not found."}`,
			[]string{"invalid_scope", "WithResource"}},
		{"server error", 503, `{"error":"temporarily_unavailable"}`, []string{"503", "temporarily_unavailable", "try again later"}},
		{"no token in answer", 200, `{"token_type":"Bearer"}`, []string{"no access_token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aad := newAAD(t, tenantID, "app", "https://management.azure.com//.default")
			aad.fail = func(w http.ResponseWriter, r *http.Request) {
				_ = r.ParseForm()
				body := tt.body
				if strings.Contains(body, "%s") {
					body = fmt.Sprintf(body, r.PostForm.Get("client_assertion"))
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				fmt.Fprint(w, body)
			}
			assertion := fakeJWT(map[string]any{"sub": "system:serviceaccount:app:web"})
			m, err := azure.New("web", azure.WithAuthorityHost(aad.URL),
				azure.WithWorkloadIdentity(tenantID, "app", gdsvault.CredentialValue(assertion)))
			if err != nil {
				t.Fatal(err)
			}
			_, err = m.Login(vaulttest.Context(t), authtest.Client(t, "http://127.0.0.1:1"))
			var ae *azure.Error
			if !errors.As(err, &ae) || ae.StatusCode != tt.status || ae.Method != http.MethodPost || ae.URL != aad.URL+"/"+tenantID+"/oauth2/v2.0/token" {
				t.Fatalf("err = %#v", err)
			}
			cloudtest.AssertMentions(t, err, tt.want...)
			if strings.Contains(err.Error(), "Trace ID") {
				t.Errorf("error keeps Azure AD's trace lines: %v", err)
			}
			cloudtest.AssertNoSecret(t, "error", fmt.Sprintf("%v %+v %#v", err, err, err), assertion)
		})
	}
}

// TestIMDSUnreachable: without IMDS (a closed port) Login fails at once with
// a *azure.Error wrapping the connection error, with a hint.
func TestIMDSUnreachable(t *testing.T) {
	addr := "http://" + cloudtest.ClosedAddr(t)
	m, err := azure.New("web", azure.WithIMDSEndpoint(addr))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = m.Login(vaulttest.Context(t), authtest.Client(t, "http://127.0.0.1:1"))
	var ae *azure.Error
	if !errors.As(err, &ae) || ae.StatusCode != 0 || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %#v, want *azure.Error wrapping ECONNREFUSED", err)
	}
	if d := time.Since(start); d > azure.DefaultTimeout {
		t.Errorf("took %s", d)
	}
	cloudtest.AssertMentions(t, err, "no answer", addr+"/metadata/identity/oauth2/token", "not running on an Azure VM", "WithWorkloadIdentity", "another auth method")
	if strings.Contains(err.Error(), "resource=") {
		t.Errorf("the error repeats the query: %v", err)
	}
}

// TestIMDSHangs: an IMDS that never answers is bounded by the context.
func TestIMDSHangs(t *testing.T) {
	imds := newIMDS(t, azure.DefaultResource, "", compute{})
	imds.fail = func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	m, err := azure.New("web", azure.WithIMDSEndpoint(imds.URL))
	if err != nil {
		t.Fatal(err)
	}
	err = cloudtest.LoginHanging(t, m)
	var ae *azure.Error
	if !errors.As(err, &ae) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %#v, want *azure.Error wrapping context.DeadlineExceeded", err)
	}
}

// TestPrintedForms: String, fmt verbs and slog describe the method and
// never show a credential value.
func TestPrintedForms(t *testing.T) {
	const secret = "eyJhbGciOi.super-secret-assertion.sig"
	m, err := azure.New("web", azure.WithWorkloadIdentity(tenantID, "app-id", gdsvault.CredentialValue(secret)))
	if err != nil {
		t.Fatal(err)
	}
	authtest.AssertPrinted(t, m, "azure(role=web mount=azure resource=https://management.azure.com/ flow=workload-identity tenant="+tenantID+
		" client_id=app-id token=value [redacted] authority=https://login.microsoftonline.com)", "super-secret")
	mi, _ := azure.New("web", azure.WithClientID("cid"), azure.WithVM(subscriptionID, resourceGroup, "vm1", ""))
	if got := mi.String(); got != "azure(role=web mount=azure resource=https://management.azure.com/ flow=managed-identity imds=http://169.254.169.254 client_id=cid subscription="+
		subscriptionID+" resource_group="+resourceGroup+" vm=vm1)" || mi.Role() != "web" || mi.MountPath() != "azure" {
		t.Errorf("managed identity method = %s", got)
	}
	if _, err := mi.Login(context.Background(), nil); !errors.Is(err, gdsvault.ErrConfig) {
		t.Errorf("Login(nil client) = %v", err)
	}
}

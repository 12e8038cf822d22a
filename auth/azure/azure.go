package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/internal/login"
	"github.com/gdsvault/gdsvault/internal/cloudauth"
)

const (
	// DefaultMountPath is where Vault's azure auth method is usually enabled.
	DefaultMountPath = "azure"
	// DefaultResource is the resource the access token is for; it must match
	// the "resource" of the mount's config.
	DefaultResource = "https://management.azure.com/"
	// DefaultIMDSEndpoint is the Azure Instance Metadata Service.
	DefaultIMDSEndpoint = "http://169.254.169.254"
	// DefaultAuthorityHost is Azure AD (Entra ID) of the public cloud.
	DefaultAuthorityHost = "https://login.microsoftonline.com/"
	// DefaultTimeout bounds each call to IMDS or Azure AD when WithHTTPClient
	// is not given.
	DefaultTimeout = 5 * time.Second

	// IdentityAPIVersion and InstanceAPIVersion are the IMDS API versions used.
	IdentityAPIVersion = "2018-02-01"
	InstanceAPIVersion = "2021-02-01"

	clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// Option configures a Method in New.
type Option func(*Method) error

// Method is Vault's azure auth method. It holds no token: every Login asks
// IMDS (or Azure AD) for a fresh one, and re-reads the federated token file
// of workload identity. It is safe for concurrent use.
type Method struct {
	role      string
	mount     string
	resource  string
	imds      string
	clientID  string
	authority string
	wi        *workloadIdentity
	vm        *vmInfo

	// clients.Metadata is for IMDS, clients.API for Azure AD.
	clients cloudauth.Clients
}

type workloadIdentity struct {
	tenantID  string
	clientID  string
	tokenFile gdsvault.Credential
}

type vmInfo struct {
	subscriptionID, resourceGroup, vmName, vmssName string
}

// New returns the azure auth method for a Vault role. The role is required.
// Bad options make New fail with *gdsvault.ConfigError (several at once
// joined with errors.Join).
func New(role string, opts ...Option) (*Method, error) {
	m := &Method{
		role:      strings.TrimSpace(role),
		mount:     DefaultMountPath,
		resource:  DefaultResource,
		imds:      DefaultIMDSEndpoint,
		authority: strings.TrimRight(DefaultAuthorityHost, "/"),
	}
	errs := login.Apply([]error{cloudauth.CheckRole("azure", m.role)}, m, opts)
	if m.wi != nil && m.clientID != "" {
		errs = append(errs, &gdsvault.ConfigError{Field: "azure client id",
			Problem: "WithClientID (a user-assigned managed identity) cannot be combined with WithWorkloadIdentity",
			Hint:    "workload identity carries its own client ID; drop WithClientID"})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// IMDS is asked directly, never through a proxy.
	m.clients.SetDefaults(DefaultTimeout)
	return m, nil
}

var tenantRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)

// WithMountPath sets the path the azure auth method is enabled at (default
// "azure"; "auth/" is added by the method).
func WithMountPath(p string) Option {
	return func(m *Method) error { return login.SetMountPath(&m.mount, "azure", p) }
}

// WithResource sets the resource the access token is requested for (default
// https://management.azure.com/). It must equal the "resource" of the
// mount's config, which Vault compares with the token's audience. Workload
// identity asks for the scope <resource>/.default (so
// https://management.azure.com//.default, as Azure AD wants for a resource
// with a trailing slash).
func WithResource(r string) Option {
	return func(m *Method) error {
		r = strings.TrimSpace(r)
		if r == "" || strings.ContainsAny(r, " \t\r\n") {
			return &gdsvault.ConfigError{Field: "azure resource", Problem: "must be a resource URI or app ID, got " + cloudauth.Quote(r),
				Hint: "use the resource of vault read auth/azure/config (VAULT_AZURE_RESOURCE), e.g. " + DefaultResource}
		}
		m.resource = r
		return nil
	}
}

// WithIMDSEndpoint sets the base URL of the Instance Metadata Service
// (default http://169.254.169.254), for tests and emulators.
func WithIMDSEndpoint(baseURL string) Option {
	return func(m *Method) error {
		return cloudauth.SetBaseURL(&m.imds, "azure IMDS endpoint", "e.g. "+DefaultIMDSEndpoint, baseURL)
	}
}

// WithAuthorityHost sets the Azure AD authority of workload identity
// (default https://login.microsoftonline.com/), following the
// AZURE_AUTHORITY_HOST convention: another cloud, or a stand-in in tests.
func WithAuthorityHost(baseURL string) Option {
	return func(m *Method) error {
		return cloudauth.SetBaseURL(&m.authority, "azure authority host", "e.g. "+DefaultAuthorityHost+" (AZURE_AUTHORITY_HOST)", baseURL)
	}
}

// WithClientID picks a user-assigned managed identity by its client ID
// (IMDS's client_id parameter). Without it IMDS uses the system-assigned
// identity, or the only user-assigned one.
func WithClientID(id string) Option {
	return func(m *Method) error {
		id = strings.TrimSpace(id)
		if id == "" || strings.ContainsAny(id, " \t\r\n/?#&") {
			return &gdsvault.ConfigError{Field: "azure client id", Problem: "must be the client ID of a managed identity, got " + cloudauth.Quote(id),
				Hint: "leave the option out for the system-assigned identity (AZURE_CLIENT_ID)"}
		}
		m.clientID = id
		return nil
	}
}

// WithWorkloadIdentity switches to Azure AD workload identity (AKS): the
// federated token, read from tokenFile at every login
// (gdsvault.CredentialFile of AZURE_FEDERATED_TOKEN_FILE), is exchanged at
// <authority>/<tenantID>/oauth2/v2.0/token for an access token of the app or
// user-assigned identity clientID.
func WithWorkloadIdentity(tenantID, clientID string, tokenFile gdsvault.Credential) Option {
	return func(m *Method) error {
		var errs []error
		tenantID, clientID = strings.TrimSpace(tenantID), strings.TrimSpace(clientID)
		if !tenantRE.MatchString(tenantID) {
			errs = append(errs, &gdsvault.ConfigError{Field: "azure tenant id", Problem: "must be a tenant ID or domain, got " + cloudauth.Quote(tenantID),
				Hint: "set AZURE_TENANT_ID (the AKS workload identity webhook does)"})
		}
		if clientID == "" || strings.ContainsAny(clientID, " \t\r\n") {
			errs = append(errs, &gdsvault.ConfigError{Field: "azure client id", Problem: "must be the client ID of the federated identity, got " + cloudauth.Quote(clientID),
				Hint: "set AZURE_CLIENT_ID (the azure.workload.identity/client-id annotation of the service account)"})
		}
		if tokenFile.IsZero() {
			errs = append(errs, &gdsvault.ConfigError{Field: "azure federated token file", Problem: "is not set",
				Hint: "give gdsvault.CredentialFile(AZURE_FEDERATED_TOKEN_FILE)"})
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		m.wi = &workloadIdentity{tenantID: tenantID, clientID: clientID, tokenFile: tokenFile}
		return nil
	}
}

// WithVM gives the machine the login is for (subscription, resource group
// and the VM name or, for a scale set instance, the scale set name) instead
// of asking IMDS's instance metadata.
func WithVM(subscriptionID, resourceGroup, vmName, vmssName string) Option {
	return func(m *Method) error {
		v := &vmInfo{strings.TrimSpace(subscriptionID), strings.TrimSpace(resourceGroup), strings.TrimSpace(vmName), strings.TrimSpace(vmssName)}
		var missing []string
		if v.subscriptionID == "" {
			missing = append(missing, "subscription ID")
		}
		if v.resourceGroup == "" {
			missing = append(missing, "resource group")
		}
		if v.vmName == "" && v.vmssName == "" {
			missing = append(missing, "VM name or scale set name")
		}
		if len(missing) > 0 {
			return &gdsvault.ConfigError{Field: "azure vm", Problem: "lacks " + strings.Join(missing, ", "),
				Hint: "give all of subscription ID, resource group and VM (or scale set) name, or leave WithVM out to ask IMDS"}
		}
		for _, s := range []string{v.subscriptionID, v.resourceGroup, v.vmName, v.vmssName} {
			if strings.ContainsAny(s, " \t\r\n/?#") {
				return &gdsvault.ConfigError{Field: "azure vm", Problem: "holds an invalid name: " + cloudauth.Quote(s)}
			}
		}
		m.vm = v
		return nil
	}
}

// WithHTTPClient uses hc for IMDS and Azure AD instead of the default
// clients (5 s timeout; no proxy for IMDS). Give it a Timeout: a client
// without one waits as long as the context allows.
func WithHTTPClient(hc *http.Client) Option {
	return func(m *Method) error { return m.clients.Use("azure", hc) }
}

// Role is the Vault role the method logs in with.
func (m *Method) Role() string { return m.role }

// MountPath is the mount of the auth method, without "auth/".
func (m *Method) MountPath() string { return m.mount }

// String describes the method: role, mount, flow, resource and endpoints.
// It holds no credential (the federated token shows as its file name).
func (m *Method) String() string {
	if m == nil {
		return "azure(<nil>)"
	}
	var b strings.Builder
	b.WriteString("azure(role=" + m.role + " mount=" + m.mount + " resource=" + m.resource)
	if m.wi != nil {
		b.WriteString(" flow=workload-identity tenant=" + m.wi.tenantID + " client_id=" + m.wi.clientID +
			" token=" + m.wi.tokenFile.String() + " authority=" + m.authority)
	} else {
		b.WriteString(" flow=managed-identity imds=" + m.imds)
		if m.clientID != "" {
			b.WriteString(" client_id=" + m.clientID)
		}
	}
	if m.vm != nil {
		b.WriteString(" subscription=" + m.vm.subscriptionID + " resource_group=" + m.vm.resourceGroup)
		if m.vm.vmssName != "" {
			b.WriteString(" vmss=" + m.vm.vmssName)
		} else {
			b.WriteString(" vm=" + m.vm.vmName)
		}
	}
	b.WriteByte(')')
	return b.String()
}

// Format makes every fmt verb print String.
func (m *Method) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(m.String())) }

// LogValue logs String.
func (m *Method) LogValue() slog.Value { return slog.StringValue(m.String()) }

// Login gets an access token (from IMDS, or from Azure AD for workload
// identity), the machine's details (from WithVM or IMDS; not for workload
// identity) and posts them to auth/<mount>/login. Vault's refusal (4xx)
// matches gdsvault.ErrAuthFailed; a failure before Vault is a *Error.
func (m *Method) Login(ctx context.Context, c *gdsvault.Client) (*gdsvault.Auth, error) {
	if c == nil {
		return nil, &gdsvault.ConfigError{Field: "client", Problem: "is nil"}
	}
	var (
		tok gdsvault.Token
		err error
	)
	if m.wi != nil {
		tok, err = m.federatedToken(ctx)
	} else {
		tok, err = m.managedIdentityToken(ctx)
	}
	if err != nil {
		return nil, err
	}
	body := map[string]any{"role": m.role, "jwt": tok.Reveal()}
	vm := m.vm
	if vm == nil && m.wi == nil {
		if vm, err = m.instance(ctx); err != nil {
			return nil, err
		}
	}
	if vm != nil {
		body["subscription_id"] = vm.subscriptionID
		body["resource_group_name"] = vm.resourceGroup
		if vm.vmssName != "" {
			body["vmss_name"] = vm.vmssName
		} else {
			body["vm_name"] = vm.vmName
		}
	}
	a, err := c.Login(ctx, "auth/"+m.mount+"/login", body)
	if err != nil {
		return nil, cloudauth.ScrubError(err, tok.Reveal())
	}
	return a, nil
}

// managedIdentityToken asks IMDS for an access token for the resource.
func (m *Method) managedIdentityToken(ctx context.Context) (gdsvault.Token, error) {
	const op = "managed identity token from IMDS"
	u := m.imds + "/metadata/identity/oauth2/token"
	q := url.Values{"api-version": {IdentityAPIVersion}, "resource": {m.resource}}
	if m.clientID != "" {
		q.Set("client_id", m.clientID)
	}
	body, err := m.imdsGet(ctx, op, u, q)
	if err != nil {
		return gdsvault.Token{}, err
	}
	tok, ok := cloudauth.AccessToken(body)
	if !ok {
		return gdsvault.Token{}, &Error{Op: op, Method: http.MethodGet, URL: u, StatusCode: http.StatusOK,
			Message: "the answer holds no access_token", Hint: "a proxy or another service answers at " + m.imds}
	}
	return tok, nil
}

// instance asks IMDS which machine this is.
func (m *Method) instance(ctx context.Context) (*vmInfo, error) {
	const op = "instance metadata from IMDS"
	u := m.imds + "/metadata/instance"
	body, err := m.imdsGet(ctx, op, u, url.Values{"api-version": {InstanceAPIVersion}})
	if err != nil {
		return nil, err
	}
	var ans struct {
		Compute struct {
			SubscriptionID    string `json:"subscriptionId"`
			ResourceGroupName string `json:"resourceGroupName"`
			Name              string `json:"name"`
			VMScaleSetName    string `json:"vmScaleSetName"`
		} `json:"compute"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || ans.Compute.SubscriptionID == "" || ans.Compute.ResourceGroupName == "" ||
		(ans.Compute.Name == "" && ans.Compute.VMScaleSetName == "") {
		return nil, &Error{Op: op, Method: http.MethodGet, URL: u, StatusCode: http.StatusOK,
			Message: "the answer lacks compute.subscriptionId, resourceGroupName or name",
			Hint:    "give the machine with WithVM, or check what answers at " + m.imds}
	}
	c := ans.Compute
	return &vmInfo{subscriptionID: c.SubscriptionID, resourceGroup: c.ResourceGroupName, vmName: c.Name, vmssName: c.VMScaleSetName}, nil
}

func (m *Method) imdsGet(ctx context.Context, op, u string, q url.Values) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+"?"+q.Encode(), nil)
	if err != nil {
		return nil, cloudauth.RequestError("azure IMDS endpoint", u, err)
	}
	req.Header.Set("Metadata", "true")
	ans, err := cloudauth.Send(m.clients.Metadata, req)
	if err != nil {
		return nil, &Error{Op: op, Method: http.MethodGet, URL: u, StatusCode: ans.StatusCode, Err: err,
			Hint: ans.FailureHint("not running on an Azure VM or scale set? IMDS ("+m.imds+") answers only there: on AKS use "+
				"workload identity (WithWorkloadIdentity), or use another auth method (approle, jwt, ...)",
				"IMDS's answer was cut; try again")}
	}
	if ans.StatusCode != http.StatusOK {
		e := &Error{Op: op, Method: http.MethodGet, URL: u, StatusCode: ans.StatusCode}
		e.Code, e.Message = serverMessage(ans.Body)
		switch {
		case ans.StatusCode == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "identity not found"):
			e.Hint = "the VM has no managed identity (or none with this client ID): assign one, or pick it with WithClientID (AZURE_CLIENT_ID)"
		case ans.StatusCode == http.StatusBadRequest:
			e.Hint = "check the resource (" + m.resource + ") and the client ID"
		case ans.StatusCode == http.StatusTooManyRequests || ans.StatusCode >= 500:
			e.Hint = "IMDS is busy or the identity is being set up; try again shortly"
		default:
			e.Hint = "check the managed identity of this VM"
		}
		return nil, e
	}
	return ans.Body, nil
}

// federatedToken exchanges the federated token file for an access token at
// Azure AD.
func (m *Method) federatedToken(ctx context.Context) (gdsvault.Token, error) {
	const op = "workload identity token from Azure AD"
	assertion, err := m.wi.tokenFile.Load()
	if err != nil {
		return gdsvault.Token{}, err
	}
	u := m.authority + "/" + url.PathEscape(m.wi.tenantID) + "/oauth2/v2.0/token"
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {clientAssertionType},
		"client_assertion":      {assertion.Reveal()},
		"client_id":             {m.wi.clientID},
		"scope":                 {m.resource + "/.default"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return gdsvault.Token{}, cloudauth.RequestError("azure authority host", u, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	ans, err := cloudauth.Send(m.clients.API, req)
	if err != nil {
		return gdsvault.Token{}, &Error{Op: op, Method: http.MethodPost, URL: u, StatusCode: ans.StatusCode, Err: err,
			Hint: ans.FailureHint("cannot reach Azure AD at "+m.authority+": check the network path (proxy, firewall) or AZURE_AUTHORITY_HOST",
				"Azure AD's answer was cut; try again")}
	}
	if ans.StatusCode != http.StatusOK {
		e := &Error{Op: op, Method: http.MethodPost, URL: u, StatusCode: ans.StatusCode}
		e.Code, e.Message = serverMessage(ans.Body)
		e.Message = cloudauth.Scrub(e.Message, assertion.Reveal())
		switch {
		case strings.Contains(e.Message, "AADSTS70021") || strings.Contains(e.Message, "AADSTS700213"):
			e.Hint = "no federated identity credential of client " + m.wi.clientID + " matches the token's issuer and subject: " +
				"check the federated credential (issuer = the cluster's OIDC issuer, subject = system:serviceaccount:<namespace>:<name>)"
		case strings.Contains(e.Message, "AADSTS700024") || strings.Contains(e.Message, "expired"):
			e.Hint = "the federated token in " + m.wi.tokenFile.File() + " has expired: is the projected token still mounted and refreshed?"
		case e.Code == "invalid_scope" || strings.Contains(e.Message, "AADSTS500011"):
			e.Hint = "the resource " + m.resource + " is unknown to tenant " + m.wi.tenantID + ": check WithResource (VAULT_AZURE_RESOURCE)"
		case ans.StatusCode == http.StatusBadRequest || ans.StatusCode == http.StatusUnauthorized:
			e.Hint = "check the tenant (AZURE_TENANT_ID), client ID (AZURE_CLIENT_ID) and federated token file (AZURE_FEDERATED_TOKEN_FILE)"
		default:
			e.Hint = "Azure AD did not issue a token; try again later"
		}
		return gdsvault.Token{}, e
	}
	tok, ok := cloudauth.AccessToken(ans.Body)
	if !ok {
		return gdsvault.Token{}, &Error{Op: op, Method: http.MethodPost, URL: u, StatusCode: ans.StatusCode,
			Message: "the answer holds no access_token", Hint: "a proxy may stand in front of " + m.authority}
	}
	return tok, nil
}

// Error is a failure to get a token or the machine's details from IMDS or
// Azure AD, before Vault was asked. It never holds a token or an assertion.
type Error struct {
	// Op says what was asked for, such as "managed identity token from IMDS".
	Op string
	// Method and URL are the HTTP request (URL without its query).
	Method string
	URL    string
	// StatusCode is the HTTP status, 0 when no answer came.
	StatusCode int
	// Code is Azure's error code ("invalid_request", "invalid_client"...).
	Code string
	// Message is Azure's error description, when it gave one.
	Message string
	// Hint says how to fix it.
	Hint string
	// Err is the transport's error when no answer came (a *net.OpError,
	// context.DeadlineExceeded...).
	Err error
}

func (e *Error) Error() string {
	detail := e.Code + e.Message
	if e.Code != "" && e.Message != "" {
		detail = e.Code + ": " + e.Message
	}
	return cloudauth.ErrorParts{Method: "azure", Op: e.Op, HTTPMethod: e.Method, URL: e.URL, StatusCode: e.StatusCode,
		Detail: detail, Err: e.Err, Hint: e.Hint}.Text()
}

// Unwrap returns the transport's error.
func (e *Error) Unwrap() error { return e.Err }

// serverMessage reads Azure's {"error", "error_description"} (IMDS and Azure
// AD) or a short line of text.
func serverMessage(body []byte) (code, msg string) {
	var a struct {
		Error json.RawMessage `json:"error"`
		Desc  string          `json:"error_description"`
	}
	if json.Unmarshal(body, &a) == nil && len(a.Error) > 0 {
		var s string
		var arm struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		switch {
		case json.Unmarshal(a.Error, &s) == nil:
			return cloudauth.Short(s), cloudauth.Short(firstLine(a.Desc))
		case json.Unmarshal(a.Error, &arm) == nil:
			return cloudauth.Short(arm.Code), cloudauth.Short(firstLine(arm.Message))
		}
	}
	return "", cloudauth.Short(firstLine(cloudauth.PlainText(body)))
}

// firstLine keeps the first line: Azure AD appends trace and correlation
// IDs and a timestamp on the following ones.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return s
}

// MethodName names the method for metrics and traces (gdsvault.MethodNamer).
func (m *Method) MethodName() string { return "azure" }

package gcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/internal/login"
	"github.com/gdsvault/gdsvault/internal/cloudauth"
)

const (
	// DefaultMountPath is where Vault's gcp auth method is usually enabled.
	DefaultMountPath = "gcp"
	// DefaultMetadataHost is the GCE metadata server.
	DefaultMetadataHost = "metadata.google.internal"
	// DefaultIAMEndpoint is the IAM Service Account Credentials API.
	DefaultIAMEndpoint = "https://iamcredentials.googleapis.com"
	// DefaultTimeout bounds each call to the metadata server or the IAM API
	// when WithHTTPClient is not given.
	DefaultTimeout = 5 * time.Second
	// JWTLifetime is how long the JWT signed in the IAM flow is valid: the
	// default max_jwt_exp of a Vault gcp role.
	JWTLifetime = 15 * time.Minute
)

// Option configures a Method in New.
type Option func(*Method) error

// Method is Vault's gcp auth method. It holds no credential: every Login asks
// the metadata server (and, in the IAM flow, the IAM API) for a fresh token.
// It is safe for concurrent use.
type Method struct {
	role           string
	mount          string
	metadataHost   string
	serviceAccount string
	iamEndpoint    string

	// clients.Metadata is for the metadata server, clients.API for the IAM API.
	clients cloudauth.Clients
	now     func() time.Time
}

// New returns the gcp auth method for a Vault role. The role is required.
// Bad options make New fail with *gdsvault.ConfigError (several at once
// joined with errors.Join).
func New(role string, opts ...Option) (*Method, error) {
	m := &Method{
		role:         strings.TrimSpace(role),
		mount:        DefaultMountPath,
		metadataHost: DefaultMetadataHost,
		iamEndpoint:  DefaultIAMEndpoint,
		now:          time.Now,
	}
	errs := login.Apply([]error{cloudauth.CheckRole("gcp", m.role)}, m, opts)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// The metadata server is asked directly, never through a proxy.
	m.clients.SetDefaults(DefaultTimeout)
	return m, nil
}

// WithMountPath sets the path the gcp auth method is enabled at (default
// "gcp"; "auth/" is added by the method).
func WithMountPath(p string) Option {
	return func(m *Method) error { return login.SetMountPath(&m.mount, "gcp", p) }
}

// WithMetadataHost sets the metadata server as host or host:port (default
// metadata.google.internal), following the GCE_METADATA_HOST convention of
// Google's libraries. An http:// URL without a path is accepted too, which is
// what an httptest server's URL looks like.
func WithMetadataHost(hostport string) Option {
	return func(m *Method) error {
		h := strings.TrimSpace(hostport)
		bad := func(problem string) error {
			return &gdsvault.ConfigError{Field: "gcp metadata host", Problem: problem,
				Hint: "give host or host:port, as in GCE_METADATA_HOST=169.254.169.254 or localhost:8080"}
		}
		if h == "" {
			return bad("is empty")
		}
		if rest, ok := strings.CutPrefix(h, "http://"); ok {
			h = strings.TrimSuffix(rest, "/")
		}
		u, err := url.Parse("http://" + h)
		if err != nil || u.Host != h || u.Hostname() == "" || strings.Contains(h, "@") {
			return bad("is not a host or host:port: " + cloudauth.Quote(hostport))
		}
		m.metadataHost = h
		return nil
	}
}

// WithIAMServiceAccount switches to the IAM flow: the JWT is signed by the
// IAM API for this service account (an email such as
// vault-client@my-project.iam.gserviceaccount.com, or its unique ID), which
// the Vault role must list in bound_service_accounts.
func WithIAMServiceAccount(email string) Option {
	return func(m *Method) error {
		e := strings.TrimSpace(email)
		if e == "" {
			return &gdsvault.ConfigError{Field: "gcp service account", Problem: "is empty",
				Hint: "give the email of the service account the JWT is signed for (VAULT_GCP_SERVICE_ACCOUNT), or leave the option out for the GCE flow"}
		}
		if strings.ContainsAny(e, " \t\r\n/?#%") {
			return &gdsvault.ConfigError{Field: "gcp service account", Problem: "is not a service account email or ID: " + cloudauth.Quote(email),
				Hint: "e.g. vault-client@my-project.iam.gserviceaccount.com"}
		}
		m.serviceAccount = e
		return nil
	}
}

// WithIAMEndpoint sets the base URL of the IAM Service Account Credentials
// API (default https://iamcredentials.googleapis.com), for tests and private
// endpoints.
func WithIAMEndpoint(baseURL string) Option {
	return func(m *Method) error {
		return cloudauth.SetBaseURL(&m.iamEndpoint, "gcp IAM endpoint", "e.g. "+DefaultIAMEndpoint, baseURL)
	}
}

// WithHTTPClient uses hc for the metadata server and the IAM API instead of
// the default clients (5 s timeout; no proxy for the metadata server). Give
// it a Timeout: a client without one waits as long as the context allows.
func WithHTTPClient(hc *http.Client) Option {
	return func(m *Method) error { return m.clients.Use("gcp", hc) }
}

// Role is the Vault role the method logs in with.
func (m *Method) Role() string { return m.role }

// MountPath is the mount of the auth method, without "auth/".
func (m *Method) MountPath() string { return m.mount }

// String describes the method: role, mount, flow and endpoints. It holds no
// credential.
func (m *Method) String() string {
	if m == nil {
		return "gcp(<nil>)"
	}
	var b strings.Builder
	b.WriteString("gcp(role=" + m.role + " mount=" + m.mount)
	if m.serviceAccount == "" {
		b.WriteString(" flow=gce")
	} else {
		b.WriteString(" flow=iam service_account=" + m.serviceAccount + " iam=" + m.iamEndpoint)
	}
	b.WriteString(" metadata=" + m.metadataHost + ")")
	return b.String()
}

// Format makes every fmt verb print String.
func (m *Method) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(m.String())) }

// LogValue logs String.
func (m *Method) LogValue() slog.Value { return slog.StringValue(m.String()) }

// Login gets a token from the metadata server (and the IAM API in the IAM
// flow) and posts it to auth/<mount>/login. Vault's refusal matches
// gdsvault.ErrAuthFailed; a failure before Vault is a *Error.
func (m *Method) Login(ctx context.Context, c *gdsvault.Client) (*gdsvault.Auth, error) {
	if c == nil {
		return nil, &gdsvault.ConfigError{Field: "client", Problem: "is nil"}
	}
	var (
		jwt gdsvault.Token
		err error
	)
	if m.serviceAccount == "" {
		jwt, err = m.identityToken(ctx)
	} else {
		jwt, err = m.signedJWT(ctx)
	}
	if err != nil {
		return nil, err
	}
	a, err := c.Login(ctx, "auth/"+m.mount+"/login", map[string]any{"role": m.role, "jwt": jwt.Reveal()})
	if err != nil {
		return nil, cloudauth.ScrubError(err, jwt.Reveal())
	}
	return a, nil
}

// metadataURL is a URL of the metadata server's service account tree.
func (m *Method) metadataURL(leaf string) string {
	return "http://" + m.metadataHost + "/computeMetadata/v1/instance/service-accounts/default/" + leaf
}

// identityToken asks the metadata server for an identity token whose
// audience is vault/<role>.
func (m *Method) identityToken(ctx context.Context) (gdsvault.Token, error) {
	const op = "identity token from the metadata server"
	u := m.metadataURL("identity")
	q := url.Values{"audience": {"vault/" + m.role}, "format": {"full"}}
	body, err := m.metadataGet(ctx, op, u, q)
	if err != nil {
		return gdsvault.Token{}, err
	}
	tok := strings.TrimSpace(string(body))
	if !looksLikeJWT(tok) {
		return gdsvault.Token{}, &Error{Op: op, Method: http.MethodGet, URL: u, StatusCode: http.StatusOK,
			Message: "the answer is not a JWT (" + strconv.Itoa(len(body)) + " bytes)",
			Hint:    "a proxy or another service answers at " + m.metadataHost + "; point WithMetadataHost (GCE_METADATA_HOST) at the metadata server"}
	}
	return gdsvault.NewToken(tok), nil
}

// accessToken asks the metadata server for an OAuth access token of the
// instance's service account.
func (m *Method) accessToken(ctx context.Context) (gdsvault.Token, error) {
	const op = "access token from the metadata server"
	u := m.metadataURL("token")
	body, err := m.metadataGet(ctx, op, u, nil)
	if err != nil {
		return gdsvault.Token{}, err
	}
	tok, ok := cloudauth.AccessToken(body)
	if !ok {
		return gdsvault.Token{}, &Error{Op: op, Method: http.MethodGet, URL: u, StatusCode: http.StatusOK,
			Message: "the answer holds no access_token",
			Hint:    "a proxy or another service answers at " + m.metadataHost + "; point WithMetadataHost (GCE_METADATA_HOST) at the metadata server"}
	}
	return tok, nil
}

func (m *Method) metadataGet(ctx context.Context, op, u string, q url.Values) ([]byte, error) {
	full := u
	if len(q) > 0 {
		full += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, full, nil)
	if err != nil {
		return nil, cloudauth.RequestError("gcp metadata host", u, err)
	}
	req.Header.Set("Metadata-Flavor", "Google")
	ans, err := cloudauth.Send(m.clients.Metadata, req)
	if err != nil {
		return nil, &Error{Op: op, Method: http.MethodGet, URL: u, StatusCode: ans.StatusCode, Err: err,
			Hint: ans.FailureHint("not running on GCE, GKE or Cloud Run? Only there does "+m.metadataHost+" answer: set GCE_METADATA_HOST "+
				"(WithMetadataHost) for an emulator, or use another auth method (approle, jwt, ...)",
				"the metadata server's answer was cut; try again")}
	}
	if ans.StatusCode != http.StatusOK {
		e := &Error{Op: op, Method: http.MethodGet, URL: u, StatusCode: ans.StatusCode, Message: serverMessage(ans.Body)}
		switch {
		case ans.StatusCode == http.StatusNotFound:
			e.Hint = "the instance has no default service account, or this metadata server does not serve " +
				"identity tokens: attach a service account to the VM (or the GKE Workload Identity KSA)"
		case ans.StatusCode == http.StatusForbidden:
			e.Hint = "the metadata server refused the request: is a proxy rewriting it? (it must reach " + m.metadataHost + " directly)"
		default:
			e.Hint = "check the metadata server at " + m.metadataHost + " (GCE_METADATA_HOST)"
		}
		if ans.Header.Get("Metadata-Flavor") != "Google" {
			e.Hint += "; the answer lacks the Metadata-Flavor: Google header, so it did not come from a GCE metadata server"
		}
		return nil, e
	}
	return ans.Body, nil
}

// signedJWT has the IAM API sign {"sub", "aud": "vault/<role>", "exp"} for
// the configured service account.
func (m *Method) signedJWT(ctx context.Context) (gdsvault.Token, error) {
	at, err := m.accessToken(ctx)
	if err != nil {
		return gdsvault.Token{}, err
	}
	const op = "signJwt in the IAM Service Account Credentials API"
	u := m.iamEndpoint + "/v1/projects/-/serviceAccounts/" + url.PathEscape(m.serviceAccount) + ":signJwt"
	payload, err := json.Marshal(map[string]any{
		"sub": m.serviceAccount,
		"aud": "vault/" + m.role,
		"exp": m.now().Add(JWTLifetime).Unix(),
	})
	if err != nil {
		return gdsvault.Token{}, err
	}
	reqBody, err := json.Marshal(map[string]string{"payload": string(payload)})
	if err != nil {
		return gdsvault.Token{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(reqBody))
	if err != nil {
		return gdsvault.Token{}, cloudauth.RequestError("gcp IAM endpoint", u, err)
	}
	req.Header.Set("Authorization", "Bearer "+at.Reveal())
	req.Header.Set("Content-Type", "application/json")
	ans, err := cloudauth.Send(m.clients.API, req)
	if err != nil {
		return gdsvault.Token{}, &Error{Op: op, Method: http.MethodPost, URL: u, StatusCode: ans.StatusCode, Err: cloudauth.ScrubError(err, at.Reveal()),
			Hint: ans.FailureHint("cannot reach "+m.iamEndpoint+": check the network path (proxy, firewall, Private Google Access) to the IAM API",
				"the IAM API's answer was cut; try again")}
	}
	if ans.StatusCode != http.StatusOK {
		e := &Error{Op: op, Method: http.MethodPost, URL: u, StatusCode: ans.StatusCode, Message: cloudauth.Scrub(serverMessage(ans.Body), at.Reveal())}
		switch ans.StatusCode {
		case http.StatusUnauthorized:
			e.Hint = "the IAM API refused the metadata server's access token: the instance's access scopes must include cloud-platform"
		case http.StatusForbidden:
			e.Hint = "the instance's service account needs roles/iam.serviceAccountTokenCreator (iam.serviceAccounts.signJwt) on " +
				m.serviceAccount + ", and the IAM Service Account Credentials API must be enabled in its project"
		case http.StatusNotFound:
			e.Hint = "no service account " + m.serviceAccount + ": check WithIAMServiceAccount (VAULT_GCP_SERVICE_ACCOUNT)"
		default:
			e.Hint = "the IAM API did not sign the JWT; try again later"
		}
		return gdsvault.Token{}, e
	}
	var signed struct {
		KeyID     string `json:"keyId"`
		SignedJWT string `json:"signedJwt"`
	}
	if err := json.Unmarshal(ans.Body, &signed); err != nil || !looksLikeJWT(strings.TrimSpace(signed.SignedJWT)) {
		return gdsvault.Token{}, &Error{Op: op, Method: http.MethodPost, URL: u, StatusCode: ans.StatusCode,
			Message: "the answer holds no signedJwt", Hint: "a proxy may stand in front of " + m.iamEndpoint}
	}
	return gdsvault.NewToken(strings.TrimSpace(signed.SignedJWT)), nil
}

// Error is a failure to get a token from the metadata server or the IAM API,
// before Vault was asked. It never holds a token.
type Error struct {
	// Op says what was asked for, such as "identity token from the metadata server".
	Op string
	// Method and URL are the HTTP request (URL without its query).
	Method string
	URL    string
	// StatusCode is the HTTP status, 0 when no answer came.
	StatusCode int
	// Message is what the server said, when it said something readable.
	Message string
	// Hint says how to fix it.
	Hint string
	// Err is the transport's error when no answer came (a *net.OpError,
	// context.DeadlineExceeded...).
	Err error
}

func (e *Error) Error() string {
	return cloudauth.ErrorParts{Method: "gcp", Op: e.Op, HTTPMethod: e.Method, URL: e.URL, StatusCode: e.StatusCode,
		Detail: e.Message, Err: e.Err, Hint: e.Hint}.Text()
}

// Unwrap returns the transport's error.
func (e *Error) Unwrap() error { return e.Err }

// serverMessage picks the readable part of an error answer: Google's
// {"error": {"message", "status"}}, OAuth's {"error", "error_description"},
// or a short line of text.
func serverMessage(body []byte) string {
	var g struct {
		Error json.RawMessage `json:"error"`
		Desc  string          `json:"error_description"`
	}
	if json.Unmarshal(body, &g) == nil && len(g.Error) > 0 {
		var api struct {
			Message string `json:"message"`
			Status  string `json:"status"`
		}
		var s string
		switch {
		case json.Unmarshal(g.Error, &api) == nil && (api.Message != "" || api.Status != ""):
			s = strings.TrimSpace(api.Status + " " + api.Message)
		case json.Unmarshal(g.Error, &s) == nil:
			if g.Desc != "" {
				s += ": " + g.Desc
			}
		}
		return cloudauth.Short(s)
	}
	t := cloudauth.PlainText(body)
	if i := strings.IndexByte(t, '\n'); i >= 0 {
		t = t[:i]
	}
	return cloudauth.Short(t)
}

// looksLikeJWT reports whether s has the three base64url parts of a JWS.
func looksLikeJWT(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return false
	}
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			c := p[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '=') {
				return false
			}
		}
	}
	return true
}

// MethodName names the method for metrics and traces (gdsvault.MethodNamer).
func (m *Method) MethodName() string { return "gcp" }

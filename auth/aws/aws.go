package aws

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/internal/login"
)

// DefaultMountPath is where Vault's aws auth method is mounted unless
// WithMountPath says otherwise (auth/aws).
const DefaultMountPath = "aws"

// DefaultRegion is the region used for signing when WithRegion is not given.
// Its STS endpoint is the global one, https://sts.amazonaws.com/, which is
// also the endpoint Vault calls when its sts_endpoint is not configured.
const DefaultRegion = "us-east-1"

// ServerIDHeader is the header that carries Vault's
// iam_server_id_header_value inside the signed request.
const ServerIDHeader = "X-Vault-AWS-IAM-Server-ID"

const (
	stsService  = "sts"
	requestBody = "Action=GetCallerIdentity&Version=2011-06-15"
	contentType = "application/x-www-form-urlencoded; charset=utf-8"
)

// Option configures a Method. Options report a mistake as a
// *gdsvault.ConfigError (errors.Is(err, gdsvault.ErrConfig)).
type Option func(*Method) error

// Method logs in to Vault with the aws auth method, type iam: it signs an STS
// GetCallerIdentity request with the caller's AWS credentials and hands the
// signed request to Vault, which sends it to STS and learns who signed it.
// The credentials themselves never reach Vault.
//
// A Method is safe for concurrent use. It prints (String, %v, %#v, slog) its
// settings, never credentials.
type Method struct {
	role     string
	mount    string
	region   string
	stsURL   string // "" means the endpoint derived from region
	serverID string
	provider aws.CredentialsProvider // nil means the SDK's default chain, loaded at the first login
	custom   bool                    // provider came from WithCredentialsProvider

	signer *v4.Signer
	now    func() time.Time

	mu     sync.Mutex
	loaded aws.CredentialsProvider // the default chain, once loaded
}

// New returns a Method that logs in to the Vault role role (the role defined
// at auth/<mount>/role/<role>, with auth_type=iam). Every missing or bad
// setting is a *gdsvault.ConfigError, several joined with errors.Join.
func New(role string, opts ...Option) (*Method, error) {
	m := &Method{
		role:   strings.TrimSpace(role),
		mount:  DefaultMountPath,
		region: DefaultRegion,
		signer: v4.NewSigner(),
		now:    time.Now,
	}
	errs := []error{login.RequireRole("aws", m.role, "pass the name of the Vault role (auth/<mount>/role/<name>) to log in to")}
	errs = login.Apply(errs, m, opts)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// WithMountPath sets the path where the aws auth method is mounted ("aws"
// for auth/aws, the default).
func WithMountPath(p string) Option {
	return func(m *Method) error { return login.SetMountPath(&m.mount, "aws", p) }
}

// WithRegion sets the AWS region the request is signed for, and so the STS
// endpoint it is addressed to: the global endpoint https://sts.amazonaws.com/
// for us-east-1 (the default, and what Vault uses when its sts_endpoint is
// not set), https://sts.<region>.amazonaws.com/ for any other region. The
// region is not read from the AWS configuration (AWS_REGION, profiles): it
// must match how Vault is configured (sts_endpoint and sts_region of
// auth/<mount>/config/client), which is a server-side choice.
func WithRegion(r string) Option {
	return func(m *Method) error {
		r = strings.TrimSpace(r)
		if !validRegion(r) {
			return &gdsvault.ConfigError{Field: "aws region", Problem: fmt.Sprintf("%q is not a region name", r),
				Hint: "use a region such as us-east-1 or eu-west-1"}
		}
		m.region = r
		return nil
	}
}

func validRegion(r string) bool {
	if r == "" || len(r) > 64 || r[0] == '-' || r[len(r)-1] == '-' {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// WithSTSEndpoint sets the URL of the GetCallerIdentity request that is
// signed, instead of the one derived from the region. Vault forwards the
// request to its own sts_endpoint but keeps the signed Host, so the URL must
// be the one the real STS (or the VPC endpoint behind sts_endpoint) accepts
// in the signature, such as https://sts.eu-west-1.amazonaws.com/. Set
// WithRegion to the endpoint's region as well. The URL must be http or
// https, with a host and no query.
func WithSTSEndpoint(rawURL string) Option {
	return func(m *Method) error {
		u, err := url.Parse(strings.TrimSpace(rawURL))
		bad := func(problem string) error {
			return &gdsvault.ConfigError{Field: "aws sts endpoint", Problem: problem,
				Hint: "use a URL such as https://sts.eu-west-1.amazonaws.com/"}
		}
		switch {
		case err != nil:
			return bad("is not a URL")
		case u.Scheme != "https" && u.Scheme != "http":
			return bad(fmt.Sprintf("scheme %q is not http or https", u.Scheme))
		case u.Host == "":
			return bad("has no host")
		case u.User != nil:
			return bad("must not hold user information")
		case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
			return bad("must not have a query or fragment (Vault refuses a POST request URL with a query)")
		}
		if u.Path == "" {
			u.Path = "/"
		}
		// The signer drops a default port from the signed Host while Vault
		// would send it: drop it from the URL too, so both agree.
		if p := u.Port(); (u.Scheme == "https" && p == "443") || (u.Scheme == "http" && p == "80") {
			u.Host = u.Hostname()
		}
		m.stsURL = u.String()
		return nil
	}
}

// WithServerIDHeader adds the X-Vault-AWS-IAM-Server-ID header, with value,
// to the signed request. Use it when the auth method is configured with
// iam_server_id_header_value (it protects against replay of the signed
// request to another Vault); the value must be the same.
func WithServerIDHeader(value string) Option {
	return func(m *Method) error {
		if strings.TrimSpace(value) == "" {
			return &gdsvault.ConfigError{Field: "aws server ID header", Problem: "is empty",
				Hint: "pass Vault's iam_server_id_header_value, or leave the option out when Vault has none"}
		}
		if strings.ContainsFunc(value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			return &gdsvault.ConfigError{Field: "aws server ID header", Problem: "holds characters an HTTP header cannot carry (control characters such as a newline)",
				Hint: "pass Vault's iam_server_id_header_value as configured, usually a host name"}
		}
		m.serverID = value
		return nil
	}
}

// WithCredentialsProvider sets where the AWS credentials come from. Without
// it the SDK's standard chain is used (environment variables, shared
// configuration and credentials files, web identity, ECS task role, EC2
// instance role), loaded at the first login with that login's context: which
// sources it uses (and static keys from the environment) is settled then.
// Retrieve is called at every login; the provider caches and refreshes.
func WithCredentialsProvider(p aws.CredentialsProvider) Option {
	return func(m *Method) error {
		if f, ok := p.(aws.CredentialsProviderFunc); p == nil || ok && f == nil {
			return &gdsvault.ConfigError{Field: "aws credentials provider", Problem: "is nil",
				Hint: "leave the option out to use the standard AWS credential chain"}
		}
		m.provider = p
		m.custom = true
		return nil
	}
}

// Region is the region requests are signed for.
func (m *Method) Region() string { return m.region }

// STSEndpoint is the URL of the signed GetCallerIdentity request.
func (m *Method) STSEndpoint() string {
	if m.stsURL != "" {
		return m.stsURL
	}
	return regionalEndpoint(m.region)
}

// MountPath is the auth mount, without "auth/".
func (m *Method) MountPath() string { return m.mount }

// Role is the Vault role.
func (m *Method) Role() string { return m.role }

func regionalEndpoint(region string) string {
	if region == DefaultRegion {
		return "https://sts.amazonaws.com/"
	}
	return "https://sts." + region + ".amazonaws.com/"
}

// Login signs a GetCallerIdentity request and posts it to
// auth/<mount>/login. Vault's refusal matches gdsvault.ErrAuthFailed; a
// failure to get AWS credentials is a *CredentialsError.
func (m *Method) Login(ctx context.Context, c *gdsvault.Client) (*gdsvault.Auth, error) {
	if c == nil {
		return nil, &gdsvault.ConfigError{Field: "client", Problem: "is nil"}
	}
	data, err := m.loginData(ctx)
	if err != nil {
		return nil, err
	}
	return c.Login(ctx, "auth/"+m.mount+"/login", data)
}

// loginData builds the body of the login request.
func (m *Method) loginData(ctx context.Context) (map[string]any, error) {
	creds, err := m.credentials(ctx)
	if err != nil {
		return nil, err
	}
	endpoint := m.STSEndpoint()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(requestBody))
	if err != nil {
		return nil, &gdsvault.ConfigError{Field: "aws sts endpoint", Problem: "cannot build a request for " + endpoint}
	}
	req.Header.Set("Content-Type", contentType)
	if m.serverID != "" {
		req.Header.Set(ServerIDHeader, m.serverID)
	}
	sum := sha256.Sum256([]byte(requestBody))
	if err := m.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), stsService, m.region, m.now()); err != nil {
		// The signer fails only on malformed input; its errors hold no key.
		return nil, fmt.Errorf("gdsvault/auth/aws: signing the STS request: %w", err)
	}
	headers, err := json.Marshal(req.Header)
	if err != nil {
		return nil, fmt.Errorf("gdsvault/auth/aws: encoding the signed headers: %w", err)
	}
	b64 := base64.StdEncoding.EncodeToString
	return map[string]any{
		"role":                    m.role,
		"iam_http_request_method": http.MethodPost,
		"iam_request_url":         b64([]byte(endpoint)),
		"iam_request_body":        b64([]byte(requestBody)),
		"iam_request_headers":     b64(headers),
	}, nil
}

// credentials retrieves credentials for this login.
func (m *Method) credentials(ctx context.Context) (aws.Credentials, error) {
	p, err := m.credentialsProvider(ctx)
	if err != nil {
		return aws.Credentials{}, err
	}
	creds, err := p.Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, m.retrieveError(ctx, err)
	}
	if !creds.HasKeys() {
		return aws.Credentials{}, m.retrieveError(ctx, nil)
	}
	return creds, nil
}

// credentialsProvider returns the configured provider, or loads the default
// chain once (a failed load is tried again at the next login).
func (m *Method) credentialsProvider(ctx context.Context) (aws.CredentialsProvider, error) {
	if m.provider != nil {
		return m.provider, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.loaded != nil {
		return m.loaded, nil
	}
	// The region matters only to providers that call AWS themselves (web
	// identity, SSO); the environment's region wins over this default.
	cfg, err := config.LoadDefaultConfig(ctx, config.WithDefaultRegion(m.region))
	if err != nil {
		ce := &CredentialsError{
			Problem: "cannot load the AWS configuration",
			Hint:    "check AWS_PROFILE, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE and the files they name",
			Err:     err,
		}
		if ctx.Err() != nil {
			ce.Problem, ce.Hint = "loading the AWS configuration was interrupted", ""
		}
		return nil, ce
	}
	if cfg.Credentials == nil {
		return nil, &CredentialsError{Problem: noCredentialsProblem, Hint: noCredentialsHint}
	}
	m.loaded = cfg.Credentials
	return m.loaded, nil
}

const (
	noCredentialsProblem = "no AWS credentials found"
	noCredentialsHint    = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, " +
		"or run on an EC2 instance, ECS task or EKS pod with a role"
)

func (m *Method) retrieveError(ctx context.Context, err error) *CredentialsError {
	ce := &CredentialsError{Problem: noCredentialsProblem, Hint: noCredentialsHint, Err: err}
	switch {
	case ctx.Err() != nil:
		ce.Problem, ce.Hint = "getting AWS credentials was interrupted", ""
	case m.custom && err == nil:
		ce.Problem = "the AWS credentials provider returned no access key"
		ce.Hint = "check the provider passed to WithCredentialsProvider"
	case m.custom:
		ce.Problem = "the AWS credentials provider failed"
		ce.Hint = "check the provider passed to WithCredentialsProvider"
	}
	return ce
}

// String describes the method: mount, role, region, endpoint and where the
// credentials come from. It never shows a credential.
func (m *Method) String() string {
	if m == nil {
		return "aws auth <nil>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "aws auth (mount auth/%s, role %q, region %s, sts %s", m.mount, m.role, m.region, m.STSEndpoint())
	if m.serverID != "" {
		fmt.Fprintf(&b, ", server ID header %q", m.serverID)
	}
	if m.custom {
		b.WriteString(", credentials from a custom provider)")
	} else {
		b.WriteString(", credentials from the default AWS chain)")
	}
	return b.String()
}

// GoString is String, so that %#v cannot print a credentials provider.
func (m *Method) GoString() string { return m.String() }

// Format makes every fmt verb print String.
func (m *Method) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(m.String())) }

// LogValue logs String.
func (m *Method) LogValue() slog.Value { return slog.StringValue(m.String()) }

var _ gdsvault.AuthMethod = (*Method)(nil)

// MethodName names the method for metrics and traces (gdsvault.MethodNamer).
func (m *Method) MethodName() string { return "aws" }

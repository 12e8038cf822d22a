package auth

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/approle"
	"github.com/gdsvault/gdsvault/auth/azure"
	"github.com/gdsvault/gdsvault/auth/cert"
	"github.com/gdsvault/gdsvault/auth/gcp"
	"github.com/gdsvault/gdsvault/auth/jwt"
	"github.com/gdsvault/gdsvault/auth/kubernetes"
	"github.com/gdsvault/gdsvault/auth/token"
	"github.com/gdsvault/gdsvault/auth/userpass"
	"github.com/gdsvault/gdsvault/config"
)

// Decision says which method Detect chose and why.
type Decision struct {
	Method string
	Reason string
}

// Attempt is one method Detect considered and what it lacked.
type Attempt struct {
	Method  string
	Missing string
}

// NoMethodError: no auth method fits the configuration. It matches
// gdsvault.ErrConfig.
type NoMethodError struct {
	Environment string
	Tried       []Attempt
}

func (e *NoMethodError) Error() string {
	var b strings.Builder
	b.WriteString("gdsvault: no auth method fits this environment (" + e.Environment + "): ")
	for i, a := range e.Tried {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(a.Method + ": " + a.Missing)
	}
	b.WriteString(" (set VAULT_AUTH_METHOD and what it needs, or one of the above)")
	return b.String()
}

// Is matches gdsvault.ErrConfig.
func (e *NoMethodError) Is(target error) bool { return target == gdsvault.ErrConfig }

// Builder builds a method from the configuration (used for AWS, whose
// package is a separate module).
type Builder func(cfg *config.Config) (gdsvault.AuthMethod, error)

// Option changes Detect. An option given a bad value makes Detect (and
// NewClient) fail with a *gdsvault.ConfigError, several joined with
// errors.Join.
type Option func(*options) error

type options struct {
	aws Builder
}

// WithAWS lets Detect build the AWS IAM method (pass awsauth.FromConfig from
// github.com/gdsvault/gdsvault/auth/aws). A nil builder is a configuration
// error.
func WithAWS(b Builder) Option {
	return func(o *options) error {
		if b == nil {
			return &gdsvault.ConfigError{Field: "auth aws builder", Problem: "is nil",
				Hint: "pass awsauth.FromConfig from github.com/gdsvault/gdsvault/auth/aws, or leave auth.WithAWS out"}
		}
		o.aws = b
		return nil
	}
}

// configure checks Detect's arguments and applies its options.
func configure(cfg *config.Config, opts []Option) (options, error) {
	var o options
	var errs []error
	if cfg == nil {
		errs = append(errs, &gdsvault.ConfigError{Field: "auth config", Problem: "is nil",
			Hint: "pass the configuration of config.FromEnv or config.Load"})
	}
	for _, f := range opts {
		if f == nil {
			continue
		}
		if err := f(&o); err != nil {
			errs = append(errs, err)
		}
	}
	switch len(errs) {
	case 0:
		return o, nil
	case 1:
		return o, errs[0]
	}
	return o, errors.Join(errs...)
}

// Detect picks and builds the auth method (see the package doc for the
// order). A nil cfg or a bad option is a *gdsvault.ConfigError.
func Detect(cfg *config.Config, opts ...Option) (gdsvault.AuthMethod, Decision, error) {
	o, err := configure(cfg, opts)
	if err != nil {
		return nil, Decision{}, err
	}
	if cfg.AuthMethod != "" {
		m, err := build(cfg.AuthMethod, cfg, &o)
		return m, Decision{Method: cfg.AuthMethod, Reason: "VAULT_AUTH_METHOD=" + cfg.AuthMethod}, err
	}
	var tried []Attempt
	try := func(method, reason string) (gdsvault.AuthMethod, Decision, error) {
		m, err := build(method, cfg, &o)
		return m, Decision{Method: method, Reason: reason}, err
	}
	// 2. Kubernetes.
	switch {
	case cfg.Kubernetes.InPod && cfg.Role.Kubernetes != "":
		return try("kubernetes", "running in a Kubernetes pod with VAULT_K8S_ROLE set")
	case cfg.Kubernetes.InPod:
		tried = append(tried, Attempt{"kubernetes", "running in a pod, but VAULT_K8S_ROLE is not set"})
	default:
		tried = append(tried, Attempt{"kubernetes", "not in a pod (KUBERNETES_SERVICE_HOST is not set)"})
	}
	// 3. Cloud.
	for _, cl := range []struct{ method, role, env string }{
		{"aws", cfg.Role.AWS, "VAULT_AWS_ROLE"}, {"gcp", cfg.Role.GCP, "VAULT_GCP_ROLE"}, {"azure", cfg.Role.Azure, "VAULT_AZURE_ROLE"},
	} {
		if cl.role != "" {
			return try(cl.method, cl.env+" is set")
		}
		tried = append(tried, Attempt{cl.method, cl.env + " is not set"})
	}
	// 4. AppRole.
	if missing := approleMissing(cfg); missing == "" {
		return try("approle", "AppRole role ID and secret ID are set")
	} else {
		tried = append(tried, Attempt{"approle", missing})
	}
	// 5. Token.
	switch {
	case cfg.Token.IsZero():
		tried = append(tried, Attempt{"token", "VAULT_TOKEN is not set and there is no ~/.vault-token"})
	case strings.EqualFold(cfg.Environment, "production"):
		tried = append(tried, Attempt{"token", "a token is set, but token auth is for development; in production use a platform-native method, or set VAULT_AUTH_METHOD=token to insist"})
	default:
		return try("token", "a token is set ("+cfg.NameOf("token")+")")
	}
	return nil, Decision{}, &NoMethodError{Environment: cfg.Environment, Tried: tried}
}

func approleMissing(cfg *config.Config) string {
	var miss []string
	if cfg.AppRole.RoleID.IsZero() {
		miss = append(miss, cfg.NameOf("role_id"))
	}
	if cfg.AppRole.SecretID.IsZero() && cfg.AppRole.WrappedSecretID.IsZero() {
		miss = append(miss, cfg.NameOf("secret_id")+" (or VAULT_WRAPPED_SECRET_ID)")
	}
	if len(miss) == 0 {
		return ""
	}
	return strings.Join(miss, " and ") + " not set"
}

// needs reports the settings a method lacks, in the seed's words:
// "auth method approle needs VAULT_ROLE_ID and VAULT_SECRET_ID; VAULT_SECRET_ID is not set".
func needs(method string, required []string, missing []string) error {
	if len(missing) == 0 {
		return nil
	}
	return &gdsvault.ConfigError{Field: "auth method " + method,
		Problem: "needs " + strings.Join(required, " and ") + "; " + strings.Join(missing, " and ") + " " + isOrAre(missing) + " not set"}
}

func isOrAre(s []string) string {
	if len(s) == 1 {
		return "is"
	}
	return "are"
}

// build builds one method, or says what it lacks.
func build(method string, cfg *config.Config, o *options) (gdsvault.AuthMethod, error) {
	var missing []string
	lack := func(cond bool, name string) {
		if cond {
			missing = append(missing, name)
		}
	}
	mount := cfg.AuthMount
	switch method {
	case "token":
		lack(cfg.Token.IsZero(), "VAULT_TOKEN")
		if err := needs(method, []string{"VAULT_TOKEN (or ~/.vault-token)"}, missing); err != nil {
			return nil, err
		}
		if cfg.TokenFile != "" {
			return asMethod(token.New(gdsvault.CredentialFile(cfg.TokenFile)))
		}
		return asMethod(token.New(gdsvault.CredentialValue(cfg.Token.Reveal())))
	case "approle":
		lack(cfg.AppRole.RoleID.IsZero(), cfg.NameOf("role_id"))
		lack(cfg.AppRole.SecretID.IsZero() && cfg.AppRole.WrappedSecretID.IsZero(), cfg.NameOf("secret_id"))
		if err := needs(method, []string{cfg.NameOf("role_id"), cfg.NameOf("secret_id") + " (or VAULT_WRAPPED_SECRET_ID)"}, missing); err != nil {
			return nil, err
		}
		var opts []approle.Option
		if mount != "" {
			opts = append(opts, approle.WithMountPath(mount))
		}
		if cfg.AppRole.RoleName != "" {
			opts = append(opts, approle.WithRoleName(cfg.AppRole.RoleName))
		}
		secret := cfg.AppRole.SecretID
		if !cfg.AppRole.WrappedSecretID.IsZero() {
			opts = append(opts, approle.WithWrappedSecretID(cfg.AppRole.WrappedSecretID))
			secret = gdsvault.Credential{}
		}
		return asMethod(approle.New(cfg.AppRole.RoleID, secret, opts...))
	case "kubernetes":
		lack(cfg.Role.Kubernetes == "", "VAULT_K8S_ROLE")
		if err := needs(method, []string{"VAULT_K8S_ROLE"}, missing); err != nil {
			return nil, err
		}
		var opts []kubernetes.Option
		if mount != "" {
			opts = append(opts, kubernetes.WithMountPath(mount))
		}
		if cfg.Kubernetes.TokenPath != "" {
			opts = append(opts, kubernetes.WithToken(gdsvault.CredentialFile(cfg.Kubernetes.TokenPath)))
		}
		return asMethod(kubernetes.New(cfg.Role.Kubernetes, opts...))
	case "jwt":
		lack(cfg.Role.JWT == "", "VAULT_JWT_ROLE")
		lack(cfg.JWT.Token.IsZero(), cfg.NameOf("jwt"))
		if err := needs(method, []string{"VAULT_JWT_ROLE", "VAULT_JWT (or VAULT_JWT_FILE)"}, missing); err != nil {
			return nil, err
		}
		opts := []jwt.Option{jwt.WithToken(cfg.JWT.Token)}
		if mount != "" {
			opts = append(opts, jwt.WithMountPath(mount))
		}
		return asMethod(jwt.New(cfg.Role.JWT, opts...))
	case "userpass":
		lack(cfg.Userpass.Username == "", "VAULT_USERNAME")
		lack(cfg.Userpass.Password.IsZero(), cfg.NameOf("password"))
		if err := needs(method, []string{"VAULT_USERNAME", "VAULT_PASSWORD (or VAULT_PASSWORD_FILE)"}, missing); err != nil {
			return nil, err
		}
		var opts []userpass.Option
		if mount != "" {
			opts = append(opts, userpass.WithMountPath(mount))
		}
		return asMethod(userpass.New(cfg.Userpass.Username, cfg.Userpass.Password, opts...))
	case "cert":
		lack(cfg.TLS.ClientCert == "", "VAULT_CLIENT_CERT")
		lack(cfg.TLS.ClientKey == "", "VAULT_CLIENT_KEY")
		if err := needs(method, []string{"VAULT_CLIENT_CERT", "VAULT_CLIENT_KEY"}, missing); err != nil {
			return nil, err
		}
		opts := []cert.Option{cert.WithName(cfg.Role.Cert)}
		if mount != "" {
			opts = append(opts, cert.WithMountPath(mount))
		}
		return asMethod(cert.New(opts...))
	case "aws":
		lack(cfg.Role.AWS == "", "VAULT_AWS_ROLE")
		if err := needs(method, []string{"VAULT_AWS_ROLE"}, missing); err != nil {
			return nil, err
		}
		if o.aws == nil {
			return nil, &gdsvault.ConfigError{Field: "auth method aws", Problem: "is not linked into this program",
				Hint: "import github.com/gdsvault/gdsvault/auth/aws and pass auth.WithAWS(awsauth.FromConfig)"}
		}
		m, err := o.aws(cfg)
		if err != nil {
			return nil, err
		}
		if isNil(m) {
			return nil, &gdsvault.ConfigError{Field: "auth method aws", Problem: "the builder passed to auth.WithAWS returned no method and no error",
				Hint: "pass awsauth.FromConfig from github.com/gdsvault/gdsvault/auth/aws"}
		}
		return m, nil
	case "gcp":
		lack(cfg.Role.GCP == "", "VAULT_GCP_ROLE")
		if err := needs(method, []string{"VAULT_GCP_ROLE"}, missing); err != nil {
			return nil, err
		}
		var opts []gcp.Option
		if mount != "" {
			opts = append(opts, gcp.WithMountPath(mount))
		}
		if cfg.GCP.MetadataHost != "" {
			opts = append(opts, gcp.WithMetadataHost(cfg.GCP.MetadataHost))
		}
		if cfg.GCP.ServiceAccount != "" {
			opts = append(opts, gcp.WithIAMServiceAccount(cfg.GCP.ServiceAccount))
		}
		return asMethod(gcp.New(cfg.Role.GCP, opts...))
	case "azure":
		lack(cfg.Role.Azure == "", "VAULT_AZURE_ROLE")
		if err := needs(method, []string{"VAULT_AZURE_ROLE"}, missing); err != nil {
			return nil, err
		}
		var opts []azure.Option
		if mount != "" {
			opts = append(opts, azure.WithMountPath(mount))
		}
		if cfg.Azure.Resource != "" {
			opts = append(opts, azure.WithResource(cfg.Azure.Resource))
		}
		if cfg.Azure.AuthorityHost != "" {
			opts = append(opts, azure.WithAuthorityHost(cfg.Azure.AuthorityHost))
		}
		switch {
		case cfg.Azure.FederatedTokenFile != "":
			if cfg.Azure.TenantID == "" || cfg.Azure.ClientID == "" {
				return nil, needs(method+" (workload identity)", []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE"},
					missingOf(map[string]string{"AZURE_TENANT_ID": cfg.Azure.TenantID, "AZURE_CLIENT_ID": cfg.Azure.ClientID}))
			}
			opts = append(opts, azure.WithWorkloadIdentity(cfg.Azure.TenantID, cfg.Azure.ClientID, gdsvault.CredentialFile(cfg.Azure.FederatedTokenFile)))
		case cfg.Azure.ClientID != "":
			opts = append(opts, azure.WithClientID(cfg.Azure.ClientID))
		}
		return asMethod(azure.New(cfg.Role.Azure, opts...))
	}
	return nil, &gdsvault.ConfigError{Field: "auth method", Problem: "\"" + method + "\" is not supported", Hint: "use one of " + strings.Join(config.Methods, ", ")}
}

// asMethod turns a constructor's result into an AuthMethod, so that an error
// never comes with a non-nil interface holding a nil pointer.
func asMethod[M gdsvault.AuthMethod](m M, err error) (gdsvault.AuthMethod, error) {
	if err != nil {
		return nil, err
	}
	return m, nil
}

// isNil reports whether m is nil or holds a nil pointer, map, func...
// (which would panic at the first login).
func isNil(m gdsvault.AuthMethod) bool {
	if m == nil {
		return true
	}
	switch v := reflect.ValueOf(m); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Slice, reflect.Chan, reflect.Interface:
		return v.IsNil()
	}
	return false
}

func missingOf(m map[string]string) []string {
	var out []string
	for _, k := range []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID"} {
		if v, ok := m[k]; ok && v == "" {
			out = append(out, k)
		}
	}
	return out
}

// NewClient builds a client from cfg: its connection settings, the method
// Detect chooses, then extra options. When Detect fails, the client's own
// bad settings (cfg's and extra's) are reported in the same joined error, so
// that one run shows every problem.
func NewClient(cfg *config.Config, extra []gdsvault.Option, opts ...Option) (*gdsvault.Client, Decision, error) {
	m, d, err := Detect(cfg, opts...)
	if err != nil {
		if cfg != nil {
			// Only to validate: New does no I/O, and the client is closed at once.
			if c, cerr := gdsvault.New(append(cfg.Options(), extra...)...); cerr != nil {
				err = errors.Join(err, cerr)
			} else {
				_ = c.Close(context.Background())
			}
		}
		return nil, d, err
	}
	c, err := gdsvault.New(append(append(cfg.Options(), gdsvault.WithAuth(m)), extra...)...)
	return c, d, err
}

// FromEnv is the seed's VaultClient(): it reads the environment with lookup
// (os.LookupEnv when nil), picks the auth method and builds the client. The
// client logs in at its first request.
func FromEnv(lookup config.LookupFunc, extra ...gdsvault.Option) (*gdsvault.Client, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	cfg, err := config.FromEnv(lookup)
	if err != nil {
		return nil, err
	}
	c, _, err := NewClient(cfg, extra)
	return c, err
}

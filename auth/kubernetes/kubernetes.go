package kubernetes

import (
	"context"
	"errors"
	"strings"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/internal/login"
)

const (
	// DefaultTokenPath is where Kubernetes mounts a pod's service account
	// token.
	DefaultTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	// DefaultMountPath is the path Vault's kubernetes auth method is enabled
	// at by default (auth/kubernetes).
	DefaultMountPath = "kubernetes"
)

// Method logs in with a Kubernetes service account token. It implements
// gdsvault.AuthMethod, is safe for concurrent use and does not change after
// New.
type Method struct {
	login login.JWT
}

// Option configures a Method in New. An option given a bad value makes New
// fail with a *gdsvault.ConfigError.
type Option func(*Method) error

// New returns a Method that logs in as the Vault role role. Without options
// it reads the token from DefaultTokenPath and uses the mount
// DefaultMountPath.
func New(role string, opts ...Option) (*Method, error) {
	m := &Method{login: login.JWT{
		Method:     "kubernetes",
		Role:       strings.TrimSpace(role),
		Mount:      DefaultMountPath,
		Token:      gdsvault.CredentialFile(DefaultTokenPath),
		TokenError: tokenError,
	}}
	errs := []error{login.RequireRole("kubernetes", m.login.Role, "name the Vault role bound to this service account (auth/<mount>/role/<name>)")}
	errs = login.Apply(errs, m, opts)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// WithMountPath sets the path the kubernetes auth method is enabled at
// (default "kubernetes"). Surrounding slashes and an "auth/" prefix are ignored:
// "clusters/prod" and "/auth/clusters/prod/" both name auth/clusters/prod.
func WithMountPath(p string) Option {
	return func(m *Method) error { return login.SetMountPath(&m.login.Mount, "kubernetes", p) }
}

// WithToken sets where the service account token comes from (default:
// gdsvault.CredentialFile(DefaultTokenPath)). A file is read again at every
// login.
func WithToken(cred gdsvault.Credential) Option {
	return func(m *Method) error {
		if cred.IsZero() {
			return &gdsvault.ConfigError{Field: "kubernetes token", Problem: "is empty",
				Hint: "pass gdsvault.CredentialFile(path) of a service account token, or omit WithToken for " + DefaultTokenPath}
		}
		m.login.Token = cred
		return nil
	}
}

// Login reads the service account token (from its file, at every call) and
// logs in at auth/<mount>/login. A refusal matches gdsvault.ErrAuthFailed; a
// token that cannot be read matches gdsvault.ErrConfig.
func (m *Method) Login(ctx context.Context, c *gdsvault.Client) (*gdsvault.Auth, error) {
	return m.login.Login(ctx, c)
}

// tokenError names the Kubernetes token in a credential's load error.
func tokenError(cred gdsvault.Credential, err error) error {
	err = login.CredentialError(err, "kubernetes service account token", "the file must hold a service account token (a JWT)")
	var ce *gdsvault.ConfigError
	if cred.File() == DefaultTokenPath && errors.As(err, &ce) {
		ce.Hint = "Kubernetes mounts this file into pods whose service account token is automounted; " +
			"outside a pod pass kubernetes.WithToken(gdsvault.CredentialFile(path))"
	}
	return err
}

// Role is the Vault role the method logs in as.
func (m *Method) Role() string { return m.login.Role }

// MountPath is the auth mount, without "auth/".
func (m *Method) MountPath() string { return m.login.Mount }

// String names the role and the mount, never the token.
func (m *Method) String() string {
	if m == nil {
		return "kubernetes(<nil>)"
	}
	return m.login.String()
}

// GoString is String, so that %#v does not print the fields either.
func (m *Method) GoString() string { return m.String() }

// MethodName names the method for metrics and traces (gdsvault.MethodNamer).
func (m *Method) MethodName() string { return "kubernetes" }

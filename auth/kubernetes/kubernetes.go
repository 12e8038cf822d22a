package kubernetes

import (
	"context"
	"errors"
	"strings"

	"github.com/gdsvault/gdsvault"
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
	role  string
	mount string
	token gdsvault.Credential
}

// Option configures a Method in New. An option given a bad value makes New
// fail with a *gdsvault.ConfigError.
type Option func(*Method) error

// New returns a Method that logs in as the Vault role role. Without options
// it reads the token from DefaultTokenPath and uses the mount
// DefaultMountPath.
func New(role string, opts ...Option) (*Method, error) {
	m := &Method{
		role:  strings.TrimSpace(role),
		mount: DefaultMountPath,
		token: gdsvault.CredentialFile(DefaultTokenPath),
	}
	var errs []error
	if m.role == "" {
		errs = append(errs, &gdsvault.ConfigError{Field: "kubernetes role", Problem: "is empty",
			Hint: "name the Vault role bound to this service account (auth/<mount>/role/<name>)"})
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(m); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

// WithMountPath sets the path the kubernetes auth method is enabled at
// (default "kubernetes"). Surrounding slashes and an "auth/" prefix are ignored:
// "clusters/prod" and "/auth/clusters/prod/" both name auth/clusters/prod.
func WithMountPath(p string) Option {
	return func(m *Method) error {
		mount, err := gdsvault.CleanMountPath("kubernetes", p)
		if err != nil {
			return err
		}
		m.mount = mount
		return nil
	}
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
		m.token = cred
		return nil
	}
}

// Login reads the service account token (from its file, at every call) and
// logs in at auth/<mount>/login. A refusal matches gdsvault.ErrAuthFailed; a
// token that cannot be read matches gdsvault.ErrConfig.
func (m *Method) Login(ctx context.Context, c *gdsvault.Client) (*gdsvault.Auth, error) {
	if c == nil {
		return nil, &gdsvault.ConfigError{Field: "client", Problem: "is nil"}
	}
	jwt, err := m.token.Load()
	if err != nil {
		return nil, tokenError(m.token, err)
	}
	return c.Login(ctx, "auth/"+m.mount+"/login", map[string]any{"role": m.role, "jwt": jwt.Reveal()})
}

// tokenError names the Kubernetes token in a credential's load error.
func tokenError(cred gdsvault.Credential, err error) error {
	var ce *gdsvault.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	hint := ce.Hint
	switch {
	case cred.File() == DefaultTokenPath:
		hint = "Kubernetes mounts this file into pods whose service account token is automounted; " +
			"outside a pod pass kubernetes.WithToken(gdsvault.CredentialFile(path))"
	case hint == "":
		hint = "the file must hold a service account token (a JWT)"
	}
	return &gdsvault.ConfigError{Field: "kubernetes service account token", Problem: ce.Problem, Hint: hint}
}

// Role is the Vault role the method logs in as.
func (m *Method) Role() string { return m.role }

// MountPath is the auth mount, without "auth/".
func (m *Method) MountPath() string { return m.mount }

// String names the role and the mount, never the token.
func (m *Method) String() string {
	if m == nil {
		return "kubernetes(<nil>)"
	}
	return "kubernetes(role=" + m.role + ", mount=" + m.mount + ")"
}

// GoString is String, so that %#v does not print the fields either.
func (m *Method) GoString() string { return m.String() }

// MethodName names the method for metrics and traces (gdsvault.MethodNamer).
func (m *Method) MethodName() string { return "kubernetes" }

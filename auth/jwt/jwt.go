package jwt

import (
	"context"
	"errors"
	"strings"

	"github.com/gdsvault/gdsvault"
)

// DefaultMountPath is the path Vault's jwt auth method is enabled at by
// default (auth/jwt).
const DefaultMountPath = "jwt"

// Method logs in with a JWT. It implements gdsvault.AuthMethod, is safe for
// concurrent use and does not change after New.
type Method struct {
	role  string
	mount string
	token gdsvault.Credential
}

// Option configures a Method in New. An option given a bad value makes New
// fail with a *gdsvault.ConfigError.
type Option func(*Method) error

// New returns a Method that logs in as the Vault role role with the token
// given by WithToken, which is required.
func New(role string, opts ...Option) (*Method, error) {
	m := &Method{role: strings.TrimSpace(role), mount: DefaultMountPath}
	var errs []error
	if m.role == "" {
		errs = append(errs, &gdsvault.ConfigError{Field: "jwt role", Problem: "is empty",
			Hint: "name the Vault role to log in as (auth/<mount>/role/<name>)"})
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(m); err != nil {
			errs = append(errs, err)
		}
	}
	if m.token.IsZero() && !hasTokenError(errs) {
		errs = append(errs, &gdsvault.ConfigError{Field: "jwt token", Problem: "is not set",
			Hint: "pass jwt.WithToken(gdsvault.CredentialFile(path)) with the file your token issuer writes"})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

// hasTokenError reports whether WithToken already reported its problem.
func hasTokenError(errs []error) bool {
	for _, err := range errs {
		var ce *gdsvault.ConfigError
		if errors.As(err, &ce) && ce.Field == "jwt token" {
			return true
		}
	}
	return false
}

// WithMountPath sets the path the jwt auth method is enabled at (default
// "jwt"). Surrounding slashes and an "auth/" prefix are ignored: "ci/gitlab"
// and "/auth/ci/gitlab/" both name auth/ci/gitlab.
func WithMountPath(p string) Option {
	return func(m *Method) error {
		mount, err := gdsvault.CleanMountPath("jwt", p)
		if err != nil {
			return err
		}
		m.mount = mount
		return nil
	}
}

// WithToken sets where the JWT comes from: usually
// gdsvault.CredentialFile(path), read again at every login. Required.
func WithToken(cred gdsvault.Credential) Option {
	return func(m *Method) error {
		if cred.IsZero() {
			return &gdsvault.ConfigError{Field: "jwt token", Problem: "is empty",
				Hint: "pass gdsvault.CredentialFile(path) with the file your token issuer writes"}
		}
		m.token = cred
		return nil
	}
}

// Login reads the JWT (from its file, at every call) and logs in at
// auth/<mount>/login. A refusal matches gdsvault.ErrAuthFailed; a token that
// cannot be read matches gdsvault.ErrConfig.
func (m *Method) Login(ctx context.Context, c *gdsvault.Client) (*gdsvault.Auth, error) {
	if c == nil {
		return nil, &gdsvault.ConfigError{Field: "client", Problem: "is nil"}
	}
	jwt, err := m.token.Load()
	if err != nil {
		var ce *gdsvault.ConfigError
		if errors.As(err, &ce) {
			hint := ce.Hint
			if hint == "" {
				hint = "the file must hold a JWT (header.payload.signature)"
			}
			return nil, &gdsvault.ConfigError{Field: "jwt token", Problem: ce.Problem, Hint: hint}
		}
		return nil, err
	}
	return c.Login(ctx, "auth/"+m.mount+"/login", map[string]any{"role": m.role, "jwt": jwt.Reveal()})
}

// Role is the Vault role the method logs in as.
func (m *Method) Role() string { return m.role }

// MountPath is the auth mount, without "auth/".
func (m *Method) MountPath() string { return m.mount }

// String names the role and the mount, never the token.
func (m *Method) String() string {
	if m == nil {
		return "jwt(<nil>)"
	}
	return "jwt(role=" + m.role + ", mount=" + m.mount + ")"
}

// GoString is String, so that %#v does not print the fields either.
func (m *Method) GoString() string { return m.String() }

// MethodName names the method for metrics and traces (gdsvault.MethodNamer).
func (m *Method) MethodName() string { return "jwt" }

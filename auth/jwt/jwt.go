package jwt

import (
	"context"
	"errors"
	"strings"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/internal/login"
)

// DefaultMountPath is the path Vault's jwt auth method is enabled at by
// default (auth/jwt).
const DefaultMountPath = "jwt"

// Method logs in with a JWT. It implements gdsvault.AuthMethod, is safe for
// concurrent use and does not change after New.
type Method struct {
	login login.JWT
}

// Option configures a Method in New. An option given a bad value makes New
// fail with a *gdsvault.ConfigError.
type Option func(*Method) error

// New returns a Method that logs in as the Vault role role with the token
// given by WithToken, which is required.
func New(role string, opts ...Option) (*Method, error) {
	m := &Method{login: login.JWT{Method: "jwt", Role: strings.TrimSpace(role), Mount: DefaultMountPath, TokenError: tokenError}}
	errs := []error{login.RequireRole("jwt", m.login.Role, "name the Vault role to log in as (auth/<mount>/role/<name>)")}
	errs = login.Apply(errs, m, opts)
	if m.login.Token.IsZero() && !hasTokenError(errs) {
		errs = append(errs, &gdsvault.ConfigError{Field: "jwt token", Problem: "is not set",
			Hint: "pass jwt.WithToken(gdsvault.CredentialFile(path)) with the file your token issuer writes"})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
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
	return func(m *Method) error { return login.SetMountPath(&m.login.Mount, "jwt", p) }
}

// WithToken sets where the JWT comes from: usually
// gdsvault.CredentialFile(path), read again at every login. Required.
func WithToken(cred gdsvault.Credential) Option {
	return func(m *Method) error {
		if cred.IsZero() {
			return &gdsvault.ConfigError{Field: "jwt token", Problem: "is empty",
				Hint: "pass gdsvault.CredentialFile(path) with the file your token issuer writes"}
		}
		m.login.Token = cred
		return nil
	}
}

// Login reads the JWT (from its file, at every call) and logs in at
// auth/<mount>/login. A refusal matches gdsvault.ErrAuthFailed; a token that
// cannot be read matches gdsvault.ErrConfig.
func (m *Method) Login(ctx context.Context, c *gdsvault.Client) (*gdsvault.Auth, error) {
	return m.login.Login(ctx, c)
}

// tokenError names the JWT in a credential's load error.
func tokenError(_ gdsvault.Credential, err error) error {
	return login.CredentialError(err, "jwt token", "the file must hold a JWT (header.payload.signature)")
}

// Role is the Vault role the method logs in as.
func (m *Method) Role() string { return m.login.Role }

// MountPath is the auth mount, without "auth/".
func (m *Method) MountPath() string { return m.login.Mount }

// String names the role and the mount, never the token.
func (m *Method) String() string {
	if m == nil {
		return "jwt(<nil>)"
	}
	return m.login.String()
}

// GoString is String, so that %#v does not print the fields either.
func (m *Method) GoString() string { return m.String() }

// MethodName names the method for metrics and traces (gdsvault.MethodNamer).
func (m *Method) MethodName() string { return "jwt" }

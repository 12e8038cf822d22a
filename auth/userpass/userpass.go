// Package userpass logs in with Vault's userpass auth method.
package userpass

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/internal/login"
)

// DefaultMountPath is where userpass is mounted unless WithMountPath says otherwise.
const DefaultMountPath = "userpass"

// Method logs in with a username and a password.
type Method struct {
	username string
	password gdsvault.Credential
	mount    string
}

// Option configures a Method.
type Option func(*Method) error

// WithMountPath sets the mount (default "userpass").
func WithMountPath(p string) Option {
	return func(m *Method) error { return login.SetMountPath(&m.mount, "userpass", p) }
}

// New returns a userpass method; the password is a value or a file re-read
// at every login. Every missing or bad setting is a *gdsvault.ConfigError,
// several joined with errors.Join.
func New(username string, password gdsvault.Credential, opts ...Option) (*Method, error) {
	m := &Method{username: strings.TrimSpace(username), password: password, mount: DefaultMountPath}
	errs := login.Apply(nil, m, opts)
	if m.username == "" {
		errs = append(errs, &gdsvault.ConfigError{Field: "username", Problem: "is not set", Hint: "set VAULT_USERNAME"})
	}
	if password.IsZero() {
		errs = append(errs, &gdsvault.ConfigError{Field: "password", Problem: "is not set", Hint: "set VAULT_PASSWORD or VAULT_PASSWORD_FILE"})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

// Login logs in at auth/<mount>/login/<username>.
func (m *Method) Login(ctx context.Context, c *gdsvault.Client) (*gdsvault.Auth, error) {
	if c == nil {
		return nil, &gdsvault.ConfigError{Field: "client", Problem: "is nil"}
	}
	pw, err := m.password.Load()
	if err != nil {
		return nil, err
	}
	return c.Login(ctx, "auth/"+m.mount+"/login/"+url.PathEscape(m.username), map[string]any{"password": pw.Reveal()})
}

// String names the user and mount, never the password.
func (m *Method) String() string {
	return "userpass(mount=" + m.mount + ", username=" + m.username + ", password=" + m.password.String() + ")"
}

// MethodName names the method for metrics and traces (gdsvault.MethodNamer).
func (m *Method) MethodName() string { return "userpass" }

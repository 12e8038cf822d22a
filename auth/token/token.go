// Package token "logs in" with an existing Vault token (VAULT_TOKEN, or the
// token file the vault CLI writes): it looks the token up to learn its TTL,
// renewability and policies. A token file is read again at every login, so a
// token rotated by an agent is picked up; a fixed token cannot be
// re-obtained once it expires.
//
// Token authentication is for development; production should use a
// platform-native method (see package auth).
package token

import (
	"context"
	"errors"

	"github.com/gdsvault/gdsvault"
)

// Method uses an existing token.
type Method struct {
	tok gdsvault.Credential
}

// New returns a token method. Use gdsvault.CredentialFile for a token file.
func New(tok gdsvault.Credential) (*Method, error) {
	if tok.IsZero() {
		return nil, &gdsvault.ConfigError{Field: "token", Problem: "is not set", Hint: "set VAULT_TOKEN or write ~/.vault-token (vault login)"}
	}
	return &Method{tok: tok}, nil
}

// Login loads the token and looks it up. An invalid token is
// gdsvault.ErrInvalidToken (and gdsvault.ErrAuthFailed).
func (m *Method) Login(ctx context.Context, c *gdsvault.Client) (*gdsvault.Auth, error) {
	if c == nil {
		return nil, &gdsvault.ConfigError{Field: "client", Problem: "is nil"}
	}
	t, err := m.tok.Load()
	if err != nil {
		return nil, err
	}
	a, err := c.LookupToken(ctx, t)
	if err != nil && errors.Is(err, gdsvault.ErrPermissionDenied) && !errors.Is(err, gdsvault.ErrInvalidToken) {
		// A valid token without the default policy may not look itself
		// up: use it with an unknown TTL.
		return &gdsvault.Auth{ClientToken: t}, nil
	}
	return a, err
}

// Reobtainable reports whether a later Login can return a new token (only
// when the token comes from a file that something else refreshes).
func (m *Method) Reobtainable() bool { return m.tok.File() != "" }

// String names the source, never the token.
func (m *Method) String() string { return "token(" + m.tok.String() + ")" }

// MethodName names the method for metrics and traces (gdsvault.MethodNamer).
func (m *Method) MethodName() string { return "token" }

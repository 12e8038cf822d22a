// Package cert logs in with Vault's TLS certificate auth method. The client
// certificate itself is a TLS setting of the client (gdsvault.WithTLS with
// ClientCert and ClientKey, or VAULT_CLIENT_CERT and VAULT_CLIENT_KEY); this
// method only names the certificate role to match.
package cert

import (
	"context"
	"strings"

	"github.com/gdsvault/gdsvault"
)

// DefaultMountPath is where cert auth is mounted unless WithMountPath says otherwise.
const DefaultMountPath = "cert"

// Method logs in with the client's TLS certificate.
type Method struct {
	name  string
	mount string
}

// Option configures a Method.
type Option func(*Method) error

// WithMountPath sets the mount (default "cert").
func WithMountPath(p string) Option {
	return func(m *Method) error {
		mount, err := gdsvault.CleanMountPath("cert", p)
		if err != nil {
			return err
		}
		m.mount = mount
		return nil
	}
}

// WithName names the certificate role to try (default: every role that
// matches the certificate).
func WithName(name string) Option {
	return func(m *Method) error { m.name = strings.TrimSpace(name); return nil }
}

// New returns a cert method.
func New(opts ...Option) (*Method, error) {
	m := &Method{mount: DefaultMountPath}
	for _, o := range opts {
		if err := o(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Login logs in at auth/<mount>/login over the client's TLS connection.
func (m *Method) Login(ctx context.Context, c *gdsvault.Client) (*gdsvault.Auth, error) {
	body := map[string]any{}
	if m.name != "" {
		body["name"] = m.name
	}
	return c.Login(ctx, "auth/"+m.mount+"/login", body)
}

// String names the role and mount.
func (m *Method) String() string { return "cert(mount=" + m.mount + ", name=" + m.name + ")" }

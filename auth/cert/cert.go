// Package cert logs in with Vault's TLS certificate auth method. The client
// certificate itself is a TLS setting of the client (gdsvault.WithTLS with
// ClientCert and ClientKey, or VAULT_CLIENT_CERT and VAULT_CLIENT_KEY); this
// method only names the certificate role to match.
package cert

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/internal/login"
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
	return func(m *Method) error { return login.SetMountPath(&m.mount, "cert", p) }
}

// nameRE is Vault's name rule for cert roles: word characters, '-' and
// '.', starting and ending with a word character.
var nameRE = regexp.MustCompile(`^\w([\w.-]*\w)?$`)

// WithName names the certificate role to try (default, or "": every role
// that matches the certificate). A name Vault would not accept for a role is
// a configuration error.
func WithName(name string) Option {
	return func(m *Method) error {
		n := strings.TrimSpace(name)
		if n != "" && !nameRE.MatchString(n) {
			q := n
			if len(q) > 80 {
				q = q[:80] + "..."
			}
			return &gdsvault.ConfigError{Field: "cert role name", Problem: "is not a valid role name: " + strconv.Quote(q),
				Hint: "give the name of a role of auth/<mount>/certs (letters, digits, '_', '-', '.'; VAULT_CERT_ROLE), or leave it empty to try every role"}
		}
		m.name = n
		return nil
	}
}

// New returns a cert method. Bad options make New fail with
// *gdsvault.ConfigError (several at once joined with errors.Join).
func New(opts ...Option) (*Method, error) {
	m := &Method{mount: DefaultMountPath}
	if err := errors.Join(login.Apply(nil, m, opts)...); err != nil {
		return nil, err
	}
	return m, nil
}

// Login logs in at auth/<mount>/login over the client's TLS connection.
func (m *Method) Login(ctx context.Context, c *gdsvault.Client) (*gdsvault.Auth, error) {
	if c == nil {
		return nil, &gdsvault.ConfigError{Field: "client", Problem: "is nil"}
	}
	body := map[string]any{}
	if m.name != "" {
		body["name"] = m.name
	}
	return c.Login(ctx, "auth/"+m.mount+"/login", body)
}

// String names the role and mount.
func (m *Method) String() string { return "cert(mount=" + m.mount + ", name=" + m.name + ")" }

// MethodName names the method for metrics and traces (gdsvault.MethodNamer).
func (m *Method) MethodName() string { return "cert" }

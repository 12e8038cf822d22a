// Package approle logs in with Vault's AppRole auth method: a role ID and a
// secret ID, each a fixed value or a file re-read at every login, or a
// response-wrapped secret ID that is checked and unwrapped once.
//
// The seed's AppRole examples in Go:
//
//	m, err := approle.New(
//		gdsvault.CredentialValue(os.Getenv("VAULT_ROLE_ID")),
//		gdsvault.CredentialFile("/run/secrets/secret-id"),   // or CredentialValue
//		approle.WithMountPath("approle"),                    // the seed's auth_mount_path
//	)
//	client, err := gdsvault.New(gdsvault.WithAddress(addr), gdsvault.WithAuth(m))
//
// and with a wrapped secret ID (the seed's VAULT_WRAPPED_SECRET_ID):
//
//	m, err := approle.New(roleID, gdsvault.Credential{},
//		approle.WithWrappedSecretID(gdsvault.CredentialValue(os.Getenv("VAULT_WRAPPED_SECRET_ID"))),
//		approle.WithRoleName("myapp"))
package approle

import (
	"context"
	"errors"
	"path"
	"regexp"
	"strings"
	"sync"
	"weak"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/internal/login"
)

// DefaultMountPath is where AppRole is mounted unless WithMountPath says otherwise.
const DefaultMountPath = "approle"

// Method logs in with AppRole. It is safe for concurrent use.
type Method struct {
	roleID       gdsvault.Credential
	secretID     gdsvault.Credential
	wrapped      gdsvault.Credential
	mount        string
	roleName     string
	wrappingPath string
	noSecretID   bool

	mu            sync.Mutex
	unwrapped     gdsvault.Token                // the secret ID unwrapped from unwrappedFrom
	unwrappedFrom gdsvault.Token                // the wrapping token it came from
	failed        gdsvault.Token                // a wrapping token that failed its check or its unwrap
	failedOn      weak.Pointer[gdsvault.Client] // the client it failed with (weak: a closed client is not kept alive)
	failedErr     error                         // why: returned again, without a request, to that client while the credential holds failed
	lastOK        gdsvault.Token                // the last secret ID that logged in
}

// Option configures a Method.
type Option func(*Method) error

// WithMountPath sets the AppRole mount (default "approle").
func WithMountPath(p string) Option {
	return func(m *Method) error { return login.SetMountPath(&m.mount, "approle", p) }
}

// WithWrappedSecretID takes the secret ID from a response-wrapping token
// instead (VAULT_WRAPPED_SECRET_ID). The token is looked up, its creation
// path checked, and unwrapped once, at the first login. A token that fails
// its check or its unwrap (gdsvault.ErrWrappingTampered) is never tried
// again by that client: later logins return the same error at once, without
// a request, until the credential holds another token (a file is re-read at
// every login for that) or the client is replaced.
func WithWrappedSecretID(wrappingToken gdsvault.Credential) Option {
	return func(m *Method) error {
		if wrappingToken.IsZero() {
			return &gdsvault.ConfigError{Field: "wrapped secret ID", Problem: "is empty", Hint: "set VAULT_WRAPPED_SECRET_ID"}
		}
		m.wrapped = wrappingToken
		return nil
	}
}

// roleNameRE is Vault's name rule for AppRole roles: word characters, '-'
// and '.', starting and ending with a word character.
var roleNameRE = regexp.MustCompile(`^\w([\w.-]*\w)?$`)

// WithRoleName names the role, so that a wrapped secret ID must have been
// created at exactly auth/<mount>/role/<name>/secret-id. A name Vault would
// not accept for a role (empty, or with characters other than letters,
// digits, '_', '-' and '.') is a configuration error.
func WithRoleName(name string) Option {
	return func(m *Method) error {
		n := strings.TrimSpace(name)
		if !roleNameRE.MatchString(n) {
			problem := "is not a valid AppRole role name: " + quote(name)
			if n == "" {
				problem = "is empty"
			}
			return &gdsvault.ConfigError{Field: "approle role name", Problem: problem,
				Hint: "give the role's name (letters, digits, '_', '-', '.'; VAULT_APPROLE_NAME), or leave the option out to accept any role of the mount"}
		}
		m.roleName = n
		return nil
	}
}

// WithWrappingPath sets the path.Match pattern a wrapping token's creation
// path must match (default auth/<mount>/role/<name or *>/secret-id). An
// empty or malformed pattern is a configuration error; a leading '/' is
// dropped (Vault's creation paths have none).
func WithWrappingPath(pattern string) Option {
	return func(m *Method) error {
		p := strings.TrimLeft(strings.TrimSpace(pattern), "/")
		if p == "" {
			return &gdsvault.ConfigError{Field: "approle wrapping path", Problem: "is empty",
				Hint: "give a path.Match pattern such as auth/approle/role/*/secret-id, or leave the option out for that default"}
		}
		if _, err := path.Match(p, ""); err != nil {
			return &gdsvault.ConfigError{Field: "approle wrapping path", Problem: "is not a valid path.Match pattern: " + quote(pattern),
				Hint: "e.g. auth/approle/role/*/secret-id"}
		}
		m.wrappingPath = p
		return nil
	}
}

// quote quotes a user-supplied value for a message, cut to a readable length.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}

// WithoutSecretID is for roles created with bind_secret_id=false.
func WithoutSecretID() Option { return func(m *Method) error { m.noSecretID = true; return nil } }

// New returns an AppRole method. secretID may be empty when
// WithWrappedSecretID or WithoutSecretID is given. Every missing or bad
// setting is a *gdsvault.ConfigError, several joined with errors.Join.
func New(roleID, secretID gdsvault.Credential, opts ...Option) (*Method, error) {
	m := &Method{roleID: roleID, secretID: secretID, mount: DefaultMountPath}
	errs := login.Apply(nil, m, opts)
	if roleID.IsZero() {
		errs = append(errs, &gdsvault.ConfigError{Field: "role ID", Problem: "is not set",
			Hint: "set VAULT_ROLE_ID (read it with `vault read auth/approle/role/<role>/role-id`)"})
	}
	n := 0
	for _, set := range []bool{!secretID.IsZero(), !m.wrapped.IsZero(), m.noSecretID} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		errs = append(errs, &gdsvault.ConfigError{Field: "secret ID", Problem: "is not set",
			Hint: "set VAULT_SECRET_ID, VAULT_SECRET_ID_FILE or VAULT_WRAPPED_SECRET_ID"})
	case n > 1:
		errs = append(errs, &gdsvault.ConfigError{Field: "secret ID", Problem: "more than one of secret ID, wrapped secret ID and WithoutSecretID is set",
			Hint: "give exactly one"})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if m.wrappingPath == "" {
		role := m.roleName
		if role == "" {
			role = "*"
		}
		m.wrappingPath = "auth/" + m.mount + "/role/" + role + "/secret-id"
	}
	return m, nil
}

// String names the mount and credential sources, never their values.
func (m *Method) String() string {
	s := "approle(mount=" + m.mount + ", role_id=" + m.roleID.String()
	switch {
	case !m.wrapped.IsZero():
		s += ", secret_id=wrapped " + m.wrapped.String()
	case m.noSecretID:
		s += ", no secret_id"
	default:
		s += ", secret_id=" + m.secretID.String()
	}
	return s + ")"
}

// MountPath is the AppRole mount.
func (m *Method) MountPath() string { return m.mount }

// Login logs in. A wrapped secret ID is unwrapped at the first call and kept
// in memory for later logins; a refused wrapping token is
// gdsvault.ErrWrappingTampered, returned again at once (no request) by later
// logins with the same client until the credential holds another wrapping
// token. A secret ID that
// logged in before and is now refused is reported as probably used up or
// expired.
func (m *Method) Login(ctx context.Context, c *gdsvault.Client) (*gdsvault.Auth, error) {
	if c == nil {
		return nil, &gdsvault.ConfigError{Field: "client", Problem: "is nil"}
	}
	roleID, err := m.roleID.Load()
	if err != nil {
		return nil, err
	}
	body := map[string]any{"role_id": roleID.Reveal()}
	var secretID gdsvault.Token
	if !m.noSecretID {
		if secretID, err = m.loadSecretID(ctx, c); err != nil {
			return nil, err
		}
		body["secret_id"] = secretID.Reveal()
	}
	a, err := c.Login(ctx, "auth/"+m.mount+"/login", body)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		var re *gdsvault.ResponseError
		if !m.lastOK.IsZero() && m.lastOK.Equal(secretID) && errors.Is(err, gdsvault.ErrAuthFailed) && errors.As(err, &re) {
			re.Hint = "this secret ID logged in before and is now refused: it is used up (secret_id_num_uses) or expired (secret_id_ttl); deliver a new one"
		}
		return nil, err
	}
	m.lastOK = secretID
	return a, nil
}

// loadSecretID returns the secret ID: the credential's, or the one
// unwrapped from the wrapping token. The wrapping credential is loaded at
// every call (a file is re-read) so that a new token is noticed:
//   - the token already unwrapped: its secret ID, no request;
//   - the token that already failed with this client: the same error, no
//     request (a dead or tampered token stays dead; probing it again would
//     only repeat the alert). Another client (a new one after Close, another
//     Vault) checks it once again, and is then the one remembered;
//   - another token: looked up, checked and unwrapped.
//
// A file that can no longer be read after a successful unwrap (deleted once
// consumed) keeps the secret ID already unwrapped.
func (m *Method) loadSecretID(ctx context.Context, c *gdsvault.Client) (gdsvault.Token, error) {
	if m.wrapped.IsZero() {
		return m.secretID.Load()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	wt, err := m.wrapped.Load()
	switch {
	case err != nil && !m.unwrapped.IsZero():
		return m.unwrapped, nil
	case err != nil:
		return gdsvault.Token{}, err
	case !m.unwrapped.IsZero() && wt.Equal(m.unwrappedFrom):
		return m.unwrapped, nil
	case !m.failed.IsZero() && m.failedOn == weak.Make(c) && wt.Equal(m.failed):
		return gdsvault.Token{}, m.failedErr
	}
	s, err := c.Unwrap(ctx, wt, m.wrappingPath)
	if err == nil {
		if id, _ := s.Data["secret_id"].(string); id != "" {
			m.unwrapped, m.unwrappedFrom = gdsvault.NewToken(id), wt
			m.failed, m.failedOn, m.failedErr = gdsvault.Token{}, weak.Pointer[gdsvault.Client]{}, nil
			return m.unwrapped, nil
		}
		err = &gdsvault.WrappingError{Reason: "the wrapped answer holds no secret_id", Expected: m.wrappingPath}
	}
	if errors.Is(err, gdsvault.ErrWrappingTampered) {
		// Terminal for this token: it is unknown, used, or not ours.
		m.failed, m.failedOn, m.failedErr = wt, weak.Make(c), err
	}
	return gdsvault.Token{}, err
}

// MethodName names the method for metrics and traces (gdsvault.MethodNamer).
func (m *Method) MethodName() string { return "approle" }

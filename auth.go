package gdsvault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
)

// TokenSource supplies the token a request carries. Implementations must be
// safe for concurrent use. The context bounds only the caller's wait.
type TokenSource interface {
	Token(ctx context.Context) (Token, error)
}

// TokenSourceFunc adapts a function to TokenSource.
type TokenSourceFunc func(ctx context.Context) (Token, error)

// Token calls f.
func (f TokenSourceFunc) Token(ctx context.Context) (Token, error) { return f(ctx) }

// StaticToken is a TokenSource that always returns the same token, as with
// VAULT_TOKEN. It does not renew anything.
func StaticToken(t Token) TokenSource { return staticToken{t} }

type staticToken struct{ t Token }

func (s staticToken) Token(context.Context) (Token, error) {
	if s.t.IsZero() {
		return Token{}, &ConfigError{Field: "token", Problem: "the token is empty", Hint: "set VAULT_TOKEN or pass a token"}
	}
	return s.t, nil
}

// TokenFeedback is a TokenSource that learns from Vault's answers. The
// client calls TokenAccepted after a request carrying t succeeded, and
// TokenRefused after Vault answered that t is invalid (revoked, expired,
// unknown); it then asks Token again and sends the request once more with
// the new token (at most twice per attempt). A client built WithAuth uses
// one inside; implement it in your own TokenSource (WithTokenSource) to get
// the same recovery. Both calls must be quick and safe for concurrent use.
type TokenFeedback interface {
	TokenSource
	TokenAccepted(t Token)
	TokenRefused(t Token, err error)
}

// SuppliedToken is implemented by auth methods that hand over a token the
// user already holds instead of logging in (auth/token: VAULT_TOKEN,
// ~/.vault-token). The client renews such a token but, being the user's, does
// not revoke it at Close (unless WithRevokeOnClose(true)). Reobtainable
// reports whether a later Login may return a new token (a token file that
// someone rewrites); when it cannot, the client uses the token until its max
// TTL and then reports EventExpired instead of logging in.
type SuppliedToken interface {
	AuthMethod
	Reobtainable() bool
}

// AuthMethod logs in to Vault. Login receives a client without a token (it
// carries the address, namespace and TLS settings) and returns what Vault
// answered in its "auth" block. Each method lives in its own package under
// auth/.
type AuthMethod interface {
	Login(ctx context.Context, c *Client) (*Auth, error)
}

// AuthMethodFunc adapts a function to AuthMethod.
type AuthMethodFunc func(ctx context.Context, c *Client) (*Auth, error)

// Login calls f.
func (f AuthMethodFunc) Login(ctx context.Context, c *Client) (*Auth, error) { return f(ctx, c) }

// Auth is the "auth" block of a login response or the data of a token lookup.
type Auth struct {
	ClientToken   Token             `json:"client_token"`
	Accessor      string            `json:"accessor"`
	Policies      []string          `json:"policies"`
	TokenPolicies []string          `json:"token_policies"`
	Metadata      map[string]string `json:"metadata"`
	LeaseDuration int               `json:"lease_duration"`
	Renewable     bool              `json:"renewable"`
	EntityID      string            `json:"entity_id"`
	TokenType     string            `json:"token_type"`
	Orphan        bool              `json:"orphan"`
}

// TTL is the lease duration as a time.Duration. A value no Vault sends is
// clamped: a negative one is taken as one minute (a token that "never
// expires" is only ever 0), more than ten years as ten years.
func (a *Auth) TTL() time.Duration { return clampSeconds(a.LeaseDuration, time.Minute) }

// MaxSaneTTL bounds a TTL or lease duration from a server: longer is taken as
// this (ten years), so that no hostile or broken answer overflows a
// time.Duration or means "never expires".
const MaxSaneTTL = 10 * 365 * 24 * time.Hour

// clampSeconds turns a server's TTL in seconds into a duration within
// [0, MaxSaneTTL]; a negative TTL becomes ifNegative.
func clampSeconds(n int, ifNegative time.Duration) time.Duration {
	switch {
	case n < 0:
		return ifNegative
	case int64(n) > int64(MaxSaneTTL/time.Second):
		return MaxSaneTTL
	}
	return time.Duration(n) * time.Second
}

// Credential is a secret input to a login (a secret ID, a password, a JWT):
// a fixed value, or a file that is read again at every login so that a
// rotated credential is picked up. Like Token, it never prints its value.
type Credential struct {
	value Token
	file  string
}

// CredentialValue is a fixed credential.
func CredentialValue(v string) Credential { return Credential{value: NewToken(strings.TrimSpace(v))} }

// CredentialFile is a credential read from path at every login (surrounding
// white space trimmed).
func CredentialFile(path string) Credential { return Credential{file: path} }

// IsZero reports whether no value and no file were given.
func (c Credential) IsZero() bool { return c.value.IsZero() && c.file == "" }

// File is the file the credential is read from ("" for a fixed value).
func (c Credential) File() string { return c.file }

// Load returns the credential: the fixed value, or the file's current content.
func (c Credential) Load() (Token, error) {
	if c.file == "" {
		if c.value.IsZero() {
			return Token{}, &ConfigError{Field: "credential", Problem: "is empty"}
		}
		return c.value, nil
	}
	b, err := os.ReadFile(c.file)
	if err != nil {
		return Token{}, &ConfigError{Field: "credential file", Problem: "cannot read " + c.file + ": " + errText(errors.Unwrap(err)),
			Hint: "check that the file exists and is readable by this process"}
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return Token{}, &ConfigError{Field: "credential file", Problem: c.file + " is empty"}
	}
	return NewToken(v), nil
}

// String names the source, never the value.
func (c Credential) String() string {
	switch {
	case c.file != "":
		return "file " + c.file
	case c.value.IsZero():
		return "<none>"
	default:
		return "value " + redacted
	}
}

// Format makes every fmt verb print String.
func (c Credential) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue logs the source, never the value.
func (c Credential) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Login posts a login request to path (such as "auth/approle/login") without
// any client token and returns the "auth" block of the answer. A refusal
// (any 4xx) matches ErrAuthFailed as well as its own kind; the body is never
// part of an error or a log line. Auth methods call it from their Login.
func (c *Client) Login(ctx context.Context, path string, body map[string]any) (*Auth, error) {
	p, err := NormalizePath(path)
	if err != nil {
		return nil, err
	}
	var s Secret
	if err := c.do(ctx, &request{method: http.MethodPost, path: p, body: body, noToken: true}, &s); err != nil {
		var re *ResponseError
		if errors.As(err, &re) && re.StatusCode >= 400 && re.StatusCode < 500 && re.StatusCode != http.StatusTooManyRequests &&
			!errors.Is(re, ErrNamespaceNotFound) && !re.transient {
			// A login carries no Vault token: a 403 here is about the
			// credentials, not an invalid token or a policy.
			kinds := []error{ErrAuthFailed}
			for _, k := range re.kinds {
				if k != ErrInvalidToken && k != ErrPermissionDenied {
					kinds = append(kinds, k)
				}
			}
			re.kinds = kinds
			re.Capabilities = nil
			re.Hint = "check the credentials, the role and the auth mount path (" + mountOf(p) + ")"
		}
		return nil, err
	}
	if s.Auth == nil || s.Auth.ClientToken.IsZero() {
		re := &ResponseError{StatusCode: http.StatusOK, Method: http.MethodPost, Path: p, Namespace: c.namespace,
			Errors: []string{"the login answer holds no client token"}}
		re.setKind(ErrMalformedResponse)
		return nil, re
	}
	return s.Auth, nil
}

// mountOf returns "auth/<mount>" of a login path.
func mountOf(p string) string {
	if i := strings.LastIndex(p, "/login"); i > 0 {
		return p[:i]
	}
	return p
}

// CleanMountPath normalises the mount path of an auth method for
// WithMountPath options: surrounding space and slashes and a leading
// "auth/" are dropped ("/auth/team-a/approle/" is "team-a/approle"); an
// empty path or one with an empty, "." or ".." segment, white space, '?',
// '#', '%' or '\' is a *ConfigError naming method.
func CleanMountPath(method, p string) (string, error) {
	mount := strings.Trim(strings.TrimSpace(p), "/")
	if rest, ok := strings.CutPrefix(mount, "auth/"); ok {
		mount = strings.Trim(rest, "/")
	} else if mount == "auth" {
		mount = ""
	}
	if mount == "" {
		return "", &ConfigError{Field: method + " mount path", Problem: "is empty",
			Hint: "give the path the auth method is enabled at, e.g. " + method + " (VAULT_AUTH_MOUNT), or omit it for the default"}
	}
	for _, seg := range strings.Split(mount, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, " \t\r\n?#%\\") {
			return "", &ConfigError{Field: method + " mount path", Problem: "is not a valid mount path: " + quoteShort(p),
				Hint: "e.g. " + method + " or team-a/" + method + ", without spaces, '?', '#' or '..'"}
		}
	}
	return mount, nil
}

// TokenInfo is what Vault knows about a token, never the token itself.
type TokenInfo struct {
	Accessor string
	Policies []string
	// TTL is the time left, as Vault counts it (0: never expires).
	TTL       time.Duration
	Renewable bool
	// Type is "service" or "batch".
	Type     string
	EntityID string
	Orphan   bool
}

// TokenInfo looks up the token the client currently uses (logging in first
// when it has none): its accessor, policies, time left and type. The token
// itself is never part of the answer.
func (c *Client) TokenInfo(ctx context.Context) (*TokenInfo, error) {
	if c.tokens == nil {
		return nil, &ConfigError{Field: "token", Problem: "the client has no token and no auth method", Hint: "use WithToken or WithAuth"}
	}
	tok, err := c.tokens.Token(ctx)
	if err != nil {
		return nil, err
	}
	a, err := c.LookupToken(ctx, tok)
	if err != nil {
		return nil, err
	}
	return &TokenInfo{Accessor: a.Accessor, Policies: a.Policies, TTL: a.TTL(), Renewable: a.Renewable, Type: a.TokenType,
		EntityID: a.EntityID, Orphan: a.Orphan}, nil
}

// LookupToken looks a token up (auth/token/lookup-self, carrying that token)
// and returns what Vault knows about it: TTL, renewability, policies, type.
// An invalid token is ErrInvalidToken (and ErrAuthFailed); a valid token
// whose policies forbid lookup-self is ErrPermissionDenied.
func (c *Client) LookupToken(ctx context.Context, tok Token) (*Auth, error) {
	if tok.IsZero() {
		return nil, &ConfigError{Field: "token", Problem: "is empty", Hint: "set VAULT_TOKEN or log in"}
	}
	var s struct {
		Data struct {
			Accessor  string            `json:"accessor"`
			Policies  []string          `json:"policies"`
			Meta      map[string]string `json:"meta"`
			TTL       int               `json:"ttl"`
			Renewable bool              `json:"renewable"`
			EntityID  string            `json:"entity_id"`
			Type      string            `json:"type"`
			Orphan    bool              `json:"orphan"`
		} `json:"data"`
	}
	if err := c.do(ctx, &request{method: http.MethodGet, path: "auth/token/lookup-self", token: tok, noRefine: true}, &s); err != nil {
		var re *ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusForbidden && !errors.Is(re, ErrInvalidToken) &&
			c.tokenValid(ctx, tok) == tokenInvalid {
			// A bare 403 (OpenBao, Vault before 1.17) for a token that
			// cannot even list its mounts: invalid, not a policy.
			re.setKind(ErrInvalidToken)
			re.Hint = hintInvalidToken
		}
		if errors.As(err, &re) && errors.Is(re, ErrInvalidToken) {
			re.setKind(ErrInvalidToken, ErrAuthFailed)
		}
		return nil, err
	}
	d := s.Data
	return &Auth{ClientToken: tok, Accessor: d.Accessor, Policies: d.Policies, TokenPolicies: d.Policies, Metadata: d.Meta,
		LeaseDuration: d.TTL, Renewable: d.Renewable, EntityID: d.EntityID, TokenType: d.Type, Orphan: d.Orphan}, nil
}

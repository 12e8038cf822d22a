package gdsvault

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// redacted is what every printed form of a secret value shows.
const redacted = "[redacted]"

// Token is a Vault token (or any other credential string, such as a secret ID
// or a wrapping token) that does not reveal itself by accident: its String,
// GoString, Format, LogValue and JSON forms print "[redacted]". Call Reveal to
// get the value when you mean to.
//
// The zero Token is empty. The value sits behind a pointer so that even a
// struct that holds a Token in an unexported field prints only an address.
// Compare tokens with Equal.
type Token struct {
	p *string
}

// NewToken wraps a credential string.
func NewToken(value string) Token {
	if value == "" {
		return Token{}
	}
	return Token{p: &value}
}

// Reveal returns the credential itself. Use it only where the value must
// leave the program (an HTTP header, a file the user asked for).
func (t Token) Reveal() string {
	if t.p == nil {
		return ""
	}
	return *t.p
}

// IsZero reports whether the token is empty.
func (t Token) IsZero() bool { return t.p == nil || *t.p == "" }

// Equal reports whether two tokens hold the same value.
func (t Token) Equal(u Token) bool { return t.Reveal() == u.Reveal() }

// String returns "[redacted]" (or "" for an empty token).
func (t Token) String() string {
	if t.IsZero() {
		return ""
	}
	return redacted
}

// GoString returns a redacted Go form, so %#v does not show the value.
func (t Token) GoString() string { return "gdsvault.Token(" + fmt.Sprintf("%q", t.String()) + ")" }

// Format makes every fmt verb print the redacted form.
func (t Token) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(t.GoString()))
		return
	}
	_, _ = f.Write([]byte(t.String()))
}

// LogValue keeps the token out of slog output.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// MarshalJSON encodes the redacted form: a Token never leaves through JSON.
func (t Token) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// UnmarshalJSON accepts a JSON string (or null), so Vault responses decode
// straight into a Token.
func (t *Token) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = Token{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("token: expected a JSON string")
	}
	*t = NewToken(s)
	return nil
}

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

package gdsvault

import (
	"encoding/json"
	"fmt"
	"log/slog"
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

package gdsvault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
)

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
		if errors.As(err, &re) && re.StatusCode >= 400 && re.StatusCode < 500 && re.StatusCode != http.StatusTooManyRequests {
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

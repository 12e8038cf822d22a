package gdsvault

import (
	"context"
	"errors"
	"net/http"
	"path"
	"strings"
	"time"
)

// ErrWrappingTampered: a response-wrapping token is unknown, expired, already
// used, or was created for another path than expected. The wrapped secret may
// have been intercepted: alert, and issue a new one. Never retried.
var ErrWrappingTampered = errors.New("response-wrapping token failed its checks: the wrapped secret may have been intercepted")

// WrappingError says why a wrapping token was refused.
type WrappingError struct {
	// Reason is what was wrong.
	Reason string
	// CreationPath is the path the token was created for, when known.
	CreationPath string
	// Expected is the path (pattern) the caller expected.
	Expected string
	// Err is Vault's answer, when there was one.
	Err error
}

func (e *WrappingError) Error() string {
	s := "gdsvault: " + ErrWrappingTampered.Error() + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s + " (alert your security team and deliver a new wrapped secret; do not retry)"
}

// Is matches ErrWrappingTampered.
func (e *WrappingError) Is(target error) bool { return target == ErrWrappingTampered }

// Unwrap returns Vault's answer.
func (e *WrappingError) Unwrap() error { return e.Err }

// WrappingInfo is what sys/wrapping/lookup tells about a wrapping token.
type WrappingInfo struct {
	CreationPath string
	CreationTime time.Time
	CreationTTL  time.Duration
}

// LookupWrapping asks Vault what a wrapping token was created for, without
// using it up. An unknown, expired or used token is a *WrappingError.
func (c *Client) LookupWrapping(ctx context.Context, wrapping Token) (*WrappingInfo, error) {
	if wrapping.IsZero() {
		return nil, &ConfigError{Field: "wrapping token", Problem: "is empty", Hint: "set VAULT_WRAPPED_SECRET_ID"}
	}
	var s struct {
		Data struct {
			CreationPath string `json:"creation_path"`
			CreationTime string `json:"creation_time"`
			CreationTTL  int    `json:"creation_ttl"`
		} `json:"data"`
	}
	err := c.do(ctx, &request{method: http.MethodPost, path: "sys/wrapping/lookup", noToken: true, safe: true,
		body: map[string]any{"token": wrapping.Reveal()}}, &s)
	if err != nil {
		if isBadWrappingToken(err) {
			return nil, &WrappingError{Reason: "Vault does not know the wrapping token (expired, already unwrapped, or never issued)", Err: err}
		}
		return nil, err
	}
	return &WrappingInfo{CreationPath: s.Data.CreationPath, CreationTime: parseTime(s.Data.CreationTime),
		CreationTTL: clampSeconds(s.Data.CreationTTL, 0)}, nil
}

// isBadWrappingToken recognises Vault's refusal of a wrapping token.
func isBadWrappingToken(err error) bool {
	var re *ResponseError
	if !errors.As(err, &re) || re.StatusCode < 400 || re.StatusCode >= 500 || re.StatusCode == http.StatusTooManyRequests {
		return false
	}
	msg := strings.ToLower(strings.Join(re.Errors, " "))
	return strings.Contains(msg, "wrapping token") || strings.Contains(msg, "invalid token") || re.StatusCode == http.StatusForbidden
}

// Unwrap opens a response-wrapping token safely: it first checks with
// sys/wrapping/lookup that the token exists and was created for a path
// matching expectedPath (a path.Match pattern such as
// "auth/approle/role/*/secret-id"; "" skips the check), then unwraps it on a
// request that carries only the wrapping token, never the client's token.
// Every refusal is a *WrappingError matching ErrWrappingTampered.
//
// Unwrapping uses the token up: do not retry a failed Unwrap blindly.
func (c *Client) Unwrap(ctx context.Context, wrapping Token, expectedPath string) (*Secret, error) {
	info, err := c.LookupWrapping(ctx, wrapping)
	if err != nil {
		return nil, err
	}
	if expectedPath != "" {
		ok, perr := path.Match(expectedPath, info.CreationPath)
		if perr != nil {
			return nil, &ConfigError{Field: "expected wrapping path", Problem: "bad pattern " + quoteShort(expectedPath)}
		}
		if !ok {
			return nil, &WrappingError{Reason: "the token was created for " + quoteShort(info.CreationPath) + ", not for " + quoteShort(expectedPath),
				CreationPath: info.CreationPath, Expected: expectedPath}
		}
	}
	var s Secret
	if err := c.do(ctx, &request{method: http.MethodPost, path: "sys/wrapping/unwrap", token: wrapping, noRefine: true}, &s); err != nil {
		if isBadWrappingToken(err) {
			return nil, &WrappingError{Reason: "the token was valid at lookup but refused at unwrap: someone else unwrapped it first",
				CreationPath: info.CreationPath, Expected: expectedPath, Err: err}
		}
		return nil, err
	}
	return &s, nil
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
		if errors.As(err, &re) && errors.Is(re, ErrInvalidToken) {
			re.setKind(ErrInvalidToken, ErrAuthFailed)
		}
		return nil, err
	}
	d := s.Data
	return &Auth{ClientToken: tok, Accessor: d.Accessor, Policies: d.Policies, TokenPolicies: d.Policies, Metadata: d.Meta,
		LeaseDuration: d.TTL, Renewable: d.Renewable, EntityID: d.EntityID, TokenType: d.Type, Orphan: d.Orphan}, nil
}

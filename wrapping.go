package gdsvault

import (
	"context"
	"errors"
	"net/http"
	"path"
	"strings"
	"time"
)

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

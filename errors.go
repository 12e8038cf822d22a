package gdsvault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gdsvault/gdsvault/internal/cfgerr"
)

// Sentinel errors. Match them with errors.Is; reach the details of a Vault
// answer with errors.As and *ResponseError.
var (
	// ErrNotFound: Vault answered 404 (nothing at that path, or no such mount).
	ErrNotFound = errors.New("not found")
	// ErrDeletedVersion: the KV v2 version exists but was soft-deleted
	// (Undelete brings it back). It also matches ErrNotFound.
	ErrDeletedVersion = errors.New("secret version deleted")
	// ErrDestroyedVersion: the KV v2 version was destroyed for good. It also
	// matches ErrNotFound.
	ErrDestroyedVersion = errors.New("secret version destroyed")
	// ErrPermissionDenied: Vault answered 403 and the token is valid: its
	// policies do not allow this operation on this path.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrInvalidToken: Vault answered 403 because the token itself is
	// invalid (revoked, expired, never existed).
	ErrInvalidToken = errors.New("invalid token")
	// ErrAuthFailed: a login was refused (wrong role ID, secret ID,
	// password, JWT...).
	ErrAuthFailed = errors.New("authentication failed")
	// ErrSealed: Vault is sealed. It also matches ErrUnavailable.
	ErrSealed = errors.New("vault is sealed")
	// ErrUnavailable: Vault (or a proxy in front of it) cannot serve now:
	// 502, 503 (sealed, standby), 504.
	ErrUnavailable = errors.New("vault unavailable")
	// ErrInternal: Vault answered 500.
	ErrInternal = errors.New("vault internal error")
	// ErrRateLimited: Vault answered 429.
	ErrRateLimited = errors.New("rate limited")
	// ErrBadRequest: Vault answered 400 (invalid input).
	ErrBadRequest = errors.New("bad request")
	// ErrCASMismatch: a check-and-set write found another version than
	// expected. It also matches ErrBadRequest.
	ErrCASMismatch = errors.New("check-and-set version mismatch")
	// ErrMalformedResponse: Vault's answer could not be decoded.
	ErrMalformedResponse = errors.New("malformed response")
	// ErrConnection: no answer from Vault (refused, reset, timed out, TLS).
	ErrConnection = errors.New("cannot reach vault")
	// ErrCertificate: the server's TLS certificate failed verification
	// (unknown CA, wrong name, expired). Not transient: never retried,
	// never answered from a stale cache. It also matches ErrConnection.
	ErrCertificate = errors.New("tls certificate verification failed")
	// ErrOutcomeUnknown: a request that must not run twice (a write without
	// check-and-set, a login, issuing credentials) lost its answer after it
	// was sent: Vault may or may not have applied it. Read before writing
	// again. It also matches ErrConnection.
	ErrOutcomeUnknown = errors.New("outcome unknown: the request may have been applied")
	// ErrResponseTooLarge: Vault's answer was larger than the client's limit
	// (WithMaxResponseSize, default 32 MiB).
	ErrResponseTooLarge = errors.New("response too large")
	// ErrNamespaceNotFound: the server has no such namespace (OpenBao and
	// Vault Enterprise answer 404 for every request in it). It also
	// matches ErrNotFound.
	ErrNamespaceNotFound = errors.New("namespace not found")
	// ErrConfig: the client's configuration is wrong or incomplete.
	ErrConfig = cfgerr.ErrConfig
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("client closed")
)

// ResponseError is Vault's answer to a request that did not succeed. It never
// holds a token or a request body.
type ResponseError struct {
	StatusCode int
	Method     string
	// Path is the API path without the /v1/ prefix and without query values.
	Path      string
	Namespace string
	// Errors are Vault's own error strings.
	Errors   []string
	Warnings []string
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
	// Hint says how to fix the problem, when there is something to say.
	Hint string
	// Capabilities are the token's capabilities on Path, learned after a
	// policy denial (when the token may ask).
	Capabilities []string

	kinds      []error
	fromVault  bool            // the body was Vault's JSON, not a proxy's page
	data       json.RawMessage // the "data" of the answer, for KV v2 deleted/destroyed versions
	sentToken  *Token          // the token the request carried, to invalidate it; a pointer so %#v cannot print it
	idempotent bool            // the request may run twice (for the retry layer)
	location   string          // a redirect's target
	transient  bool            // a 4xx that means "wait a moment" (a KV mount upgrading)
}

// Error gives method, path, status, Vault's messages and a hint.
func (e *ResponseError) Error() string {
	var b strings.Builder
	b.WriteString("vault: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Path)
	if e.Namespace != "" {
		b.WriteString(" (namespace ")
		b.WriteString(e.Namespace)
		b.WriteByte(')')
	}
	fmt.Fprintf(&b, ": %d", e.StatusCode)
	if len(e.kinds) > 0 {
		b.WriteByte(' ')
		b.WriteString(e.kinds[0].Error())
	} else if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteByte(' ')
		b.WriteString(strings.ToLower(t))
	}
	if len(e.Errors) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Errors, "; "))
	}
	if e.Hint != "" {
		b.WriteString(" (hint: ")
		b.WriteString(e.Hint)
		b.WriteByte(')')
	}
	return b.String()
}

// Is matches the sentinels that describe this answer.
func (e *ResponseError) Is(target error) bool {
	for _, k := range e.kinds {
		if k == target {
			return true
		}
	}
	return false
}

// Kind is the most specific sentinel for this answer, or nil.
func (e *ResponseError) Kind() error {
	if len(e.kinds) == 0 {
		return nil
	}
	return e.kinds[0]
}

// setKind replaces the classification, most specific first.
func (e *ResponseError) setKind(kinds ...error) { e.kinds = kinds }

// classify sets the sentinels from the status and Vault's messages.
func (e *ResponseError) classify() {
	msg := strings.ToLower(strings.Join(e.Errors, " "))
	switch s := e.StatusCode; {
	case s == http.StatusNotFound && strings.Contains(msg, "namespace not found"):
		e.setKind(ErrNamespaceNotFound, ErrNotFound)
		e.Hint = "the server has no namespace " + strconv.Quote(e.Namespace) + ": check VAULT_NAMESPACE (names are case-sensitive; a child namespace is parent/child)"
	case s == http.StatusNotFound:
		e.setKind(ErrNotFound)
	case s == http.StatusForbidden || s == http.StatusUnauthorized:
		if strings.Contains(msg, "invalid token") || strings.Contains(msg, "token is expired") ||
			strings.Contains(msg, "bad token") {
			e.setKind(ErrInvalidToken)
		} else {
			e.setKind(ErrPermissionDenied)
		}
	case s == http.StatusTooManyRequests:
		e.setKind(ErrRateLimited)
	case s == http.StatusBadRequest && strings.Contains(msg, "from non-versioned to versioned data"):
		// A new KV v2 mount on OpenBao, for a moment: retry.
		e.setKind(ErrUnavailable)
		e.transient = true
	case s == http.StatusBadRequest:
		if strings.Contains(msg, "check-and-set") {
			e.setKind(ErrCASMismatch, ErrBadRequest)
		} else {
			e.setKind(ErrBadRequest)
		}
	case s == http.StatusServiceUnavailable && strings.Contains(msg, "sealed"):
		e.setKind(ErrSealed, ErrUnavailable)
	case s == http.StatusBadGateway || s == http.StatusServiceUnavailable || s == http.StatusGatewayTimeout:
		e.setKind(ErrUnavailable)
	case s >= 500:
		e.setKind(ErrInternal)
	}
	if !e.idempotent && !e.fromVault && (e.StatusCode == http.StatusBadGateway || e.StatusCode == http.StatusGatewayTimeout ||
		e.StatusCode == http.StatusServiceUnavailable) {
		// A proxy's error page for a request that must not run twice and
		// may have reached Vault.
		e.kinds = append(e.kinds, ErrOutcomeUnknown)
		e.Hint = "a proxy answered for Vault: the request may have been applied; read before sending it again"
	}
}

// ConnectionError reports a request that got no (whole) HTTP answer:
// refused, reset, timed out, cut off, or a TLS failure. It matches
// ErrConnection; a failed certificate verification also matches
// ErrCertificate (and is not transient); a request that must not run twice
// and may have reached Vault also matches ErrOutcomeUnknown.
type ConnectionError struct {
	Method string
	// Address is Vault's address (scheme, host, port), never a query.
	Address string
	Path    string
	Err     error

	kind       error // ErrCertificate, or nil
	idempotent bool  // the request may run twice
	unknown    bool  // it must not run twice, and may have reached Vault
}

func (e *ConnectionError) Error() string {
	s := fmt.Sprintf("vault: %s %s: cannot reach vault at %s: %v", e.Method, e.Path, e.Address, e.Err)
	switch {
	case e.kind == ErrCertificate:
		s += " (hint: the server's certificate is not trusted: set VAULT_CACERT or VAULT_CAPATH to the CA that signed it, " +
			"or VAULT_TLS_SERVER_NAME to the name it was issued for)"
	case e.unknown:
		s += " (the request was sent and its answer lost: it may have been applied; read before sending it again)"
	}
	return s
}

// Unwrap returns the transport's error (a *net.OpError, context.DeadlineExceeded...).
func (e *ConnectionError) Unwrap() error { return e.Err }

// Is matches ErrConnection, and ErrCertificate or ErrOutcomeUnknown when
// they apply.
func (e *ConnectionError) Is(target error) bool {
	switch target {
	case ErrConnection:
		return true
	case ErrCertificate:
		return e.kind == ErrCertificate
	case ErrOutcomeUnknown:
		return e.unknown
	}
	return false
}

// ConfigError names one setting that is missing or wrong (Field), what is
// wrong with it (Problem) and how to fix it (Hint). Several problems at once
// come as errors.Join of ConfigErrors. It matches ErrConfig. Every
// constructor of gdsvault and its packages (secretcache, lease, auth/...)
// reports bad options with it; none panics.
type ConfigError = cfgerr.Error

// ErrCircuitOpen: the client's circuit breaker is open because Vault failed
// too often in a row; calls fail fast until a probe succeeds. A cache with
// stale fallback still answers.
var ErrCircuitOpen = errors.New("circuit open: vault failed repeatedly, calls fail fast")

// CircuitOpenError is returned while the circuit is open.
type CircuitOpenError struct {
	Address string
	Path    string
}

func (e *CircuitOpenError) Error() string {
	return "vault: " + e.Path + ": " + ErrCircuitOpen.Error() + " (address " + e.Address + "; a probe goes through after the cool-down)"
}

// Is matches ErrCircuitOpen.
func (e *CircuitOpenError) Is(target error) bool { return target == ErrCircuitOpen }

// ErrInvalidPath is matched by every *PathError.
var ErrInvalidPath = errors.New("invalid path")

// PathError reports a secret path that cannot be sent to Vault.
type PathError struct {
	Path    string
	Problem string
	Hint    string
}

func (e *PathError) Error() string {
	if e.Path == "" {
		return "gdsvault: invalid path: " + e.Problem
	}
	s := "gdsvault: invalid path " + quoteShort(e.Path) + ": " + e.Problem
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Is matches ErrInvalidPath.
func (e *PathError) Is(target error) bool { return target == ErrInvalidPath }

// ErrKeyNotFound is matched by every *FieldError (which also matches
// ErrNotFound).
var ErrKeyNotFound = errors.New("no such key in the secret")

// FieldError: the secret read for a field (KV.Field) has no such key. Keys
// are the secret's keys, sorted: names only, never values.
type FieldError struct {
	Path string
	Key  string
	Keys []string
}

func (e *FieldError) Error() string {
	return "gdsvault: no key " + quoteShort(e.Key) + " in " + quoteShort(e.Path) + " (its keys: " + strings.Join(e.Keys, ", ") + ")"
}

// Is matches ErrKeyNotFound and ErrNotFound.
func (e *FieldError) Is(target error) bool { return target == ErrKeyNotFound || target == ErrNotFound }

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

// IsTransient reports whether err may go away by itself, so that retrying,
// or serving a cached value meanwhile, makes sense: no answer from Vault
// (connection refused or reset, timeout, an answer cut off), 412, 429, 500,
// 502, 503 (sealed, standby) and 504. Authentication, authorization,
// not-found, bad-request, configuration and certificate errors are not
// transient; neither is a cancelled context.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, ErrCertificate) {
		return false
	}
	var re *ResponseError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case 412, 429, 500, 502, 503, 504:
			return true
		}
		return re.transient
	}
	return errors.Is(err, ErrConnection) || errors.Is(err, ErrCircuitOpen)
}

// errText is an error's message on one line.
func errText(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

// quoteShort quotes a user-supplied value for an error message, cut to a
// readable length.
func quoteShort(s string) string { return cfgerr.Quote(s) }

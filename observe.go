package gdsvault

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/gdsvault/gdsvault/retry"
)

// Observer sees what a client does, for metrics and traces: packages
// gdsvault/metrics/prom (Prometheus) and gdsvault/trace/otel
// (OpenTelemetry) implement it; attach one with WithObserver (several with
// MultiObserver). Its methods run on the request path: they must be quick,
// safe for concurrent use, and must not call the client's request methods.
// Nothing they receive holds a token, an accessor or a secret value, and
// paths come reduced to their mount and a bounded template (RequestInfo).
// Embed NopObserver to implement only some methods.
type Observer interface {
	// Attach is called once by New with the client it built (and once
	// more for each client built with the same observer), so that the
	// observer can read gauges when scraped (CacheStats, BreakerState).
	Attach(c *Client)
	// StartRequest is called before each HTTP exchange with Vault. It
	// returns the context the exchange runs in (with a span, say) and a
	// function the client calls once with the outcome.
	StartRequest(ctx context.Context, r RequestInfo) (context.Context, func(RequestOutcome))
	// StartOperation is called when a login or a token renewal starts; ctx
	// is the context of the caller that caused it (a login runs on the
	// client's own context, so a span links to the caller rather than
	// being cancelled with it). The requests of the operation run in the
	// returned context; the function is called once with its result.
	StartOperation(ctx context.Context, op OperationInfo) (context.Context, func(error))
	// Notice reports a discrete fact: a retry, a circuit breaker
	// transition, a token event, a lease renewal or rotation, a node change.
	Notice(n Notice)
}

// WithObserver attaches o to the client (and to the copies WithNamespace
// makes): every request, login, renewal, retry, breaker transition and
// token event is reported to it.
func WithObserver(o Observer) Option {
	return func(s *settings) error {
		if o == nil {
			return &ConfigError{Field: "observer", Problem: "is nil"}
		}
		s.observers = append(s.observers, o)
		return nil
	}
}

// Observer returns the client's observer, or nil (for packages such as
// lease that report their own facts through Notice).
func (c *Client) Observer() Observer { return c.observer }

// BreakerState reports the circuit breaker's state, and false when the
// client has no breaker (WithCircuitBreaker).
func (c *Client) BreakerState() (retry.State, bool) {
	if b := c.shared.breaker; b != nil {
		return b.State(), true
	}
	return retry.Closed, false
}

// RequestInfo describes one HTTP exchange with Vault.
type RequestInfo struct {
	// Method is the HTTP method.
	Method string
	// Mount is the secrets engine or auth mount the path belongs to
	// ("secret", "auth/approle", "sys"), as far as the client knows it; for
	// a path on an unknown mount, its first segment.
	Mount string
	// Template is the path with everything a caller chooses replaced by
	// "*": "secret/data/*", "auth/approle/login", "auth/token/renew-self",
	// "database/creds/*", "sys/health". Its values are bounded by the
	// server's mounts, never by the paths a program reads.
	Template string
	// Attempt counts the attempts of the request (1, 2, ...).
	Attempt int
	// Node is the address the exchange goes to.
	Node string
	// Namespace is the Vault namespace ("" for none).
	Namespace string
}

// RequestOutcome is how an exchange ended.
type RequestOutcome struct {
	// Status is the HTTP status (0 when no answer came).
	Status int
	// Err is the error, if any; ErrorKind names it for labels.
	Err      error
	Duration time.Duration
}

// OperationInfo describes a login or a token renewal.
type OperationInfo struct {
	// Kind is "login" or "renewal".
	Kind string
	// Method names the auth method ("approle", "kubernetes"...: its
	// MethodName, when it has one), "" when unknown.
	Method string
	// Reason says why it happens ("no valid token", "max TTL reached"...).
	Reason string
}

// NoticeKind names a Notice.
type NoticeKind int

// The kinds of Notice.
const (
	// NoticeRetry: a request is retried; Reason is ErrorKind of the
	// failure, Template the request's template.
	NoticeRetry NoticeKind = iota + 1
	// NoticeBreaker: the circuit breaker changed state (From, To: closed,
	// open, half-open).
	NoticeBreaker
	// NoticeToken: a token lifecycle event (Event).
	NoticeToken
	// NoticeLease: a lease was renewed, rotated, or failed to (Reason:
	// renewed, renewal_failed, rotated, rotation_failed, revoked); Template is
	// the leased path's template.
	NoticeLease
	// NoticeNode: the client moved to another Vault node (From, To:
	// addresses; Reason says why).
	NoticeNode
)

func (k NoticeKind) String() string {
	switch k {
	case NoticeRetry:
		return "retry"
	case NoticeBreaker:
		return "breaker"
	case NoticeToken:
		return "token"
	case NoticeLease:
		return "lease"
	case NoticeNode:
		return "node"
	}
	return "unknown"
}

// Notice is a discrete fact about the client. It never holds a token, an
// accessor or a secret value.
type Notice struct {
	Kind     NoticeKind
	Time     time.Time
	Reason   string
	Template string
	From, To string
	// Event is the token event, for NoticeToken.
	Event *Event
}

// NopObserver does nothing; embed it to implement only part of Observer.
type NopObserver struct{}

// Attach does nothing.
func (NopObserver) Attach(*Client) {}

// StartRequest returns ctx and a function that does nothing.
func (NopObserver) StartRequest(ctx context.Context, _ RequestInfo) (context.Context, func(RequestOutcome)) {
	return ctx, func(RequestOutcome) {}
}

// StartOperation returns ctx and a function that does nothing.
func (NopObserver) StartOperation(ctx context.Context, _ OperationInfo) (context.Context, func(error)) {
	return ctx, func(error) {}
}

// Notice does nothing.
func (NopObserver) Notice(Notice) {}

// MultiObserver reports to each of os in turn.
func MultiObserver(os ...Observer) Observer {
	if len(os) == 1 {
		return os[0]
	}
	return multiObserver(os)
}

type multiObserver []Observer

func (m multiObserver) Attach(c *Client) {
	for _, o := range m {
		o.Attach(c)
	}
}

func (m multiObserver) StartRequest(ctx context.Context, r RequestInfo) (context.Context, func(RequestOutcome)) {
	dones := make([]func(RequestOutcome), len(m))
	for i, o := range m {
		ctx, dones[i] = o.StartRequest(ctx, r)
	}
	return ctx, func(out RequestOutcome) {
		for i := len(dones) - 1; i >= 0; i-- {
			dones[i](out)
		}
	}
}

func (m multiObserver) StartOperation(ctx context.Context, op OperationInfo) (context.Context, func(error)) {
	dones := make([]func(error), len(m))
	for i, o := range m {
		ctx, dones[i] = o.StartOperation(ctx, op)
	}
	return ctx, func(err error) {
		for i := len(dones) - 1; i >= 0; i-- {
			dones[i](err)
		}
	}
}

func (m multiObserver) Notice(n Notice) {
	for _, o := range m {
		o.Notice(n)
	}
}

// MethodNamer is implemented by auth methods that name themselves
// ("approle", "kubernetes"...) for metrics and traces.
type MethodNamer interface {
	AuthMethod
	MethodName() string
}

// ErrorKind names what kind of error err is, as a metric- and log-friendly
// identifier: "" for nil, then the most specific of namespace_not_found, not_found,
// deleted_version, destroyed_version, permission_denied, invalid_token,
// auth_failed, sealed, unavailable, internal, rate_limited, cas_mismatch,
// bad_request, malformed_response, response_too_large, certificate,
// outcome_unknown, timeout, connection, circuit_open, wrapping_tampered,
// invalid_path, config, closed, canceled; "other" for the rest.
func ErrorKind(err error) string {
	if err == nil {
		return ""
	}
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			if k.err == ErrConnection && isTimeout(err) {
				return "timeout"
			}
			return k.name
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "other"
}

// errorKinds are the sentinels ErrorKind knows, most specific first.
var errorKinds = [...]struct {
	err  error
	name string
}{
	{ErrDeletedVersion, "deleted_version"}, {ErrDestroyedVersion, "destroyed_version"}, {ErrNamespaceNotFound, "namespace_not_found"}, {ErrNotFound, "not_found"},
	{ErrInvalidToken, "invalid_token"}, {ErrAuthFailed, "auth_failed"}, {ErrPermissionDenied, "permission_denied"},
	{ErrSealed, "sealed"}, {ErrRateLimited, "rate_limited"}, {ErrCASMismatch, "cas_mismatch"}, {ErrBadRequest, "bad_request"},
	{ErrMalformedResponse, "malformed_response"}, {ErrResponseTooLarge, "response_too_large"},
	{ErrCertificate, "certificate"}, {ErrOutcomeUnknown, "outcome_unknown"}, {ErrUnavailable, "unavailable"},
	{ErrInternal, "internal"}, {ErrCircuitOpen, "circuit_open"}, {ErrWrappingTampered, "wrapping_tampered"},
	{ErrConnection, "connection"}, {ErrInvalidPath, "invalid_path"}, {ErrConfig, "config"}, {ErrClosed, "closed"},
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// endpointWords are the fixed names of engine endpoints a template keeps
// after the mount; any other segment is a caller's name and becomes "*".
var endpointWords = map[string]bool{
	"data": true, "metadata": true, "delete": true, "undelete": true, "destroy": true, "subkeys": true, "config": true,
	"creds": true, "static-creds": true, "roles": true, "static-roles": true, "rotate-root": true, "rotate-role": true,
	"encrypt": true, "decrypt": true, "rewrap": true, "sign": true, "verify": true, "hmac": true, "hash": true,
	"random": true, "datakey": true, "keys": true, "export": true, "backup": true, "restore": true, "cache-config": true,
	"issue": true, "issuer": true, "issuers": true, "cert": true, "certs": true, "ca": true, "crl": true, "revoke": true,
	"tidy": true, "role": true, "login": true, "lookup": true, "renew": true, "lookup-self": true, "renew-self": true,
	"revoke-self": true, "create": true, "create-orphan": true, "lookup-accessor": true, "renew-accessor": true,
	"revoke-accessor": true, "accessors": true, "secret-id": true, "role-id": true, "unwrap": true, "wrap": true,
	"health": true, "seal-status": true, "leader": true, "capabilities-self": true, "capabilities": true, "leases": true,
	"internal": true, "ui": true, "mounts": true, "auth": true, "policies": true, "policy": true, "step-down": true,
	"storage": true, "raft": true, "init": true, "unseal": true, "seal": true, "host-info": true, "version-history": true,
	"generate-root": true, "rekey": true, "plugins": true, "audit": true, "quotas": true, "namespaces": true,
	"acl": true, "wrapping": true, "revoke-prefix": true, "revoke-force": true, "capabilities-accessor": true,
}

// PathTemplate reduces a path to its mount and a bounded template, as
// RequestInfo has them: "secret/data/myapp/config" gives "secret" and
// "secret/data/*". For metrics and traces of your own.
func (c *Client) PathTemplate(path string) (mount, template string) {
	p, err := NormalizePath(path)
	if err != nil {
		return "", ""
	}
	return c.template(p)
}

// template reduces an API path to its mount and a bounded template.
func (c *Client) template(p string) (mount, template string) {
	segs := strings.Split(p, "/")
	switch {
	case segs[0] == "sys":
		// sys/<endpoint>[/<fixed word>...]: keep fixed words, star the rest.
		return "sys", keepWords(segs, 1, 3)
	case segs[0] == "auth" && len(segs) > 1:
		// auth/<mount>/login[/<user>], auth/token/<op>, auth/<mount>/role/...
		for i := 2; i < len(segs); i++ {
			if segs[i] == "login" {
				m := strings.Join(segs[:i], "/")
				t := m + "/login"
				if i < len(segs)-1 {
					t += "/*"
				}
				return m, t
			}
		}
		m := "auth/" + segs[1]
		if len(segs) == 2 {
			return m, m
		}
		return m, m + "/" + keepWords(segs[2:], 0, 1)
	}
	if m, ok := c.shared.mounts.lookup(c.namespace, p); ok {
		mount = m.path
	} else {
		mount = segs[0]
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(p, mount), "/")
	if rest == "" {
		return mount, mount
	}
	return mount, mount + "/" + keepWords(strings.Split(rest, "/"), 0, 1)
}

// keepWords joins segs[from:] keeping at most n endpoint words in a row and
// replacing the first other segment (and all after it) by "*".
func keepWords(segs []string, from, n int) string {
	var b strings.Builder
	for i := from; i < len(segs); i++ {
		if i > from {
			b.WriteByte('/')
		}
		if i-from >= n || !endpointWords[segs[i]] {
			b.WriteByte('*')
			break
		}
		b.WriteString(segs[i])
	}
	out := b.String()
	if from > 0 {
		return strings.Join(segs[:from], "/") + "/" + out
	}
	return out
}

package gdsvault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gdsvault/gdsvault/retry"
	"golang.org/x/sync/singleflight"
)

// Client talks to one Vault server. It is safe for concurrent use and does
// not change after New; WithNamespace returns a copy that shares the
// connection pool, the mount cache and the lifecycle of the original.
type Client struct {
	address   string
	namespace string
	tokens    TokenSource
	http      *http.Client
	timeout   time.Duration
	// ctxTimeout is set when the user's http.Client has no Timeout of its own.
	ctxTimeout bool
	logger     *slog.Logger
	userAgent  string
	retry      retry.Policy
	// noBreaker keeps logins and renewals out of the circuit breaker: a
	// probe that needs a login must not be refused by the probe it is.
	noBreaker bool

	shared *shared
}

// shared is the state every copy of a client shares.
type shared struct {
	mounts       mountCache
	closed       atomic.Bool
	closeOnce    sync.Once
	closeErr     error
	ownTransport *http.Transport
	breaker      *retry.Breaker
	caches       *caches
	mountFlight  singleflight.Group
}

// New builds a client from options. Without WithAddress it talks to
// DefaultAddress; without a token or auth method it sends no token (enough
// for sys/health and logins). New never reads the environment: see the config
// package and auth.FromEnv for that.
func New(opts ...Option) (*Client, error) {
	s := settings{address: DefaultAddress, timeout: DefaultTimeout}
	var errs []error
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&s); err != nil {
			errs = append(errs, err)
		}
	}
	if s.tls != nil && (s.httpClient != nil || s.transport != nil) {
		errs = append(errs, &ConfigError{Field: "tls", Problem: "WithTLS cannot be combined with WithHTTPClient or WithTransport",
			Hint: "set TLS on your own transport, or drop it and let gdsvault build one"})
	}
	if s.httpClient != nil && s.transport != nil {
		errs = append(errs, &ConfigError{Field: "transport", Problem: "WithTransport cannot be combined with WithHTTPClient",
			Hint: "set the transport on your http.Client"})
	}
	if s.tokens != nil && s.auth != nil {
		errs = append(errs, &ConfigError{Field: "auth", Problem: "both a token and an auth method are set",
			Hint: "use a token (development) or an auth method (production), not both"})
	}
	var tr *http.Transport
	if s.httpClient == nil && s.transport == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		tr.MaxIdleConns = 128
		if s.tls != nil {
			tc, err := s.tls.build()
			if err != nil {
				errs = append(errs, err)
			} else {
				tr.TLSClientConfig = tc
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	c := &Client{
		address:   s.address,
		namespace: s.namespace,
		tokens:    s.tokens,
		timeout:   s.timeout,
		logger:    s.logger,
		userAgent: s.userAgent,
		retry:     retry.Default,
		shared:    &shared{ownTransport: tr},
	}
	c.retry.Budget = retry.NewBudget(500)
	if s.retry != nil {
		c.retry = *s.retry
		if c.retry.Budget == nil {
			c.retry.Budget = retry.NewBudget(500)
		}
	}
	if s.breaker != nil {
		c.shared.breaker = retry.NewBreaker(*s.breaker)
	}
	if s.cache != nil {
		c.shared.caches = newCaches(s.cache)
	}
	switch {
	case s.httpClient != nil:
		c.http = s.httpClient
		c.ctxTimeout = s.httpClient.Timeout == 0
	case s.transport != nil:
		c.http = &http.Client{Transport: s.transport, Timeout: s.timeout, CheckRedirect: checkRedirect}
	default:
		c.http = &http.Client{Transport: tr, Timeout: s.timeout, CheckRedirect: checkRedirect}
	}
	if s.tls != nil && s.tls.Insecure {
		c.logger.Warn("vault TLS certificate verification is disabled (skip-verify): use only for development", "address", c.address)
	}
	if s.auth != nil {
		c.tokens = newTokenManager(c, s.auth, &s)
	}
	return c, nil
}

// String shows the address and namespace, never the token.
func (c *Client) String() string {
	if c == nil {
		return "<nil>"
	}
	return "gdsvault.Client{address=" + c.address + " namespace=" + c.namespace + "}"
}

// Format makes every fmt verb print String.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// Address is the Vault address the client talks to.
func (c *Client) Address() string { return c.address }

// Namespace is the namespace sent with every request ("" for none).
func (c *Client) Namespace() string { return c.namespace }

// WithNamespace returns a copy of the client that sends namespace ns.
func (c *Client) WithNamespace(ns string) *Client {
	cp := *c
	cp.namespace = strings.Trim(strings.TrimSpace(ns), "/")
	return &cp
}

// withoutToken returns a copy that sends no token and bypasses the circuit
// breaker (for the token manager's logins and renewals).
func (c *Client) withoutToken() *Client {
	cp := *c
	cp.tokens = nil
	cp.noBreaker = true
	return &cp
}

// Authenticate logs in now (when the client has an auth method and holds no
// valid token) instead of at the first request, so that a program can fail
// fast at start-up.
func (c *Client) Authenticate(ctx context.Context) error {
	if c.tokens == nil {
		return &ConfigError{Field: "auth", Problem: "the client has no token and no auth method", Hint: "use WithToken or WithAuth"}
	}
	if a, ok := c.tokens.(interface{ authenticate(context.Context) error }); ok {
		return a.authenticate(ctx)
	}
	_, err := c.tokens.Token(ctx)
	return err
}

// Close stops what the client runs in the background, revokes the token it
// logged in for when its auth method asks so, and releases idle connections.
// It is idempotent; copies made by WithNamespace share it. Requests made after
// Close fail with ErrClosed.
func (c *Client) Close(ctx context.Context) error {
	c.shared.closeOnce.Do(func() {
		if cl, ok := c.tokens.(interface{ close(context.Context) error }); ok {
			c.shared.closeErr = cl.close(ctx)
		}
		c.shared.closed.Store(true)
		if c.shared.ownTransport != nil {
			c.shared.ownTransport.CloseIdleConnections()
		}
	})
	return c.shared.closeErr
}

// request is one call to Vault's HTTP API.
type request struct {
	method string
	path   string // API path without /v1/
	query  url.Values
	body   any
	// contentType overrides application/json.
	contentType string
	// noToken sends no token; token, when set, is sent instead of the source's.
	noToken bool
	token   Token
	// noRefine skips the lookup-self that tells an invalid token from a
	// policy denial after a 403.
	noRefine bool
	// safe marks a POST or PUT that may run twice (check-and-set writes,
	// renewals, lookups).
	safe bool
}

// errorBody is the JSON shape of Vault's error answers.
type errorBody struct {
	Errors   []string        `json:"errors"`
	Warnings []string        `json:"warnings"`
	Data     json.RawMessage `json:"data"`
}

// tokenInvalidator is implemented by token sources that can drop a token
// Vault reported invalid and fetch another.
type tokenInvalidator interface {
	invalidate(t Token)
}

// doAuthed sends r once and decodes a successful JSON answer into out (when
// out is not nil); when Vault calls the token invalid, it drops the token and
// tries once more with a fresh one. Failures are *ResponseError,
// *ConnectionError, *ConfigError or the token source's error.
func (c *Client) doAuthed(ctx context.Context, r *request, out any) error {
	err := c.doOnce(ctx, r, out)
	if err != nil && !r.noToken && r.token.IsZero() && errors.Is(err, ErrInvalidToken) {
		if inv, ok := c.tokens.(tokenInvalidator); ok {
			// The token was revoked or expired under us: log in again, once.
			var re *ResponseError
			if errors.As(err, &re) && re.sentToken != nil {
				inv.invalidate(*re.sentToken)
			}
			return c.doOnce(ctx, r, out)
		}
	}
	return err
}

func (c *Client) doOnce(ctx context.Context, r *request, out any) error {
	if c.shared.closed.Load() {
		return ErrClosed
	}
	tok := r.token
	if tok.IsZero() && !r.noToken && c.tokens != nil {
		var err error
		tok, err = c.tokens.Token(ctx)
		if err != nil {
			return err
		}
	}
	start := time.Now()
	resp, err := c.send(ctx, r, tok)
	if err != nil {
		c.logRequest(ctx, r, 0, start, err)
		return err
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode >= 300 {
		re := c.responseError(r, resp)
		re.sentToken = &tok
		if re.StatusCode == http.StatusForbidden && !tok.IsZero() && !r.noRefine && errors.Is(re, ErrPermissionDenied) {
			c.refineDenied(ctx, r, re, tok)
		}
		c.logRequest(ctx, r, resp.StatusCode, start, re)
		return re
	}
	c.logRequest(ctx, r, resp.StatusCode, start, nil)
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty 200 body: nothing to decode
		}
		if ctx.Err() != nil {
			return &ConnectionError{Method: r.method, Address: c.address, Path: r.path, Err: ctx.Err()}
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			// The answer was cut off on the way: a connection failure, not
			// a bad answer from Vault (retried for idempotent requests).
			return &ConnectionError{Method: r.method, Address: c.address, Path: r.path, Err: fmt.Errorf("the answer was cut off: %w", err)}
		}
		re := &ResponseError{StatusCode: resp.StatusCode, Method: r.method, Path: r.path, Namespace: c.namespace,
			Errors: []string{"cannot decode the JSON answer: " + errText(err)},
			Hint:   "a proxy may have cut or replaced Vault's answer"}
		re.setKind(ErrMalformedResponse)
		return re
	}
	return nil
}

// send builds and sends the HTTP request.
func (c *Client) send(ctx context.Context, r *request, tok Token) (*http.Response, error) {
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, &ConfigError{Field: "request body", Problem: "cannot encode as JSON: " + errText(err)}
		}
		body = bytes.NewReader(b)
	}
	u := c.address + "/v1/" + escapePath(r.path)
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	cancel := func() {}
	if c.ctxTimeout {
		// The deadline must cover reading the body: it is cancelled when
		// the body is closed, not when send returns.
		var stop context.CancelFunc
		ctx, stop = context.WithTimeout(ctx, c.timeout)
		cancel = stop
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		cancel()
		return nil, &ConfigError{Field: "path", Problem: "cannot build a request for " + quoteShort(r.path) + ": " + errText(err)}
	}
	h := req.Header
	h["X-Vault-Request"] = []string{"true"}
	if !tok.IsZero() {
		h["X-Vault-Token"] = []string{tok.Reveal()}
	}
	if c.namespace != "" {
		h["X-Vault-Namespace"] = []string{c.namespace}
	}
	if body != nil {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		h["Content-Type"] = []string{ct}
	}
	if c.userAgent != "" {
		h["User-Agent"] = []string{c.userAgent}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		cancel()
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the ConnectionError already
		}
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = ctx.Err()
		}
		return nil, &ConnectionError{Method: r.method, Address: c.address, Path: r.path, Err: err}
	}
	if c.ctxTimeout {
		resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	}
	return resp, nil
}

// checkRedirect follows Vault's redirects (a standby sends clients to the
// active node) only where the token may go: never from https to http, and
// over plain http never to another host; at most 3 of them.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return errors.New("stopped after 3 redirects")
	}
	from := via[0].URL
	switch {
	case from.Scheme == "https" && req.URL.Scheme != "https":
		return fmt.Errorf("refused a redirect from https to %s: the token would travel in clear text", req.URL.Scheme)
	case from.Scheme != "https" && req.URL.Host != from.Host:
		return fmt.Errorf("refused a redirect to another host (%s) over plain http: the token would follow it", req.URL.Host)
	}
	return nil
}

// cancelOnClose ends a request's own deadline when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// responseError reads Vault's error answer.
func (c *Client) responseError(r *request, resp *http.Response) *ResponseError {
	re := &ResponseError{StatusCode: resp.StatusCode, Method: r.method, Path: r.path, Namespace: c.namespace}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		re.RetryAfter = parseRetryAfter(ra, time.Now())
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var eb errorBody
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &eb); err == nil {
			re.fromVault = true
		} else {
			ct := resp.Header.Get("Content-Type")
			if ct == "" {
				ct = "unknown"
			}
			eb.Errors = []string{"answer is not Vault JSON (content type " + ct + ", " + strconv.Itoa(len(raw)) + " bytes): a proxy or load balancer may stand in front of Vault"}
		}
	}
	re.Errors, re.Warnings, re.data = flattenErrors(eb.Errors), eb.Warnings, eb.Data
	re.classify()
	switch {
	case errors.Is(re, ErrSealed):
		re.Hint = "unseal Vault (vault operator unseal) or talk to another node"
	case errors.Is(re, ErrInvalidToken):
		re.Hint = "the token is invalid (expired, revoked or unknown to this Vault): log in again or set a fresh VAULT_TOKEN"
	case errors.Is(re, ErrRateLimited):
		re.Hint = "Vault's rate limit quota was reached; slow down or raise the quota"
	}
	return re
}

// flattenErrors splits Vault's multi-error texts ("2 errors occurred:\n\t*
// a\n\t* b\n\n") into one message each.
func flattenErrors(errs []string) []string {
	var out []string
	for _, e := range errs {
		if !strings.Contains(e, "\n\t* ") {
			out = append(out, strings.TrimSpace(e))
			continue
		}
		for _, line := range strings.Split(e, "\n") {
			if m, ok := strings.CutPrefix(strings.TrimSpace(line), "* "); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// refineDenied tells an invalid token from a policy denial after a 403: a
// token that cannot even look itself up is invalid. For a policy denial it
// adds the token's capabilities on the path to the hint.
func (c *Client) refineDenied(ctx context.Context, r *request, re *ResponseError, tok Token) {
	err := c.doOnce(ctx, &request{method: http.MethodGet, path: "auth/token/lookup-self", token: tok, noRefine: true}, nil)
	var lre *ResponseError
	switch {
	case err == nil:
		// The token is valid: its policies deny this.
	case errors.As(err, &lre) && errors.Is(lre, ErrInvalidToken):
		re.setKind(ErrInvalidToken)
		re.Hint = "the token is invalid (expired, revoked or unknown to this Vault): log in again or set a fresh VAULT_TOKEN"
		return
	default:
		// Cannot tell (a token without the default policy may not look
		// itself up): leave it a permission denial.
		return
	}
	op := operationOf(r)
	re.Hint = "the token's policies do not grant " + op + " on " + r.path
	var caps struct {
		Data map[string][]string `json:"data"`
	}
	capErr := c.doOnce(ctx, &request{method: http.MethodPost, path: "sys/capabilities-self", token: tok, noRefine: true,
		body: map[string]any{"paths": []string{r.path}}}, &caps)
	if capErr == nil {
		if cs, ok := caps.Data[r.path]; ok {
			re.Capabilities = cs
			re.Hint += " (its capabilities there: " + strings.Join(cs, ", ") + ")"
		}
	}
}

func operationOf(r *request) string {
	switch {
	case r.query.Get("list") == "true":
		return "list"
	case r.method == http.MethodGet:
		return "read"
	case r.method == http.MethodDelete:
		return "delete"
	case r.method == http.MethodPatch:
		return "patch"
	default:
		return "create/update"
	}
}

func (c *Client) logRequest(ctx context.Context, r *request, status int, start time.Time, err error) {
	level := slog.LevelDebug
	if !c.logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", r.method), slog.String("path", r.path),
		slog.Int("status", status), slog.Duration("duration", time.Since(start)),
	}
	if c.namespace != "" {
		attrs = append(attrs, slog.String("namespace", c.namespace))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	c.logger.LogAttrs(ctx, level, "vault request", attrs...)
}

// parseRetryAfter reads seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// escapePath escapes each segment of an API path, without allocating when
// nothing needs escaping.
func escapePath(p string) string {
	for i := 0; i < len(p); i++ {
		if !pathSafe(p[i]) {
			segs := strings.Split(p, "/")
			for j, s := range segs {
				segs[j] = url.PathEscape(s)
			}
			return strings.Join(segs, "/")
		}
	}
	return p
}

func pathSafe(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
		b == '/' || b == '-' || b == '_' || b == '.' || b == '~' || b == '@' || b == ':' || b == '+' || b == '='
}

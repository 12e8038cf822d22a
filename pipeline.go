package gdsvault

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gdsvault/gdsvault/retry"
)

// The request pipeline. Every call to Vault goes through do:
//
//	do       circuit breaker, then attempts under the retry policy (one retry
//	         layer: an attempt includes the login it may need)
//	attempt  token from the token source; exchange; when Vault calls the
//	         token invalid, the source drops it and the attempt goes once
//	         more with a new one
//	exchange one HTTP round trip: send, status, body (capped), decode
//
// Errors carry what the retry layer needs to decide (transient or not, and
// whether the failed request could run twice); nothing else is retried.

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

// idempotent reports whether sending r twice does no harm.
func (r *request) idempotent() bool {
	if r.safe {
		return true
	}
	switch r.method {
	case http.MethodGet, http.MethodHead:
		// Reading dynamic credentials issues new ones: not a plain read.
		return !strings.Contains(r.path, "/creds/")
	case http.MethodDelete:
		return true
	}
	return false
}

// DefaultMaxResponseSize bounds a successful answer's body unless
// WithMaxResponseSize says otherwise.
const DefaultMaxResponseSize = 32 << 20

// maxErrorBody bounds an error answer's body.
const maxErrorBody = 1 << 20

// do sends r with the client's retry policy and circuit breaker, and decodes
// a successful JSON answer into out (when out is not nil).
func (c *Client) do(ctx context.Context, r *request, out any) error {
	if c.shared.closed.Load() {
		return ErrClosed
	}
	var done func(retry.Outcome)
	if b := c.shared.breaker; b != nil && !c.noBreaker {
		var err error
		if done, err = b.Allow(); err != nil {
			return &CircuitOpenError{Address: c.address, Path: r.path}
		}
		defer done(retry.Ignore) // frees a probe slot even if what follows panics; the first report wins
	}
	err := c.attempt(ctx, r, out, 1)
	switch {
	case err == nil:
		if c.retry.Budget != nil {
			c.retry.Budget.Refund(1) // healthy traffic refills the retry budget
		}
	case c.retry.MaxAttempts > 1 && c.verdict(ctx, err).Retry:
		n, last := 1, err
		op := func(ctx context.Context) error {
			n++
			if o := c.observer; o != nil {
				_, tmpl := c.template(r.path)
				o.Notice(Notice{Kind: NoticeRetry, Time: time.Now(), Reason: ErrorKind(last), Template: tmpl})
			}
			last = c.attempt(ctx, r, out, n)
			return last
		}
		err = retry.Continue(ctx, c.retry, err, op, func(err error) retry.Verdict { return c.verdict(ctx, err) })
	}
	if done != nil {
		switch {
		case ctx.Err() != nil || errors.Is(err, ErrRateLimited):
			done(retry.Ignore) // the caller gave up, or Vault pushed back: nothing learned about its health
		case IsTransient(err):
			done(retry.Failure)
		default:
			done(retry.Success)
		}
	}
	return err
}

// attempt is one try of r: a token (which may mean a login), the exchange,
// and, when Vault calls the token invalid, one more exchange on a new token.
func (c *Client) attempt(ctx context.Context, r *request, out any, n int) error {
	tok, fromSource := r.token, false
	if tok.IsZero() && !r.noToken && c.tokens != nil {
		var err error
		if tok, err = c.tokens.Token(ctx); err != nil {
			return err
		}
		fromSource = true
	}
	fb := c.feedback
	for replaced := 0; ; replaced++ {
		err := c.exchangeAny(ctx, r, tok, out, n)
		if !fromSource || fb == nil {
			return err
		}
		if err == nil {
			fb.TokenAccepted(tok)
			return nil
		}
		if !errors.Is(err, ErrInvalidToken) || replaced == maxTokenReplacements {
			return err
		}
		// The token was revoked or expired under us (perhaps under many
		// callers at once, perhaps while this process was starved of CPU):
		// the source drops it (once) and hands out its successor. A source
		// that sees its fresh tokens refused backs off and says so here.
		fb.TokenRefused(tok, err)
		if tok, err = c.tokens.Token(ctx); err != nil {
			return err
		}
	}
}

// maxTokenReplacements bounds how often one attempt takes a new token after
// Vault called the one it carried invalid.
const maxTokenReplacements = 2

// exchangeAny is exchange on the client's node; in a cluster, when that
// node fails in a way another node can fix, on another node (at once when
// one is up, else when one comes back, within the failover timeout), if r
// may run twice or certainly did not run.
func (c *Client) exchangeAny(ctx context.Context, r *request, tok Token, out any, n int) error {
	ns := c.shared.nodes
	if ns == nil {
		return c.exchange(ctx, r, tok, out, n, c.address)
	}
	var start time.Time
	for {
		nd := ns.pick()
		err := c.exchange(ctx, r, tok, out, n, nd.addr)
		if err == nil || ctx.Err() != nil || !(r.idempotent() || notProcessed(err)) || !ns.failed(nd, err) {
			return err
		}
		if start.IsZero() {
			start = time.Now()
		}
		if !ns.await(ctx, start.Add(ns.timeout)) {
			if ctx.Err() != nil {
				return err
			}
			return &noNodeError{err: err, waited: time.Since(start), nodes: c.Nodes()}
		}
	}
}

// exchange is one HTTP round trip to addr carrying tok, the n-th attempt
// of r. Failures are *ResponseError, *ConnectionError or *ConfigError.
func (c *Client) exchange(ctx context.Context, r *request, tok Token, out any, n int, addr string) (err error) {
	start := time.Now()
	status := 0
	if o := c.observer; o != nil {
		mount, tmpl := c.template(r.path)
		var done func(RequestOutcome)
		ctx, done = o.StartRequest(ctx, RequestInfo{Method: r.method, Mount: mount, Template: tmpl, Attempt: n, Node: addr, Namespace: c.namespace})
		defer func() { done(RequestOutcome{Status: status, Err: err, Duration: time.Since(start)}) }()
	}
	resp, err := c.send(ctx, r, tok, addr)
	if err != nil {
		c.logRequest(ctx, r, 0, start, err)
		return err
	}
	status = resp.StatusCode
	drained := false
	defer func() {
		if !drained {
			drain(resp.Body)
		}
		_ = resp.Body.Close()
	}()
	if resp.StatusCode >= 300 {
		re := c.responseError(r, resp)
		sent := tok // a copy: &tok would move tok to the heap on every call
		re.sentToken = &sent
		if re.StatusCode == http.StatusForbidden && !tok.IsZero() && !r.noRefine && errors.Is(re, ErrPermissionDenied) {
			c.refineDenied(ctx, r, re, tok)
		}
		c.logRequest(ctx, r, resp.StatusCode, start, re)
		return re
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		c.logRequest(ctx, r, resp.StatusCode, start, nil)
		return nil
	}
	buf := getBuffer()
	defer putBuffer(buf)
	body, err := c.readBody(ctx, r, resp, buf.b[:0], addr)
	buf.b = body
	drained = err == nil // read to the end
	if err != nil {
		c.logRequest(ctx, r, resp.StatusCode, start, err)
		return err
	}
	c.logRequest(ctx, r, resp.StatusCode, start, nil)
	if len(bytes.TrimSpace(body)) == 0 {
		return nil // an empty 200 body: nothing to decode
	}
	if err := decodeAnswer(body, out); err != nil {
		re := &ResponseError{StatusCode: resp.StatusCode, Method: r.method, Path: r.path, Namespace: c.namespace,
			Errors: []string{"cannot decode the JSON answer: " + decodeText(err)},
			Hint:   "a proxy may have cut or replaced Vault's answer", idempotent: r.idempotent()}
		re.setKind(ErrMalformedResponse)
		return re
	}
	return nil
}

// readBody reads a successful answer, appending to b, up to the client's
// limit: the buffer grows by doubling but never past limit+1 bytes, so a
// huge answer costs about twice the limit at most. A body cut off or
// stalled on the way is a connection failure (transient); a body over the
// limit is ErrResponseTooLarge.
func (c *Client) readBody(ctx context.Context, r *request, resp *http.Response, b []byte, addr string) ([]byte, error) {
	limit := c.maxResponse
	if resp.ContentLength > limit {
		return b, c.tooLarge(r, resp, resp.ContentLength)
	}
	if n := int(resp.ContentLength) + 1; resp.ContentLength >= 0 && cap(b) < n { // +1: the read that sees EOF
		b = make([]byte, 0, n)
	}
	var err error
	for {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), min(max(2*cap(b), 4096), int(limit)+1))
			copy(nb, b)
			b = nb
		}
		var n int
		n, err = resp.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			return b, c.tooLarge(r, resp, -1)
		}
		if err != nil {
			break
		}
	}
	if err == io.EOF {
		return b, nil
	}
	if ctx.Err() != nil {
		err = ctx.Err()
	} else if errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("the answer was cut off: %w", err)
	} else {
		err = fmt.Errorf("reading the answer: %w", err)
	}
	return b, c.connectionError(r, err, addr)
}

func (c *Client) tooLarge(r *request, resp *http.Response, size int64) error {
	msg := "the answer is larger than the client's limit of " + strconv.FormatInt(c.maxResponse, 10) + " bytes"
	if size > 0 {
		msg = "the answer (" + strconv.FormatInt(size, 10) + " bytes) is larger than the client's limit of " + strconv.FormatInt(c.maxResponse, 10) + " bytes"
	}
	re := &ResponseError{StatusCode: resp.StatusCode, Method: r.method, Path: r.path, Namespace: c.namespace, Errors: []string{msg},
		Hint: "raise the limit with WithMaxResponseSize if this answer is expected", idempotent: r.idempotent()}
	re.setKind(ErrResponseTooLarge)
	return re
}

// decodeText is a JSON decoding error without the values that caused it
// (encoding/json quotes the offending input, which may be a secret).
func decodeText(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "invalid JSON at byte " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "the answer"
		}
		return "field " + field + ": a JSON " + te.Value + " where " + te.Type.String() + " was expected"
	}
	return errText(err) // our own decoders' errors, which never quote the input
}

// drain reads what is left of a body, up to 64 KiB, so that its
// connection can serve another request (net/http reuses a connection only
// once its body was read to the end), into a pooled buffer.
func drain(r io.Reader) {
	buf := getBuffer()
	defer putBuffer(buf)
	b := buf.b[:cap(buf.b)]
	for n := 0; n < 64<<10; {
		m, err := r.Read(b)
		n += m
		if err != nil {
			return
		}
	}
}

// bodyBuffer is a pooled buffer for answers.
type bodyBuffer struct{ b []byte }

var bufferPool = sync.Pool{New: func() any { return &bodyBuffer{b: make([]byte, 0, 4096)} }}

func getBuffer() *bodyBuffer { return bufferPool.Get().(*bodyBuffer) }

func putBuffer(b *bodyBuffer) {
	if cap(b.b) <= 1<<20 { // keep only small buffers: one huge answer must not stay in memory
		b.b = b.b[:0]
		bufferPool.Put(b)
	}
}

// send builds and sends the HTTP request.
func (c *Client) send(ctx context.Context, r *request, tok Token, addr string) (*http.Response, error) {
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, &ConfigError{Field: "request body", Problem: "cannot encode as JSON: " + errText(err)}
		}
		body = bytes.NewReader(b)
	}
	u := addr + "/v1/" + escapePath(r.path)
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
	h["X-Vault-Request"] = headerTrue
	if !tok.IsZero() {
		h["X-Vault-Token"] = c.tokenHeader(tok)
	}
	if c.namespace != "" {
		h["X-Vault-Namespace"] = []string{c.namespace}
	}
	if body != nil {
		if r.contentType == "" {
			h["Content-Type"] = headerJSON
		} else {
			h["Content-Type"] = []string{r.contentType}
		}
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
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) && !isCertificateError(err) {
			err = ctx.Err()
		}
		return nil, c.connectionError(r, err, addr)
	}
	if c.ctxTimeout {
		resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	}
	return resp, nil
}

// Header values every request shares (a request's headers are only read
// once it is sent: by net/http, by a RoundTripper, which must not change
// the request, and by the redirect policy, which copies them).
var (
	headerTrue = []string{"true"}
	headerJSON = []string{"application/json"}
)

// tokenHeader is the X-Vault-Token header value for tok, made once per
// token rather than once per request.
func (c *Client) tokenHeader(tok Token) []string {
	if th := c.shared.tokenHeader.Load(); th != nil && th.p == tok.p {
		return th.v
	}
	th := &tokenHeader{p: tok.p, v: []string{tok.Reveal()}}
	c.shared.tokenHeader.Store(th)
	return th.v
}

// tokenHeader is the header value of the token whose value p points to.
type tokenHeader struct {
	p *string
	v []string
}

// connectionError describes a request to addr that got no (whole) answer.
func (c *Client) connectionError(r *request, err error, addr string) *ConnectionError {
	ce := &ConnectionError{Method: r.method, Address: addr, Path: r.path, Err: err, idempotent: r.idempotent()}
	if isCertificateError(err) {
		ce.kind = ErrCertificate
	} else {
		ce.unknown = !ce.idempotent && !notProcessed(err)
	}
	return ce
}

// isCertificateError recognises a failed verification of the server's
// certificate, or a server that refused ours: a configuration problem that
// no retry can fix.
func isCertificateError(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var ae tls.AlertError
	switch {
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci):
		return true
	case errors.As(err, &ae):
		switch ae {
		case 42, 43, 44, 45, 46, 48, 116: // bad, unsupported, revoked, expired, unknown certificate; unknown CA; certificate required
			return true
		}
	}
	return false
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

// errorBody is the JSON shape of Vault's error answers.
type errorBody struct {
	Errors   []string        `json:"errors"`
	Warnings []string        `json:"warnings"`
	Data     json.RawMessage `json:"data"`
}

// responseError reads Vault's error answer.
func (c *Client) responseError(r *request, resp *http.Response) *ResponseError {
	re := &ResponseError{StatusCode: resp.StatusCode, Method: r.method, Path: r.path, Namespace: c.namespace, idempotent: r.idempotent()}
	if resp.StatusCode < 400 {
		re.location = resp.Header.Get("Location")
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		re.RetryAfter = parseRetryAfter(ra, time.Now())
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var eb errorBody
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &eb); err == nil {
			re.fromVault = true
		} else {
			ct := resp.Header.Get("Content-Type")
			if ct == "" {
				ct = "unknown"
			}
			eb = errorBody{Errors: []string{"answer is not Vault JSON (content type " + ct + ", " + strconv.Itoa(len(raw)) + " bytes): a proxy or load balancer may stand in front of Vault"}}
		}
	}
	re.Errors, re.Warnings, re.data = flattenErrors(eb.Errors), eb.Warnings, eb.Data
	re.classify()
	switch {
	case errors.Is(re, ErrSealed):
		re.Hint = "unseal Vault (vault operator unseal) or talk to another node"
	case errors.Is(re, ErrInvalidToken):
		re.Hint = hintInvalidToken
	case errors.Is(re, ErrRateLimited):
		re.Hint = "Vault's rate limit quota was reached; slow down or raise the quota"
	}
	return re
}

const hintInvalidToken = "the token is invalid (expired, revoked or unknown to this Vault): log in again or set a fresh VAULT_TOKEN"

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

// refineDenied tells an invalid token from a policy denial after a 403
// that did not say "invalid token" (Vault before 1.17 and OpenBao answer a
// bare "permission denied" for both). For a policy denial it adds the
// token's capabilities on the path to the hint. A denial of the same path
// with the same token is remembered for a few seconds, so that a denied
// path polled in a loop does not double the load.
func (c *Client) refineDenied(ctx context.Context, r *request, re *ResponseError, tok Token) {
	key := denialKey{tok.p, r.method, r.path}
	if d, ok := c.shared.denials.get(key); ok {
		re.Hint, re.Capabilities = d.hint, d.caps
		return
	}
	switch c.tokenValid(ctx, tok) {
	case tokenInvalid:
		re.setKind(ErrInvalidToken)
		re.Hint = hintInvalidToken
		return
	case tokenUnknown:
		return // cannot tell: leave it a permission denial
	}
	op := operationOf(r)
	re.Hint = "the token's policies do not grant " + op + " on " + r.path
	var caps struct {
		Data map[string][]string `json:"data"`
	}
	capErr := c.exchangeAny(ctx, &request{method: http.MethodPost, path: "sys/capabilities-self", noRefine: true,
		body: map[string]any{"paths": []string{r.path}}}, tok, &caps, 1)
	if capErr == nil {
		if cs, ok := caps.Data[r.path]; ok {
			re.Capabilities = cs
			re.Hint += " (its capabilities there: " + strings.Join(cs, ", ") + ")"
		}
	}
	c.shared.denials.put(key, denial{hint: re.Hint, caps: re.Capabilities})
}

// Token validity as far as the client can tell.
const (
	tokenUnknown = iota
	tokenValid
	tokenInvalid
)

// tokenValid asks Vault whether tok is valid, at the cost of one request
// (two for a token that may not look itself up). A valid token can look
// itself up under the default policy; Vault 1.17+ answers "invalid token"
// for an invalid one, OpenBao a bare 403. A token without the default
// policy gets a bare 403 too, so then sys/internal/ui/mounts decides: any
// valid token may list the mounts it can see, an invalid one is refused.
func (c *Client) tokenValid(ctx context.Context, tok Token) int {
	err := c.exchangeAny(ctx, &request{method: http.MethodGet, path: "auth/token/lookup-self", noRefine: true}, tok, nil, 1)
	var lre *ResponseError
	switch {
	case err == nil:
		return tokenValid
	case errors.Is(err, ErrInvalidToken):
		return tokenInvalid
	case !errors.As(err, &lre) || lre.StatusCode != http.StatusForbidden:
		return tokenUnknown
	}
	err = c.exchangeAny(ctx, &request{method: http.MethodGet, path: "sys/internal/ui/mounts", noRefine: true}, tok, nil, 1)
	switch {
	case err == nil:
		return tokenValid
	case errors.As(err, &lre) && lre.StatusCode == http.StatusForbidden:
		return tokenInvalid
	}
	return tokenUnknown
}

// denialKey names a policy denial: the token (by identity), method, path.
type denialKey struct {
	tok          *string
	method, path string
}

type denial struct {
	hint    string
	caps    []string
	expires time.Time
}

// denials remembers recent policy denials for a few seconds, at most 256.
type denials struct {
	mu sync.Mutex
	m  map[denialKey]denial
}

const denialMemory = 5 * time.Second

func (d *denials) get(k denialKey) (denial, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.m[k]
	if !ok || time.Now().After(v.expires) {
		return denial{}, false
	}
	return v, true
}

func (d *denials) put(k denialKey, v denial) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil || len(d.m) >= 256 {
		d.m = make(map[denialKey]denial) // a bounded memory: forget all
	}
	v.expires = time.Now().Add(denialMemory)
	d.m[k] = v
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

// verdict classifies a failure for the retry loop. Only a transient failure
// of a request that may run twice (or that certainly did not run) is
// retried; a failure caused by the caller's own context never is.
func (c *Client) verdict(ctx context.Context, err error) retry.Verdict {
	if ctx.Err() != nil || !IsTransient(err) || errors.Is(err, ErrCircuitOpen) {
		return retry.Verdict{}
	}
	if !repeatable(err) {
		return retry.Verdict{} // it may have run once already
	}
	var nn *noNodeError
	if errors.As(err, &nn) {
		return retry.Verdict{} // the wait for a node took the time retries would
	}
	v := retry.Verdict{Retry: true, Cost: 5}
	var re *ResponseError
	if errors.As(err, &re) {
		v.After = re.RetryAfter
	}
	var lb *loginBackoffError
	if errors.As(err, &lb) {
		v.After = max(v.After, time.Until(lb.until)) // no new login before then: waiting less is pointless
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		v.Cost = 10
	}
	return v
}

// repeatable reports whether the request that failed with err may be sent
// again: it does no harm twice, or it certainly did not run.
func repeatable(err error) bool {
	var re *ResponseError
	if errors.As(err, &re) {
		return re.idempotent || notProcessed(err)
	}
	var ce *ConnectionError
	if errors.As(err, &ce) {
		return ce.idempotent || notProcessed(err)
	}
	return false
}

// notProcessed reports whether the failed request certainly did not run in
// Vault: the connection was never made, or Vault said it did not process it.
func notProcessed(err error) bool {
	var re *ResponseError
	if errors.As(err, &re) {
		switch {
		case re.StatusCode == http.StatusTooManyRequests, re.StatusCode == http.StatusPreconditionFailed, re.transient:
			return true
		case re.StatusCode == http.StatusServiceUnavailable && re.fromVault:
			return true // Vault's own 503 (sealed, standby): not processed; a proxy's 503 may come after Vault ran it
		case re.StatusCode == http.StatusTemporaryRedirect || re.StatusCode == http.StatusPermanentRedirect:
			return true // a standby sent it elsewhere
		case re.fromVault && strings.Contains(strings.ToLower(strings.Join(re.Errors, " ")), "local node not active"):
			return true // a standby that could not forward it
		}
		return false
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	var dnsErr *net.DNSError
	return errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &dnsErr) || isCertificateError(err)
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
		return time.Duration(min(n, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

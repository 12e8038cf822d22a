package vaulttest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// FaultKind names one kind of fault in ProxyStats.
type FaultKind string

// The kinds of fault a Proxy injects.
const (
	FaultLatency   FaultKind = "latency"
	FaultReset     FaultKind = "reset"
	FaultTruncate  FaultKind = "truncate"
	FaultHTML502   FaultKind = "html502"
	FaultStatus    FaultKind = "status"
	FaultBlackhole FaultKind = "blackhole"
	FaultRespond   FaultKind = "respond" // Respond answered (returned an Answer)
	FaultRewrite   FaultKind = "rewrite" // Rewrite changed Vault's answer (returned an Answer)
	FaultStream    FaultKind = "stream"  // StreamBody
	FaultStall     FaultKind = "stall"   // Stall
)

// Fault is what a Proxy does to the requests it sees. The zero Fault passes
// every request through untouched.
//
// A Fault has three independent parts; Latency, Only and Count apply to all
// of them:
//   - where the answer comes from: Vault (the default, optionally changed by
//     Rewrite), or the proxy itself: Status, HTML502, Respond or StreamBody
//     (at most one of them);
//   - how it is delivered: whole (the default), Truncate, Stall, or not at
//     all: Reset, Blackhole (at most one of these four);
//   - which requests get it: Only, Count.
//
// Reset and Blackhole send no answer, so they exclude the answer fields.
// Rewrite changes an answer from Vault, so it excludes Status, HTML502 and
// StreamBody (with Respond it applies when Respond forwards). Validate
// reports a Fault that contradicts itself.
type Fault struct {
	// Latency is added before the request is forwarded (or the fault below
	// injected).
	Latency time.Duration
	// Reset reads the request, then closes the TCP connection with an RST
	// (SO_LINGER 0): the client sees "connection reset by peer".
	Reset bool
	// Truncate sends the status and headers (with the full Content-Length)
	// but only the first half of the body, and closes the connection: the
	// client sees an unexpected EOF. An answer with an empty body arrives
	// whole.
	Truncate bool
	// HTML502 answers 502 with an HTML page, as a load balancer whose
	// backend is down would (Content-Type text/html).
	HTML502 bool
	// Status answers this status (e.g. 429 or 503) with a Vault-style JSON
	// body {"errors":[...]} without forwarding the request.
	//
	//	vaulttest.Fault{Only: vaulttest.HasToken(), Status: 403, Errors: []string{"permission denied", "invalid token"}}
	Status int
	// Errors are the messages of the Status answer (default: one message
	// naming the proxy and the status). Use e.g. "Vault is sealed" to
	// imitate a sealed node.
	Errors []string
	// RetryAfter, with Status or HTML502, adds a Retry-After header in
	// whole seconds (rounded up).
	RetryAfter time.Duration
	// Blackhole reads the request and never answers, until the next Set or
	// until the proxy closes; then it closes the connection. A client that
	// gives up and closes its end releases the connection too.
	Blackhole bool
	// Only, when set, limits the fault to the requests for which it returns
	// true; the others pass through. It is called with the proxy's lock held
	// (it must not call the Proxy's methods) and may read the request's
	// headers, URL and body. PathIs, PathPrefix, HasToken, Not and AllOf
	// build common ones.
	//
	//	vaulttest.Fault{Only: vaulttest.PathIs("auth/token/renew-self"), Status: 500}
	Only func(*http.Request) bool
	// Count, when positive, limits the fault to the next Count matching
	// requests; later ones pass through. 0 means until the next Set.
	Count int

	// Respond answers the request itself, without forwarding it: body is
	// the request's body (also readable from req.Body). Returning nil
	// forwards the request instead (it still counts against Count). It may
	// be called concurrently, without the proxy's lock. An Answer's Status
	// 0 means 200; its Content-Length is computed by the proxy.
	//
	//	vaulttest.Fault{Respond: vaulttest.RespondJSON(200, `{"data":"not an object"}`)}
	Respond func(req *http.Request, body []byte) *Answer
	// Rewrite forwards the request to Vault, then passes Vault's answer to
	// the function and sends what it returns instead; returning nil sends
	// Vault's answer unchanged (the function gets a copy it may change). It
	// may be called concurrently, without the proxy's lock. Answer.SetJSON
	// and RewriteJSON change one JSON value.
	//
	//	vaulttest.Fault{Rewrite: vaulttest.RewriteJSON("auth.lease_duration", -5)}
	Rewrite func(req *http.Request, resp *Answer) *Answer
	// StreamBody answers 200 with a JSON body of exactly StreamBody bytes,
	// generated as it is sent (the proxy holds none of it): StreamPrefix,
	// then 'A' bytes, then what closes the string and brackets the prefix
	// left open. With the default prefix the body is a valid KV v2 answer
	// {"data":{"data":{"k":"AAAA…"}}}.
	//
	//	vaulttest.Fault{StreamBody: 512 << 20}
	StreamBody int64
	// StreamPrefix starts the StreamBody (default {"data":{"data":{"k":").
	// The whole body is valid JSON when the prefix ends inside a string.
	//
	//	vaulttest.Fault{StreamBody: 1 << 30, StreamPrefix: `{"auth":{"client_token":"`}
	StreamPrefix string
	// StreamChunked sends the StreamBody chunked, without a Content-Length:
	// the client learns its size only by counting.
	//
	//	vaulttest.Fault{StreamBody: 512 << 20, StreamChunked: true}
	StreamChunked bool
	// Stall sends the answer's status, headers (with the full
	// Content-Length) and its first StallAfter body bytes, then nothing,
	// until the next Set or until the proxy closes; then it closes the
	// connection. A client that gives up and closes its end releases the
	// connection too. At most all but the last byte is sent, so the client
	// always waits; an answer without a body stalls before its status line.
	// ProxyStats.Held counts the stalled connections.
	//
	//	vaulttest.Fault{Stall: true, StallAfter: 10}
	Stall bool
	// StallAfter is the number of body bytes sent before a Stall (0: the
	// headers only).
	StallAfter int
}

// defaultStreamPrefix starts a StreamBody that reads as a KV v2 secret.
const defaultStreamPrefix = `{"data":{"data":{"k":"`

// Validate reports a Fault that contradicts itself (e.g. Reset and Status)
// or holds an impossible value. Set panics on such a Fault; call Validate
// first when the Fault comes from user input.
//
//	if err := f.Validate(); err != nil { return err }
func (f Fault) Validate() error {
	count := func(set ...bool) (n int) {
		for _, s := range set {
			if s {
				n++
			}
		}
		return n
	}
	answers := count(f.Status != 0, f.HTML502, f.Respond != nil, f.StreamBody != 0)
	switch {
	case answers > 1:
		return errors.New("vaulttest: a Fault sets more than one of Status, HTML502, Respond, StreamBody")
	case count(f.Reset, f.Blackhole, f.Truncate, f.Stall) > 1:
		return errors.New("vaulttest: a Fault sets more than one of Reset, Blackhole, Truncate, Stall")
	case (f.Reset || f.Blackhole) && (answers > 0 || f.Rewrite != nil):
		return errors.New("vaulttest: Fault.Reset and Blackhole send no answer: they exclude Status, HTML502, Respond, StreamBody and Rewrite")
	case f.Rewrite != nil && (f.Status != 0 || f.HTML502 || f.StreamBody != 0):
		return errors.New("vaulttest: Fault.Rewrite changes Vault's answer: it excludes Status, HTML502 and StreamBody")
	case f.Status != 0 && (f.Status < 100 || f.Status > 999):
		return fmt.Errorf("vaulttest: Fault.Status %d is not an HTTP status", f.Status)
	case f.RetryAfter < 0 || f.Latency < 0 || f.Count < 0 || f.StallAfter < 0 || f.StreamBody < 0:
		return errors.New("vaulttest: Fault.Latency, RetryAfter, Count, StallAfter and StreamBody must not be negative")
	case f.RetryAfter > 0 && f.Status == 0 && !f.HTML502:
		return errors.New("vaulttest: Fault.RetryAfter needs Status or HTML502")
	case len(f.Errors) > 0 && f.Status == 0:
		return errors.New("vaulttest: Fault.Errors needs Status")
	case f.StallAfter > 0 && !f.Stall:
		return errors.New("vaulttest: Fault.StallAfter needs Stall")
	case (f.StreamPrefix != "" || f.StreamChunked) && f.StreamBody == 0:
		return errors.New("vaulttest: Fault.StreamPrefix and StreamChunked need StreamBody")
	}
	if f.StreamBody != 0 {
		prefix := f.streamPrefix()
		if least := int64(len(prefix) + len(jsonCloser(prefix))); f.StreamBody < least {
			return fmt.Errorf("vaulttest: Fault.StreamBody %d is shorter than its prefix and closing brackets (%d bytes)", f.StreamBody, least)
		}
	}
	return nil
}

func (f Fault) streamPrefix() string {
	if f.StreamPrefix == "" {
		return defaultStreamPrefix
	}
	return f.StreamPrefix
}

// kinds are the faults decided before the request is answered (Respond and
// Rewrite count once they have answered).
func (f Fault) kinds() []FaultKind {
	var ks []FaultKind
	for _, k := range []struct {
		set  bool
		kind FaultKind
	}{
		{f.Latency > 0, FaultLatency},
		{f.Reset, FaultReset},
		{f.Truncate, FaultTruncate},
		{f.HTML502, FaultHTML502},
		{f.Status != 0, FaultStatus},
		{f.Blackhole, FaultBlackhole},
		{f.StreamBody != 0, FaultStream},
		{f.Stall, FaultStall},
	} {
		if k.set {
			ks = append(ks, k.kind)
		}
	}
	return ks
}

// ProxyStats counts what a Proxy saw and did.
type ProxyStats struct {
	// Connections is the number of TCP connections accepted.
	Connections int
	// Requests is the number of HTTP requests read from clients.
	Requests int
	// Forwarded is the number of requests sent on to the target (passed
	// through, delayed, truncated, stalled or rewritten).
	Forwarded int
	// Faults counts the requests that got each kind of fault. A request
	// with Latency and another fault counts under both (as does a Stall or
	// Truncate of an answer from Status, HTML502, Respond or StreamBody).
	Faults map[FaultKind]int
	// Paths counts the requests per path: Vault's API path without /v1/
	// (auth/approle/login), other paths as sent (/ui/). Only the first 256
	// distinct paths get an entry; requests for later ones count in
	// OtherPaths.
	//
	//	if n := p.Stats().Paths["auth/approle/login"]; n != 1 { t.Fatalf("%d logins", n) }
	Paths map[string]int
	// OtherPaths counts the requests whose path found Paths full.
	OtherPaths int
	// Held is the number of connections held right now by Blackhole or
	// Stall (a gauge, not a counter).
	Held int
}

// maxPaths bounds ProxyStats.Paths.
const maxPaths = 256

func (s ProxyStats) clone() ProxyStats {
	s.Faults = maps.Clone(s.Faults)
	s.Paths = maps.Clone(s.Paths)
	return s
}

// Proxy is a fault-injecting HTTP/1.1 proxy in front of a Vault server, for
// resilience tests. Point the client under test at Addr and switch faults
// with Set. It is safe for concurrent use.
//
// Besides network faults it plays a hostile server, with answers a real Vault
// cannot be made to give on demand: its own (Status, HTML502, Respond, a huge
// generated StreamBody), Vault's own changed (Rewrite, e.g. a login's
// lease_duration), delivered whole, cut off (Truncate) or stalled midway
// (Stall). Stats counts the faults by kind and the requests by path; WaitFor
// waits for the counts to reach a state (e.g. a request held by a Stall).
//
// Go's http.Transport silently retries an idempotent request (GET, HEAD...)
// once on a new connection when a reused keep-alive connection fails before
// any answer: a fault limited by Count to one request may then be invisible
// to the client. Faults without Count hit the retry too.
type Proxy struct {
	// Addr is the proxy's address, http://127.0.0.1:PORT.
	Addr string

	target *url.URL
	ln     net.Listener
	tr     *http.Transport
	ctx    context.Context // canceled at Close: aborts forwarded requests
	cancel context.CancelFunc

	mu        sync.Mutex
	fault     Fault
	remaining int           // with fault.Count > 0: matching requests still to fault
	changed   chan struct{} // closed and replaced at each Set
	closed    bool
	conns     map[net.Conn]struct{}
	stats     ProxyStats
	statsMove chan struct{} // closed and replaced at each change of stats

	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// maxBody bounds the request and response bodies the proxy holds in memory.
const maxBody = 32 << 20

// NewProxy starts a proxy in front of target (an http:// address such as
// Server.Addr). It passes everything through until Set, and closes when the
// test ends.
//
//	p := vaulttest.NewProxy(t, srv.Addr)
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	p, err := StartProxy(target)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Close)
	return p
}

// StartProxy is NewProxy without a test (e.g. in a demo): it starts a proxy
// in front of target, on a free port of 127.0.0.1. Stop it with Close.
//
//	p, err := vaulttest.StartProxy("http://127.0.0.1:8200"); defer p.Close()
func StartProxy(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("vaulttest: proxy target %q is not an http://host:port address", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("vaulttest: proxy: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{
		Addr:      "http://" + ln.Addr().String(),
		target:    &url.URL{Scheme: u.Scheme, Host: u.Host},
		ln:        ln,
		ctx:       ctx,
		cancel:    cancel,
		changed:   make(chan struct{}),
		conns:     map[net.Conn]struct{}{},
		stats:     ProxyStats{Faults: map[FaultKind]int{}, Paths: map[string]int{}},
		statsMove: make(chan struct{}),
		closing:   make(chan struct{}),
		tr: &http.Transport{
			Proxy:               nil, // never an environment proxy
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			DisableCompression:  true, // pass encodings through untouched
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     30 * time.Second,
		},
	}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Set switches the current fault; Set(Fault{}) passes everything through
// again. It releases the blackholed and stalled connections and restarts
// Count. It panics on a Fault that contradicts itself (see Validate).
//
//	p.Set(vaulttest.Fault{Status: 503, Count: 2})
func (p *Proxy) Set(f Fault) {
	if err := f.Validate(); err != nil {
		panic(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
	p.remaining = f.Count
	close(p.changed)
	p.changed = make(chan struct{})
}

// Stats returns the counters so far.
//
//	st := p.Stats(); st.Faults[vaulttest.FaultStall]
func (p *Proxy) Stats() ProxyStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats.clone()
}

// WaitFor waits until cond holds for the proxy's stats, and returns them. It
// checks cond at once and after each change of the stats, without the
// proxy's lock. It fails when ctx ends or the proxy closes first.
//
//	_, err := p.WaitFor(ctx, func(s vaulttest.ProxyStats) bool { return s.Held == 1 })
func (p *Proxy) WaitFor(ctx context.Context, cond func(ProxyStats) bool) (ProxyStats, error) {
	for {
		p.mu.Lock()
		s, moved := p.stats.clone(), p.statsMove
		p.mu.Unlock()
		if cond(s) {
			return s, nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return s, fmt.Errorf("vaulttest: waiting for the proxy's stats: %w", context.Cause(ctx))
		case <-p.closing:
			if s = p.Stats(); cond(s) {
				return s, nil
			}
			return s, errors.New("vaulttest: waiting for the proxy's stats: the proxy is closed")
		}
	}
}

// Close stops the proxy: it closes the listener and every client connection
// (releasing blackholed and stalled ones), aborts forwarded requests and
// waits for its goroutines. It is idempotent.
func (p *Proxy) Close() {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		conns := make([]net.Conn, 0, len(p.conns))
		for c := range p.conns {
			conns = append(conns, c)
		}
		p.mu.Unlock()
		close(p.closing)
		p.cancel()
		_ = p.ln.Close()
		for _, c := range conns {
			_ = c.Close()
		}
		p.wg.Wait()
		p.tr.CloseIdleConnections()
	})
}

// update changes the stats under the lock and wakes WaitFor.
func (p *Proxy) update(change func(*ProxyStats)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.updateLocked(change)
}

func (p *Proxy) updateLocked(change func(*ProxyStats)) {
	change(&p.stats)
	close(p.statsMove)
	p.statsMove = make(chan struct{})
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed (a test proxy does not outlive accept errors)
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = c.Close()
			return
		}
		p.conns[c] = struct{}{}
		p.updateLocked(func(s *ProxyStats) { s.Connections++ })
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serveConn(c)
	}
}

// decide counts the request and picks what to do with it.
func (p *Proxy) decide(req *http.Request, body []byte) (f Fault, changed <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, changed = p.fault, p.changed
	if f.Only != nil && !f.Only(requestWithBody(req, body)) {
		f = Fault{}
	}
	if f.Count > 0 {
		if p.remaining == 0 {
			f = Fault{}
		} else {
			p.remaining--
		}
	}
	p.updateLocked(func(s *ProxyStats) {
		s.Requests++
		if path := apiPath(req.URL.Path); s.Paths[path] > 0 || len(s.Paths) < maxPaths {
			s.Paths[path]++
		} else {
			s.OtherPaths++
		}
		for _, k := range f.kinds() {
			s.Faults[k]++
		}
	})
	return f, changed
}

// requestWithBody is a copy of req whose Body reads body, for the test's
// functions.
func requestWithBody(req *http.Request, body []byte) *http.Request {
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(body))
	return r
}

func (p *Proxy) serveConn(c net.Conn) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
		_ = c.Close()
	}()
	br := bufio.NewReader(c)
	bw := bufio.NewWriter(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return // the client closed, sent garbage, or the proxy closed
		}
		body, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
		_ = req.Body.Close()
		if err != nil || len(body) > maxBody {
			return
		}
		f, changed := p.decide(req, body)
		if !p.serveRequest(c, br, bw, req, body, f, changed) || req.Close {
			return
		}
	}
}

// serveRequest answers one request; false means: close the connection.
func (p *Proxy) serveRequest(c net.Conn, br *bufio.Reader, bw *bufio.Writer, req *http.Request, body []byte, f Fault, changed <-chan struct{}) bool {
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-p.closing:
			t.Stop()
			return false
		}
	}
	switch {
	case f.Reset:
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // Close now sends RST instead of FIN
		}
		return false
	case f.Blackhole:
		p.hold(c, br, changed)
		return false
	}
	r, ok := p.answer(req, body, f)
	if !ok {
		return false // the target is gone: the client sees the connection close, as without a proxy
	}
	return p.send(c, br, bw, req, r, f, changed)
}

// reply is an answer on its way to the client.
type reply struct {
	status  int
	header  http.Header
	body    io.Reader
	size    int64 // the body's length
	chunked bool  // sent chunked, without Content-Length
}

func replyOf(a *Answer) reply {
	status := a.Status
	if status == 0 {
		status = http.StatusOK
	}
	return reply{status: status, header: a.Header, body: bytes.NewReader(a.Body), size: int64(len(a.Body))}
}

// answer makes the answer the fault calls for: the proxy's own or Vault's
// (perhaps rewritten). false means the target could not be reached.
func (p *Proxy) answer(req *http.Request, body []byte, f Fault) (reply, bool) {
	switch {
	case f.HTML502:
		h := http.Header{"Content-Type": {"text/html"}, "Server": {"nginx"}}
		setRetryAfter(h, f.RetryAfter)
		return replyOf(&Answer{Status: http.StatusBadGateway, Header: h, Body: []byte(html502)}), true
	case f.Status != 0:
		msgs := f.Errors
		if len(msgs) == 0 {
			msgs = []string{fmt.Sprintf("vaulttest proxy: injected %d %s", f.Status, http.StatusText(f.Status))}
		}
		b, _ := json.Marshal(map[string][]string{"errors": msgs})
		h := http.Header{"Content-Type": {"application/json"}}
		setRetryAfter(h, f.RetryAfter)
		return replyOf(&Answer{Status: f.Status, Header: h, Body: b}), true
	case f.StreamBody != 0:
		return reply{
			status:  http.StatusOK,
			header:  http.Header{"Content-Type": {"application/json"}},
			body:    newJSONStream(f.streamPrefix(), f.StreamBody),
			size:    f.StreamBody,
			chunked: f.StreamChunked,
		}, true
	}
	if f.Respond != nil {
		if a := f.Respond(requestWithBody(req, body), body); a != nil {
			p.update(func(s *ProxyStats) { s.Faults[FaultRespond]++ })
			return replyOf(a), true
		}
	}
	p.update(func(s *ProxyStats) { s.Forwarded++ })
	resp, respBody, err := p.forward(req, body)
	if err != nil {
		return reply{}, false
	}
	h := resp.Header.Clone()
	removeHopHeaders(h)
	a := &Answer{Status: resp.StatusCode, Header: h, Body: respBody}
	if f.Rewrite != nil {
		changed := &Answer{Status: a.Status, Header: a.Header.Clone(), Body: bytes.Clone(a.Body)}
		if changed = f.Rewrite(requestWithBody(req, body), changed); changed != nil {
			p.update(func(s *ProxyStats) { s.Faults[FaultRewrite]++ })
			a = changed
		}
	}
	return replyOf(a), true
}

// send writes the answer, whole, truncated or stalled as the fault says;
// false means: close the connection.
func (p *Proxy) send(c net.Conn, br *bufio.Reader, bw *bufio.Writer, req *http.Request, r reply, f Fault, changed <-chan struct{}) bool {
	h := r.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	removeHopHeaders(h)
	h.Del("Content-Length")
	noLength := r.status/100 == 1 || r.status == http.StatusNoContent || r.status == http.StatusNotModified
	size := r.size
	if noLength || req.Method == http.MethodHead {
		size = 0 // no body on the wire
	}
	switch {
	case noLength:
	case r.chunked:
		h.Set("Transfer-Encoding", "chunked")
	default:
		h.Set("Content-Length", strconv.FormatInt(r.size, 10))
	}
	if req.Close {
		h.Set("Connection", "close")
	}
	n := size // the body bytes to send
	switch {
	case f.Stall && size == 0:
		p.hold(c, br, changed) // nothing would keep the client waiting after the headers
		return false
	case f.Stall:
		n = min(int64(f.StallAfter), size-1)
	case f.Truncate:
		n = size / 2
	}
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", r.status, http.StatusText(r.status))
	_ = h.Write(bw)
	_, _ = bw.WriteString("\r\n")
	var w io.Writer = bw
	var chunks io.WriteCloser
	if r.chunked && size > 0 {
		chunks = httputil.NewChunkedWriter(bw)
		w = chunks
	}
	if _, err := io.CopyN(w, r.body, n); err != nil {
		return false
	}
	if chunks != nil && n == size {
		_ = chunks.Close() // the last chunk
		_, _ = bw.WriteString("\r\n")
	}
	if err := bw.Flush(); err != nil {
		return false
	}
	if f.Stall {
		p.hold(c, br, changed)
		return false
	}
	return !f.Truncate && !req.Close
}

// hold keeps the connection open and silent until the fault changes, the
// proxy closes or the client hangs up; then it closes it.
func (p *Proxy) hold(c net.Conn, br *bufio.Reader, changed <-chan struct{}) {
	p.update(func(s *ProxyStats) { s.Held++ })
	defer p.update(func(s *ProxyStats) { s.Held-- })
	gone := make(chan struct{})
	go func() { // ends when the client closes or when c is closed below
		_, _ = io.Copy(io.Discard, br)
		close(gone)
	}()
	select {
	case <-changed:
	case <-p.closing:
	case <-gone:
	}
	_ = c.Close()
	<-gone
}

// forward sends the request to the target and reads the whole answer.
func (p *Proxy) forward(req *http.Request, body []byte) (*http.Response, []byte, error) {
	out := req.Clone(p.ctx)
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host = p.target.Scheme, p.target.Host
	out.Host = p.target.Host
	out.Close = false
	removeHopHeaders(out.Header)
	out.ContentLength = int64(len(body))
	if len(body) == 0 {
		out.Body = http.NoBody
	} else {
		out.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil || len(b) > maxBody {
		return nil, nil, fmt.Errorf("vaulttest: proxy: reading the answer: %v", err)
	}
	return resp, b, nil
}

func setRetryAfter(h http.Header, d time.Duration) {
	if d > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	}
}

// removeHopHeaders drops the headers that belong to one connection.
func removeHopHeaders(h http.Header) {
	for _, f := range h["Connection"] {
		for _, name := range strings.Split(f, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade"} {
		h.Del(name)
	}
}

// jsonStream generates a StreamBody: the prefix, 'A' bytes, and the closing
// of what the prefix left open, size bytes in all.
type jsonStream struct {
	parts []string // prefix, closer
	fill  int64    // 'A' bytes still to send after the prefix
	at    int      // the part being sent: 0 prefix, 1 fill, 2 closer
}

var filler = bytes.Repeat([]byte{'A'}, 32<<10)

func newJSONStream(prefix string, size int64) io.Reader {
	closer := jsonCloser(prefix)
	return &jsonStream{parts: []string{prefix, closer}, fill: size - int64(len(prefix)) - int64(len(closer))}
}

func (s *jsonStream) Read(b []byte) (int, error) {
	for len(b) > 0 {
		switch s.at {
		case 0, 2:
			part := &s.parts[s.at/2]
			if *part == "" {
				s.at++
				continue
			}
			n := copy(b, *part)
			*part = (*part)[n:]
			return n, nil
		case 1:
			if s.fill == 0 {
				s.at++
				continue
			}
			n := copy(b[:min(int64(len(b)), s.fill)], filler)
			s.fill -= int64(n)
			return n, nil
		default:
			return 0, io.EOF
		}
	}
	return 0, nil
}

// jsonCloser returns what closes the string and the objects and arrays that
// a JSON prefix leaves open: `"}}}` for {"data":{"data":{"k":".
func jsonCloser(prefix string) string {
	var open []byte
	inString, escaped := false, false
	for i := 0; i < len(prefix); i++ {
		ch := prefix[i]
		switch {
		case escaped:
			escaped = false
		case inString && ch == '\\':
			escaped = true
		case ch == '"':
			inString = !inString
		case inString:
		case ch == '{':
			open = append(open, '}')
		case ch == '[':
			open = append(open, ']')
		case (ch == '}' || ch == ']') && len(open) > 0:
			open = open[:len(open)-1]
		}
	}
	var b strings.Builder
	if inString {
		b.WriteByte('"')
	}
	for i := len(open) - 1; i >= 0; i-- {
		b.WriteByte(open[i])
	}
	return b.String()
}

const html502 = `<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
`

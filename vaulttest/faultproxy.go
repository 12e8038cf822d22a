package vaulttest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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
)

// Fault is what a Proxy does to the requests it sees. The zero Fault passes
// every request through untouched. Latency combines with any other field; of
// Reset, Truncate, HTML502, Status and Blackhole at most one may be set.
type Fault struct {
	// Latency is added before the request is forwarded (or the fault below
	// injected).
	Latency time.Duration
	// Reset reads the request, then closes the TCP connection with an RST
	// (SO_LINGER 0): the client sees "connection reset by peer".
	Reset bool
	// Truncate forwards the request, then sends Vault's status and headers
	// (with the full Content-Length) but only the first half of the body, and
	// closes the connection: the client sees an unexpected EOF. An answer
	// with an empty body arrives whole.
	Truncate bool
	// HTML502 answers 502 with an HTML page, as a load balancer whose
	// backend is down would (Content-Type text/html).
	HTML502 bool
	// Status answers this status (e.g. 429 or 503) with a Vault-style JSON
	// body {"errors":[...]} without forwarding the request.
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
	// headers, URL and body.
	Only func(*http.Request) bool
	// Count, when positive, limits the fault to the next Count matching
	// requests; later ones pass through. 0 means until the next Set.
	Count int
}

func (f Fault) validate() error {
	n := 0
	for _, set := range []bool{f.Reset, f.Truncate, f.HTML502, f.Status != 0, f.Blackhole} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return errors.New("vaulttest: a Fault sets more than one of Reset, Truncate, HTML502, Status, Blackhole")
	case f.Status != 0 && (f.Status < 100 || f.Status > 999):
		return fmt.Errorf("vaulttest: Fault.Status %d is not an HTTP status", f.Status)
	case f.RetryAfter < 0 || f.Latency < 0 || f.Count < 0:
		return errors.New("vaulttest: Fault.Latency, RetryAfter and Count must not be negative")
	case f.RetryAfter > 0 && f.Status == 0 && !f.HTML502:
		return errors.New("vaulttest: Fault.RetryAfter needs Status or HTML502")
	case len(f.Errors) > 0 && f.Status == 0:
		return errors.New("vaulttest: Fault.Errors needs Status")
	}
	return nil
}

func (f Fault) kind() FaultKind {
	switch {
	case f.Reset:
		return FaultReset
	case f.Truncate:
		return FaultTruncate
	case f.HTML502:
		return FaultHTML502
	case f.Status != 0:
		return FaultStatus
	case f.Blackhole:
		return FaultBlackhole
	}
	return ""
}

// ProxyStats counts what a Proxy saw and did.
type ProxyStats struct {
	// Connections is the number of TCP connections accepted.
	Connections int
	// Requests is the number of HTTP requests read from clients.
	Requests int
	// Forwarded is the number of requests sent on to the target (passed
	// through, delayed or truncated).
	Forwarded int
	// Faults counts the requests that got each kind of fault. A request
	// with Latency and another fault counts under both.
	Faults map[FaultKind]int
}

// Proxy is a fault-injecting HTTP/1.1 proxy in front of a Vault server, for
// resilience tests. Point the client under test at Addr and switch faults
// with Set. It is safe for concurrent use.
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

	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// maxBody bounds the request and response bodies the proxy holds in memory.
const maxBody = 32 << 20

// NewProxy starts a proxy in front of target (an http:// address such as
// Server.Addr). It passes everything through until Set, and closes when the
// test ends.
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	p, err := newProxy(target)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Close)
	return p
}

func newProxy(target string) (*Proxy, error) {
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
		Addr:    "http://" + ln.Addr().String(),
		target:  &url.URL{Scheme: u.Scheme, Host: u.Host},
		ln:      ln,
		ctx:     ctx,
		cancel:  cancel,
		changed: make(chan struct{}),
		conns:   map[net.Conn]struct{}{},
		stats:   ProxyStats{Faults: map[FaultKind]int{}},
		closing: make(chan struct{}),
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
// again. It releases the blackholed connections and restarts Count. It
// panics on a Fault that contradicts itself (e.g. Reset and Status).
func (p *Proxy) Set(f Fault) {
	if err := f.validate(); err != nil {
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
func (p *Proxy) Stats() ProxyStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Faults = make(map[FaultKind]int, len(p.stats.Faults))
	for k, v := range p.stats.Faults {
		s.Faults[k] = v
	}
	return s
}

// Close stops the proxy: it closes the listener and every client connection
// (releasing blackholed ones), aborts forwarded requests and waits for its
// goroutines. It is idempotent.
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
		p.stats.Connections++
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serveConn(c)
	}
}

// decide counts the request and picks what to do with it.
func (p *Proxy) decide(req *http.Request, body []byte) (f Fault, changed <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Requests++
	f, changed = p.fault, p.changed
	if f.Only != nil {
		probe := req.Clone(context.Background())
		probe.Body = io.NopCloser(bytes.NewReader(body))
		if !f.Only(probe) {
			f = Fault{}
		}
	}
	if f.Count > 0 {
		if p.remaining == 0 {
			f = Fault{}
		} else {
			p.remaining--
		}
	}
	if f.Latency > 0 {
		p.stats.Faults[FaultLatency]++
	}
	if k := f.kind(); k != "" {
		p.stats.Faults[k]++
	}
	if !f.Reset && !f.HTML502 && f.Status == 0 && !f.Blackhole {
		p.stats.Forwarded++
	}
	return f, changed
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
		p.blackhole(c, br, changed)
		return false
	case f.HTML502:
		h := http.Header{"Content-Type": {"text/html"}, "Server": {"nginx"}}
		setRetryAfter(h, f.RetryAfter)
		return writeResponse(bw, req, http.StatusBadGateway, h, []byte(html502)) == nil
	case f.Status != 0:
		msgs := f.Errors
		if len(msgs) == 0 {
			msgs = []string{fmt.Sprintf("vaulttest proxy: injected %d %s", f.Status, http.StatusText(f.Status))}
		}
		b, _ := json.Marshal(map[string][]string{"errors": msgs})
		h := http.Header{"Content-Type": {"application/json"}}
		setRetryAfter(h, f.RetryAfter)
		return writeResponse(bw, req, f.Status, h, b) == nil
	}
	resp, respBody, err := p.forward(req, body)
	if err != nil {
		return false // the target is gone: the client sees the connection close, as without a proxy
	}
	if f.Truncate {
		h := resp.Header.Clone()
		removeHopHeaders(h)
		h.Set("Content-Length", strconv.Itoa(len(respBody)))
		fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
		_ = h.Write(bw)
		_, _ = bw.WriteString("\r\n")
		if req.Method != http.MethodHead {
			_, _ = bw.Write(respBody[:len(respBody)/2])
		}
		_ = bw.Flush()
		return false
	}
	h := resp.Header.Clone()
	removeHopHeaders(h)
	return writeResponse(bw, req, resp.StatusCode, h, respBody) == nil
}

// blackhole holds the connection until the fault changes, the proxy closes or
// the client hangs up.
func (p *Proxy) blackhole(c net.Conn, br *bufio.Reader, changed <-chan struct{}) {
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

func writeResponse(bw *bufio.Writer, req *http.Request, status int, h http.Header, body []byte) error {
	resp := &http.Response{
		StatusCode:    status,
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Close:         req.Close,
		Request:       req, // a HEAD request gets no body
	}
	if err := resp.Write(bw); err != nil {
		return err
	}
	return bw.Flush()
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

const html502 = `<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
`

package gdsvault

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// High availability: a client given the addresses of a cluster's nodes
// (WithAddresses) sends each request to one node, the active one when it
// knows it. When that node fails in a way another node can fix — no answer,
// sealed, a standby that knows no active node, a redirect — it marks the
// node down, moves to another (preferring the active node, never a sealed
// or uninitialised one) and sends the request again there at once, if the
// request may run twice or certainly did not run. Nodes marked down are
// probed (sys/health) in the background with backoff and taken back when
// they serve again. A healthy cluster costs no extra request: probes run
// only while a node is down or after a change. The token is cluster-wide:
// a failover never forces a login.

// DefaultFailoverTimeout bounds how long a request waits for some node to
// serve again when every node is down (an election, a rolling restart),
// unless WithFailoverTimeout says otherwise.
const DefaultFailoverTimeout = 30 * time.Second

// WithAddresses gives the addresses of a cluster's nodes (VAULT_ADDRS): the
// client fails over between them (see the package doc). One address
// behaves exactly as WithAddress.
func WithAddresses(addrs ...string) Option {
	return func(s *settings) error {
		if len(addrs) == 0 {
			return &ConfigError{Field: "addresses", Problem: "is empty", Hint: "give the cluster's node addresses, e.g. VAULT_ADDRS=https://v1:8200,https://v2:8200"}
		}
		seen := map[string]bool{}
		var out []string
		var errs []error
		for _, a := range addrs {
			norm, err := normalizeAddress(a)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !seen[norm] {
				seen[norm] = true
				out = append(out, norm)
			}
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		s.address, s.addresses = out[0], out
		return nil
	}
}

// WithFailoverTimeout bounds how long a request waits, when every node of
// the cluster is down, for one to serve again (default 30 s; the request's
// own context bounds it too). Only with WithAddresses.
func WithFailoverTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return &ConfigError{Field: "failover timeout", Problem: "must be greater than zero, got " + d.String()}
		}
		s.failoverTimeout = d
		return nil
	}
}

// NodeStatus is what the client knows of one node.
type NodeStatus struct {
	Address string
	// Up says the node is used (it answered, or nothing went wrong yet);
	// Active says it was the active node when last seen.
	Up, Active bool
	// Reason says why a node is down ("" when up).
	Reason string
}

// Nodes reports the state of each configured node, in configuration order.
func (c *Client) Nodes() []NodeStatus {
	ns := c.shared.nodes
	if ns == nil {
		return []NodeStatus{{Address: c.address, Up: true}}
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	out := make([]NodeStatus, len(ns.nodes))
	for i, n := range ns.nodes {
		out[i] = NodeStatus{Address: n.addr, Up: !n.down, Active: n.active, Reason: n.reason}
	}
	return out
}

// node is one address of the cluster. Its fields change under the set's lock.
type node struct {
	addr   string
	down   bool
	active bool
	reason string
	// leaderless: down because it knew no active node (a redirect, a 500
	// "local node not active"); its sys/health may still say standby for
	// a while, so it comes back only once an active node is known.
	leaderless bool
	// probes after it went down, and when the next one is due
	probes  int
	probeAt time.Time
}

// nodeSet holds a cluster's nodes.
type nodeSet struct {
	nodes   []*node
	cur     atomic.Pointer[node] // the node requests go to
	c       *Client              // a copy without token, breaker or retries, for probes
	logger  *slog.Logger
	timeout time.Duration // failover

	first sync.Once // at the first request: find the active node

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when a node comes back or the current node changes
	probing bool
	stop    chan struct{}
	done    sync.WaitGroup
	closed  bool
}

func newNodeSet(addrs []string, timeout time.Duration) *nodeSet {
	ns := &nodeSet{timeout: timeout, changed: make(chan struct{}), stop: make(chan struct{})}
	for _, a := range addrs {
		ns.nodes = append(ns.nodes, &node{addr: a})
	}
	ns.cur.Store(ns.nodes[0])
	return ns
}

// pick returns the node to send a request to: the current one. The first
// call starts a background search for the active node.
func (ns *nodeSet) pick() *node {
	ns.first.Do(func() {
		ns.mu.Lock()
		defer ns.mu.Unlock()
		if !ns.closed {
			ns.done.Add(1)
			go func() { defer ns.done.Done(); ns.sweep() }()
		}
	})
	return ns.cur.Load()
}

// nodeFailure reports whether err means that node n cannot serve now while
// another node might: no answer (but a certificate error, which every node
// would give), sealed, a standby that knows no active node, a redirect
// (which the client does not follow in a cluster).
func nodeFailure(err error) (string, bool) {
	var re *ResponseError
	if errors.As(err, &re) {
		msg := strings.ToLower(strings.Join(re.Errors, " "))
		switch {
		case re.StatusCode == http.StatusTemporaryRedirect || re.StatusCode == http.StatusPermanentRedirect:
			return reasonLeaderless + " (a redirect)", true
		case errors.Is(re, ErrSealed):
			return "sealed", true
		case strings.Contains(msg, "local node not active") || strings.Contains(msg, "active cluster node not found"):
			return reasonLeaderless, true
		case re.StatusCode == http.StatusServiceUnavailable && re.fromVault:
			return "unavailable (503)", true
		case re.StatusCode == http.StatusBadGateway || re.StatusCode == http.StatusGatewayTimeout:
			return "unavailable (" + http.StatusText(re.StatusCode) + ")", true
		}
		return "", false
	}
	var ce *ConnectionError
	if errors.As(err, &ce) && ce.kind == nil && !errors.Is(err, context.Canceled) {
		return "no answer: " + errText(ce.Err), true
	}
	return "", false
}

// reasonLeaderless says a node is down because it knows no active node.
const reasonLeaderless = "standby without an active node (election under way)"

// redirectTarget is the configured node a 307 points to, or nil.
func (ns *nodeSet) redirectTarget(err error) *node {
	var re *ResponseError
	if !errors.As(err, &re) || re.location == "" {
		return nil
	}
	u, perr := url.Parse(re.location)
	if perr != nil {
		return nil
	}
	for _, n := range ns.nodes {
		if nu, _ := url.Parse(n.addr); nu != nil && nu.Scheme == u.Scheme && nu.Host == u.Host {
			return n
		}
	}
	return nil
}

// failed records that n failed with err. It reports whether the request may
// go to another node: err is a node failure. n is marked down and the
// current node moves to the best other one; the prober starts.
func (ns *nodeSet) failed(n *node, err error) bool {
	reason, ok := nodeFailure(err)
	if !ok {
		return false
	}
	hint := ns.redirectTarget(err)
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if !n.down {
		n.down, n.active, n.reason, n.probes = true, false, reason, 0
		n.probeAt = time.Now().Add(probeBackoff(0))
		ns.logger.Warn("vault node down", "node", n.addr, "reason", reason)
	}
	n.leaderless = strings.HasPrefix(reason, reasonLeaderless)
	if ns.cur.Load() == n {
		next := ns.bestLocked(hint)
		if next != nil && next != n {
			ns.switchLocked(n, next, "node "+n.addr+" "+reason)
		}
	}
	ns.startProberLocked()
	return true
}

// activeKnownLocked reports whether some node up is known to be active.
func (ns *nodeSet) activeKnownLocked() bool {
	for _, n := range ns.nodes {
		if n.active && !n.down {
			return true
		}
	}
	return false
}

// bestLocked chooses the node to use: hint when it is up, else the active
// node, else any node up (in configuration order), else nil.
func (ns *nodeSet) bestLocked(hint *node) *node {
	if hint != nil && !hint.down {
		return hint
	}
	var up *node
	for _, n := range ns.nodes {
		if n.down {
			continue
		}
		if n.active {
			return n
		}
		if up == nil {
			up = n
		}
	}
	return up
}

func (ns *nodeSet) switchLocked(from, to *node, why string) {
	ns.cur.Store(to)
	close(ns.changed)
	ns.changed = make(chan struct{})
	ns.logger.Info("vault node changed", "from", from.addr, "to", to.addr, "reason", why)
	if o := ns.c.observer; o != nil {
		o.Notice(Notice{Kind: NoticeNode, Time: time.Now(), From: from.addr, To: to.addr, Reason: why})
	}
}

// usable reports whether some node is up, and returns a channel closed at
// the next change.
func (ns *nodeSet) usable() (bool, <-chan struct{}) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return !ns.cur.Load().down, ns.changed
}

// await waits until some node is up (the current one), ctx ends or the
// deadline passes; it reports whether a node is up.
func (ns *nodeSet) await(ctx context.Context, deadline time.Time) bool {
	for {
		up, changed := ns.usable()
		if up {
			return true
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return false
		}
		t := time.NewTimer(wait)
		select {
		case <-changed:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
			return false
		}
	}
}

// probeBackoff is the wait before the n-th probe of a node that is down:
// 100 ms doubling to 5 s, minus up to a quarter of jitter. While every node
// is down (an election), probes stay frequent, so that the new active node
// is found a moment after it serves.
func probeBackoff(n int) time.Duration {
	d := 100 * time.Millisecond
	for i := 0; i < n && d < 5*time.Second; i++ {
		d *= 2
	}
	d = min(d, 5*time.Second)
	return d - time.Duration(float64(d/4)*rand.Float64())
}

func (ns *nodeSet) startProberLocked() {
	if ns.probing || ns.closed {
		return
	}
	ns.probing = true
	ns.done.Add(1)
	go ns.probe()
}

// probe checks the nodes that are down until all are up again (and, after
// a change, every node once, to learn which one is active).
func (ns *nodeSet) probe() {
	defer ns.done.Done()
	ns.sweep()
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		ns.mu.Lock()
		var due []*node
		next := time.Time{}
		for _, n := range ns.nodes {
			if !n.down {
				continue
			}
			at := n.probeAt
			if !at.After(time.Now()) {
				due = append(due, n)
			} else if next.IsZero() || at.Before(next) {
				next = at
			}
		}
		if len(due) == 0 && next.IsZero() {
			ns.probing = false
			ns.mu.Unlock()
			return
		}
		ns.mu.Unlock()
		for _, n := range due {
			ns.check(n)
		}
		if len(due) > 0 {
			continue
		}
		timer.Reset(time.Until(next))
		select {
		case <-ns.stop:
			return
		case <-timer.C:
		}
	}
}

// health is the part of sys/health a probe reads.
type health struct {
	Initialized         bool  `json:"initialized"`
	Sealed              bool  `json:"sealed"`
	Standby             bool  `json:"standby"`
	HAConnectionHealthy *bool `json:"ha_connection_healthy"`
}

// check probes n once: a node that serves (active, or a standby connected to
// an active node) is up, any other is down; the current node moves to the
// active one, or away from a node that went down.
func (ns *nodeSet) check(n *node) {
	active, ok, why := ns.healthOf(n)
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ok && !active && n.leaderless && !ns.activeKnownLocked() {
		// It says standby, but it just refused to serve for want of an
		// active node: wait until one is known.
		ok, why = false, reasonLeaderless
	}
	if !ok {
		if !n.down {
			n.down, n.active, n.probes = true, false, 0
			ns.logger.Warn("vault node down", "node", n.addr, "reason", why)
			if cur := ns.cur.Load(); cur == n {
				if next := ns.bestLocked(nil); next != nil {
					ns.switchLocked(n, next, "node "+n.addr+" "+why)
				}
			}
		}
		ns.startProberLocked()
		n.probes++
		n.reason = why
		wait := probeBackoff(n.probes)
		if ns.cur.Load().down {
			wait = probeBackoff(0) // no node serves: look often, to find the new active node at once
		}
		n.probeAt = time.Now().Add(wait)
		return
	}
	wasDown := n.down
	n.down, n.active, n.reason, n.probes, n.leaderless = false, active, "", 0, false
	if active {
		for _, o := range ns.nodes {
			if o != n {
				o.active = false
			}
		}
	}
	if wasDown {
		ns.logger.Info("vault node up", "node", n.addr, "active", active)
	}
	cur := ns.cur.Load()
	switch {
	case cur.down, active && !cur.active:
		ns.switchLocked(cur, n, "node "+n.addr+" serves again")
	default:
		close(ns.changed)
		ns.changed = make(chan struct{})
	}
}

// healthOf asks n's sys/health: active, serving, and why not.
func (ns *nodeSet) healthOf(n *node) (active, ok bool, why string) {
	ctx, cancel := context.WithTimeout(context.Background(), min(ns.c.timeout, 2*time.Second))
	defer cancel()
	go func() {
		select {
		case <-ns.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.addr+"/v1/sys/health", nil)
	if err != nil {
		return false, false, errText(err)
	}
	resp, err := ns.c.http.Do(req)
	if err != nil {
		return false, false, "no answer"
	}
	defer resp.Body.Close()
	var h health
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&h)
	switch resp.StatusCode {
	case http.StatusOK:
		return true, true, ""
	case http.StatusTooManyRequests, 473: // standby, performance standby
		if h.HAConnectionHealthy != nil && !*h.HAConnectionHealthy {
			return false, false, "standby without an active node"
		}
		return false, true, ""
	case http.StatusServiceUnavailable:
		return false, false, "sealed"
	case http.StatusNotImplemented:
		return false, false, "not initialised"
	case 474:
		return false, false, "standby without an active node"
	}
	return false, false, "health " + http.StatusText(resp.StatusCode)
}

// sweep probes every node once: after a change, to learn which node is
// active (standbys forward requests, so this is an optimisation) and which
// are down.
func (ns *nodeSet) sweep() {
	for _, n := range ns.nodes {
		select {
		case <-ns.stop:
			return
		default:
		}
		ns.check(n)
	}
}

// noNodeError is returned when no node of the cluster served within the
// failover timeout. It wraps the last node's error and is not retried: the
// wait for a node already took the time retries would.
type noNodeError struct {
	err    error
	waited time.Duration
	nodes  []NodeStatus
}

func (e *noNodeError) Error() string {
	var b strings.Builder
	b.WriteString("no vault node served within " + e.waited.Round(time.Millisecond).String() + " (")
	for i, n := range e.nodes {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(n.Address + ": " + n.Reason)
	}
	b.WriteString("): " + e.err.Error())
	return b.String()
}

func (e *noNodeError) Unwrap() error { return e.err }

// close stops the prober.
func (ns *nodeSet) close() {
	ns.mu.Lock()
	if !ns.closed {
		ns.closed = true
		close(ns.stop)
	}
	ns.mu.Unlock()
	ns.done.Wait()
}

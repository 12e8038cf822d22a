package prom

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/secretcache"
	"github.com/prometheus/client_golang/prometheus"
)

// Collector is a prometheus.Collector and a gdsvault.Observer: attach it to
// one or more clients with gdsvault.WithObserver and register it once.
// Counters and histograms are updated on the request path; cache counters,
// the breaker state, the token's remaining TTL and the current node are
// read when scraped. It is safe for concurrent use.
type Collector struct {
	requests      *prometheus.HistogramVec
	requestErrors *prometheus.CounterVec
	retries       *prometheus.CounterVec
	transitions   *prometheus.CounterVec
	tokenEvents   *prometheus.CounterVec
	operations    *prometheus.CounterVec
	opDuration    *prometheus.HistogramVec
	leaseEvents   *prometheus.CounterVec
	nodeChanges   prometheus.Counter

	breakerState, tokenTTL, nodeCurrent, nodeUp, clients *prometheus.Desc
	cache                                                [len(cacheCounters)]*prometheus.Desc
	cacheEntries                                         *prometheus.Desc

	mounts, kinds, methods *boundedSet

	mu sync.Mutex
	// attached are the clients read at scrape time. They are held for the
	// collector's life (a client closed and dropped by the program keeps
	// its counters, so that they never go back).
	attached    []*gdsvault.Client
	nodes       []string // the values the node label may take, in order
	breaker     string
	tokenExpiry time.Time // zero: no token with a known TTL
}

// The cache counters, in the order of Collector.cache.
var cacheCounters = [...]struct{ name, help string }{
	{"cache_hits_total", "Reads answered with a fresh cached value."},
	{"cache_misses_total", "Reads not answered with a fresh cached value (fetched, joined a fetch, stale, or failed)."},
	{"cache_stale_total", "Reads answered with a stale value while Vault failed transiently."},
	{"cache_evictions_total", "Entries evicted to make room (not invalidations)."},
	{"cache_fetches_total", "Fetches from Vault made by the cache."},
	{"cache_fetch_errors_total", "Fetches from Vault that failed."},
	{"cache_shared_total", "Reads that joined another read's fetch."},
}

func cacheValues(s secretcache.Stats) [len(cacheCounters)]uint64 {
	return [...]uint64{s.Hits, s.Misses, s.Stale, s.Evictions, s.Fetches, s.FetchErrors, s.Shared}
}

// NewCollector returns a collector; bad options make it fail with
// *gdsvault.ConfigError values joined with errors.Join.
func NewCollector(opts ...Option) (*Collector, error) {
	cfg, err := apply(opts)
	if err != nil {
		return nil, err
	}
	var constLabels prometheus.Labels
	if cfg.clientName != "" {
		constLabels = prometheus.Labels{"client": cfg.clientName}
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help, ConstLabels: constLabels}, labels)
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, constLabels)
	}
	c := &Collector{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "request_duration_seconds",
			Help:        "Duration of HTTP exchanges with Vault (each attempt, logins and renewals included), by method, mount and status class.",
			ConstLabels: constLabels, Buckets: cfg.buckets}, []string{"method", "mount", "status_class"}),
		requestErrors: counter("request_errors_total", "HTTP exchanges with Vault that failed, by method, mount and error kind (gdsvault.ErrorKind).",
			"method", "mount", "kind"),
		retries:     counter("retries_total", "Requests retried, by the error kind of the failed attempt.", "reason"),
		transitions: counter("breaker_transitions_total", "Circuit breaker state changes.", "from", "to"),
		tokenEvents: counter("token_events_total", "Token lifecycle events (gdsvault.EventKind).", "event"),
		operations: counter("auth_operations_total", "Logins and token renewals, by auth method and result (success or an error kind).",
			"operation", "method", "result"),
		opDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "auth_operation_duration_seconds",
			Help:        "Duration of logins and token renewals, by auth method.",
			ConstLabels: constLabels, Buckets: cfg.buckets}, []string{"operation", "method"}),
		leaseEvents: counter("lease_events_total", "Leased secret events (package lease): renewed, renewal_failed, rotated, rotation_failed, revoked.", "event"),
		nodeChanges: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "node_changes_total",
			Help: "Moves of a client to another Vault node.", ConstLabels: constLabels}),

		breakerState: desc("breaker_state", "Circuit breaker state: 1 for the current state, 0 for the others (closed without a breaker).", "state"),
		tokenTTL:     desc("token_ttl_seconds", "Time left before the client's token expires, as of its last login or renewal."),
		nodeCurrent:  desc("node_current", "Clients talking to this Vault node now: 1 for the node a client uses, 0 for its other nodes.", "node"),
		nodeUp:       desc("node_up", "Clients that take this Vault node to be up (serving, or not yet seen failing).", "node"),
		clients:      desc("clients", "Clients attached to this collector."),
		cacheEntries: desc("cache_entries", "Entries held by the read caches.", "cache"),

		mounts:  newBoundedSet(cfg.maxMounts),
		kinds:   newBoundedSet(maxErrorKinds),
		methods: newBoundedSet(maxAuthMethods),
		breaker: "closed",
	}
	for i, cc := range cacheCounters {
		c.cache[i] = desc(cc.name, cc.help, "cache")
	}
	for _, k := range errorKinds {
		c.kinds.label(k)
	}
	return c, nil
}

const namespace = "gdsvault"

// Attach is called by gdsvault.New: the collector reads the client's cache
// counters and nodes at scrape time, and the client's node addresses
// (WithAddress, WithAddresses) become values of the node label.
func (c *Collector) Attach(cl *gdsvault.Client) {
	if cl == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if slices.Contains(c.attached, cl) {
		return
	}
	c.attached = append(c.attached, cl)
	for _, n := range cl.Nodes() {
		c.addNodeLocked(n.Address)
	}
}

func (c *Collector) addNodeLocked(addr string) {
	if !slices.Contains(c.nodes, addr) {
		c.nodes = append(c.nodes, addr)
	}
}

// StartRequest times one exchange; its outcome is counted by method, mount
// and status class, and by error kind when it failed.
func (c *Collector) StartRequest(ctx context.Context, r gdsvault.RequestInfo) (context.Context, func(gdsvault.RequestOutcome)) {
	method, mount := httpMethod(r.Method), c.mounts.label(r.Mount)
	return ctx, func(out gdsvault.RequestOutcome) {
		c.requests.WithLabelValues(method, mount, statusClass(out.Status)).Observe(out.Duration.Seconds())
		if out.Err != nil {
			c.requestErrors.WithLabelValues(method, mount, c.kinds.label(gdsvault.ErrorKind(out.Err))).Inc()
		}
	}
}

// StartOperation times a login or a renewal and counts its result.
func (c *Collector) StartOperation(ctx context.Context, op gdsvault.OperationInfo) (context.Context, func(error)) {
	kind := oneOf(op.Kind, operationKinds...)
	method := op.Method
	if method == "" {
		method = "unknown"
	}
	method = c.methods.label(method)
	start := time.Now()
	return ctx, func(err error) {
		result := "success"
		if err != nil {
			result = c.kinds.label(gdsvault.ErrorKind(err))
		}
		c.operations.WithLabelValues(kind, method, result).Inc()
		c.opDuration.WithLabelValues(kind, method).Observe(time.Since(start).Seconds())
	}
}

// Notice counts retries, breaker transitions, token events, lease events
// and node changes, and keeps the breaker state and the token's expiry for
// the gauges.
func (c *Collector) Notice(n gdsvault.Notice) {
	switch n.Kind {
	case gdsvault.NoticeRetry:
		c.retries.WithLabelValues(c.kinds.label(n.Reason)).Inc()
	case gdsvault.NoticeBreaker:
		to := oneOf(n.To, breakerStates...)
		c.transitions.WithLabelValues(oneOf(n.From, breakerStates...), to).Inc()
		c.mu.Lock()
		c.breaker = to
		c.mu.Unlock()
	case gdsvault.NoticeToken:
		if n.Event != nil {
			c.tokenEvent(n.Event)
		}
	case gdsvault.NoticeLease:
		c.leaseEvents.WithLabelValues(oneOf(n.Reason, leaseEvents...)).Inc()
	case gdsvault.NoticeNode:
		c.nodeChanges.Inc()
	}
}

func (c *Collector) tokenEvent(ev *gdsvault.Event) {
	c.tokenEvents.WithLabelValues(oneOf(ev.Kind.String(), tokenEvents...)).Inc()
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ev.Kind {
	case gdsvault.EventLogin, gdsvault.EventRenewed:
		if ev.TTL > 0 {
			c.tokenExpiry = ev.Time.Add(ev.TTL)
		} else {
			c.tokenExpiry = time.Time{} // does not expire, or unknown
		}
	case gdsvault.EventExpired, gdsvault.EventRevoked:
		c.tokenExpiry = ev.Time // no valid token: 0 s left
	case gdsvault.EventClosed:
		c.tokenExpiry = time.Time{}
	}
}

// Describe sends the descriptors of every metric.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, v := range c.collectors() {
		v.Describe(ch)
	}
	for _, d := range c.cache {
		ch <- d
	}
	ch <- c.cacheEntries
	ch <- c.breakerState
	ch <- c.tokenTTL
	ch <- c.nodeCurrent
	ch <- c.nodeUp
	ch <- c.clients
}

func (c *Collector) collectors() []prometheus.Collector {
	return []prometheus.Collector{c.requests, c.requestErrors, c.retries, c.transitions, c.tokenEvents,
		c.operations, c.opDuration, c.leaseEvents, c.nodeChanges}
}

// Collect sends the current value of every metric: the counters kept on the
// request path, and the gauges and cache counters read now.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, v := range c.collectors() {
		v.Collect(ch)
	}
	stats, current, up, n := c.readClients()
	for i, name := range [2]string{"kv", "read"} {
		vals := cacheValues(stats[i])
		for j, d := range c.cache {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(vals[j]), name)
		}
		ch <- prometheus.MustNewConstMetric(c.cacheEntries, prometheus.GaugeValue, float64(stats[i].Entries), name)
	}
	ch <- prometheus.MustNewConstMetric(c.clients, prometheus.GaugeValue, float64(n))

	c.mu.Lock()
	breaker, expiry, nodes := c.breaker, c.tokenExpiry, slices.Clone(c.nodes)
	c.mu.Unlock()
	for _, s := range breakerStates {
		ch <- prometheus.MustNewConstMetric(c.breakerState, prometheus.GaugeValue, boolValue(s == breaker), s)
	}
	if !expiry.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.tokenTTL, prometheus.GaugeValue, max(time.Until(expiry).Seconds(), 0))
	}
	if current[otherValue]+up[otherValue] > 0 {
		nodes = append(nodes, otherValue)
	}
	for _, n := range nodes {
		ch <- prometheus.MustNewConstMetric(c.nodeCurrent, prometheus.GaugeValue, float64(current[n]), n)
		ch <- prometheus.MustNewConstMetric(c.nodeUp, prometheus.GaugeValue, float64(up[n]), n)
	}
}

// readClients sums the cache counters of the attached clients, and counts
// the clients talking to each node and those that take each node to be up
// (a node outside the label's values counts as "other").
func (c *Collector) readClients() (sum [2]secretcache.Stats, current, up map[string]int, n int) {
	c.mu.Lock()
	clients, nodes := slices.Clone(c.attached), slices.Clone(c.nodes)
	c.mu.Unlock()
	label := func(addr string) string {
		if slices.Contains(nodes, addr) {
			return addr
		}
		return otherValue
	}
	current, up = map[string]int{}, map[string]int{}
	for _, cl := range clients {
		kv, read := cl.CacheStats()
		add(&sum[0], kv)
		add(&sum[1], read)
		current[label(cl.Address())]++
		for _, ns := range cl.Nodes() {
			if ns.Up {
				up[label(ns.Address)]++
			}
		}
	}
	return sum, current, up, len(clients)
}

// add adds the counters and the entries of s to t.
func add(t *secretcache.Stats, s secretcache.Stats) {
	t.Hits += s.Hits
	t.Misses += s.Misses
	t.Stale += s.Stale
	t.Evictions += s.Evictions
	t.Fetches += s.Fetches
	t.FetchErrors += s.FetchErrors
	t.Shared += s.Shared
	t.Entries += s.Entries
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var (
	_ prometheus.Collector = (*Collector)(nil)
	_ gdsvault.Observer    = (*Collector)(nil)
)

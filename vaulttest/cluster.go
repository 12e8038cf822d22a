package vaulttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ClusterOptions change how a cluster starts.
type ClusterOptions struct {
	// Args are extra arguments for each node's `vault server -config=...`.
	Args []string
	// StartTimeout bounds the start, from the first process to n voters
	// (default 3 minutes; three nodes take 8 to 25 s on a busy two-core
	// machine).
	StartTimeout time.Duration
}

// ClusterNode describes one node of a Cluster.
type ClusterNode struct {
	// ID is the node's raft node_id: node0, node1...
	ID string
	// Addr is the node's api_addr, e.g. http://127.0.0.1:41234.
	Addr string
	// ClusterAddr is the node's cluster_addr (request forwarding and raft),
	// e.g. https://127.0.0.1:41235.
	ClusterAddr string
	// Dir holds the node's configuration and raft data.
	Dir string
}

// Peer is a server in the raft configuration
// (sys/storage/raft/configuration).
type Peer struct {
	ID      string `json:"node_id"`
	Address string `json:"address"` // the cluster address, host:port
	Leader  bool   `json:"leader"`
	Voter   bool   `json:"voter"`
}

// ErrNoLeader is returned (wrapped) by Leader when no node answers sys/health
// with 200 (active).
var ErrNoLeader = errors.New("vaulttest: no active node")

// errExited is returned (wrapped) when a node's process exits while a wait
// expects an answer from it.
var errExited = errors.New("exited")

const (
	// clusterProbeTimeout bounds one request to one node; the waits poll
	// with it until their context ends.
	clusterProbeTimeout = 5 * time.Second
	clusterPoll         = 100 * time.Millisecond
)

// Cluster is n Vault servers (not dev servers) on loopback with integrated
// storage (raft), initialised with one unseal key and unsealed by the harness.
// Each node has its own API port (plain HTTP) and cluster port; node 0 is
// initialised first and the others join it through retry_join. Raft runs
// with performance_multiplier 1 (a new leader about 2 s after the old one
// dies); autopilot promotes joiners to voters after 2 s of stability and never
// removes dead servers, so a killed node keeps its place and can come back.
// KV v2 is mounted at secret/ as on a dev server.
//
// The active node answers sys/health 200; a standby 429 and forwards requests
// to the active node. A standby that cannot reach the active node (it died,
// or the cluster lost its quorum) answers requests with a 307 redirect to the
// active node's api_addr, and sys/health 474 once its last heartbeat is 10 s
// old.
//
// Its methods wait for their effect and return an error when ctx ends first.
// Those that change a node (Kill, Restart, RestartSealed, Seal, Unseal) hold
// that node for their duration; Leader, Health, Peers and the *Server handles
// can be used from any goroutine at any time.
type Cluster struct {
	// RootToken is the root token from sys/init.
	RootToken string
	// UnsealKey is the only unseal key (one share, threshold one).
	UnsealKey string
	// Dir holds every node's directory (removed at Close).
	Dir string

	nodes     []*clusterNode
	transport *http.Transport
	closeOnce sync.Once
}

type clusterNode struct {
	info ClusterNode
	// mu serialises the changes of the node's process and seal state.
	mu sync.Mutex
	// proc is the node's process (started, killed and restarted with the
	// persistent server's machinery), its address, logs and storage.
	proc *PersistentServer
	// view is a *Server for the provisioning helpers: it sends requests to
	// the node and owns no process (its Stop does nothing).
	view *Server
}

// NewCluster starts a cluster of n nodes for one test (failing it if the
// cluster does not reach n voters) and closes it when the test ends.
func NewCluster(tb testing.TB, n int, opts ClusterOptions) *Cluster {
	tb.Helper()
	c, err := StartCluster(n, opts)
	skipOrFail(tb, err, ErrNoBinary, skipLine)
	tb.Cleanup(func() {
		if tb.Failed() {
			for i, nd := range c.nodes {
				tb.Logf("vault %s log (last 8 KiB):\n%s", nd.info.ID, tail(c.Logs(i), 8192))
			}
		}
		c.Close()
	})
	return c
}

// StartCluster is NewCluster without a test: close the cluster with Close.
// It returns once all n nodes are unsealed voters and secret/ serves.
func StartCluster(n int, opts ClusterOptions) (*Cluster, error) {
	if n < 1 {
		return nil, fmt.Errorf("vaulttest: a cluster needs at least one node, not %d", n)
	}
	if opts.StartTimeout < 0 {
		return nil, fmt.Errorf("vaulttest: negative ClusterOptions.StartTimeout %s", opts.StartTimeout)
	}
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		c, err := startCluster(bin, n, opts)
		if err == nil {
			return c, nil
		}
		lastErr = err
		if !errors.Is(err, errExited) { // only a port taken between probe and bind is worth a new start
			break
		}
	}
	return nil, lastErr
}

func startCluster(bin string, n int, opts ClusterOptions) (*Cluster, error) {
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, fmt.Errorf("vaulttest: no free ports: %w", err)
	}
	dir, err := os.MkdirTemp("", "vaulttest-cluster-")
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	c := &Cluster{Dir: dir, transport: tr}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	for i := 0; i < n; i++ {
		api, cluster := "127.0.0.1:"+strconv.Itoa(ports[2*i]), "127.0.0.1:"+strconv.Itoa(ports[2*i+1])
		c.nodes = append(c.nodes, &clusterNode{info: ClusterNode{
			ID:          "node" + strconv.Itoa(i),
			Addr:        "http://" + api,
			ClusterAddr: "https://" + cluster,
			Dir:         filepath.Join(dir, "node"+strconv.Itoa(i)),
		}})
	}
	fail := func(err error) (*Cluster, error) {
		var logs strings.Builder
		for i, nd := range c.nodes {
			if nd.proc != nil {
				fmt.Fprintf(&logs, "\nvault %s log (last 4 KiB):\n%s", nd.info.ID, tail(c.Logs(i), 4096))
			}
		}
		c.Close()
		return nil, fmt.Errorf("%w%s", err, logs.String())
	}
	for i, nd := range c.nodes {
		listen := strings.TrimPrefix(nd.info.Addr, "http://")
		proc := &PersistentServer{
			Server: &Server{
				Addr: nd.info.Addr,
				Dir:  nd.info.Dir,
				Bin:  bin,
				logs: &LogBuffer{},
				done: make(chan struct{}),
				http: hc,
			},
			Config:  filepath.Join(nd.info.Dir, "vault.hcl"),
			Storage: filepath.Join(nd.info.Dir, "raft"),
			listen:  listen,
			popts:   PersistentOptions{Args: opts.Args},
		}
		close(proc.done) // no process yet
		nd.proc = proc
		nd.view = &Server{Addr: nd.info.Addr, Bin: bin, logs: proc.logs, done: proc.done, http: hc}
		if err := os.MkdirAll(proc.Storage, 0o700); err != nil {
			return fail(err)
		}
		if err := os.WriteFile(proc.Config, []byte(c.nodeConfig(i)), 0o600); err != nil {
			return fail(err)
		}
	}
	for _, nd := range c.nodes {
		if err := nd.proc.startProcess(); err != nil {
			return fail(err)
		}
	}
	for _, nd := range c.nodes { // 501 (uninitialised) is an answer
		if err := c.waitNode(ctx, nd, "answering", func(int, nodeHealth) bool { return true }); err != nil {
			return fail(err)
		}
	}

	first := c.nodes[0]
	initCtx, cancelInit := context.WithTimeout(ctx, 30*time.Second)
	out, err := first.view.Do(initCtx, http.MethodPut, "sys/init", map[string]any{"secret_shares": 1, "secret_threshold": 1})
	cancelInit()
	if err != nil {
		return fail(err)
	}
	keys, _ := out["keys"].([]any)
	root, _ := out["root_token"].(string)
	var key string
	if len(keys) == 1 {
		key, _ = keys[0].(string)
	}
	if key == "" || root == "" {
		return fail(errors.New("vaulttest: sys/init answered no key or no root token"))
	}
	c.RootToken, c.UnsealKey = root, key
	for _, nd := range c.nodes {
		nd.proc.RootToken, nd.proc.UnsealKey = root, key
		nd.view.RootToken, nd.view.UnsealKey = root, key
	}
	if err := c.unseal(ctx, first); err != nil {
		return fail(err)
	}
	if err := c.waitNode(ctx, first, "active", func(s int, _ nodeHealth) bool { return s == http.StatusOK }); err != nil {
		return fail(err)
	}
	// Autopilot's defaults make a joiner wait 10 s (server_stabilization_time)
	// after it caught up before it becomes a voter, and act every 10 s
	// (autopilot_reconcile_interval, set to 1 s in the storage stanza).
	// Dead servers stay: a killed node must be able to come back.
	autopilot := map[string]any{
		"cleanup_dead_servers":      false,
		"server_stabilization_time": "2s",
		"last_contact_threshold":    "10s",
		"max_trailing_logs":         1000,
	}
	if err := poll(ctx, "autopilot configuration", func(ctx context.Context) error {
		_, err := first.view.Do(ctx, http.MethodPost, "sys/storage/raft/autopilot/configuration", autopilot)
		return err
	}); err != nil {
		return fail(err)
	}
	// The joiners take the key in parallel: each fetches the leader's
	// challenge on its own 2 s retry_join cycle.
	joinErrs := make([]error, n)
	var joins sync.WaitGroup
	for i, nd := range c.nodes[1:] {
		joins.Go(func() { joinErrs[i+1] = c.unseal(ctx, nd) })
	}
	joins.Wait()
	if err := errors.Join(joinErrs...); err != nil {
		return fail(err)
	}
	if err := poll(ctx, strconv.Itoa(n)+" voters", func(ctx context.Context) error {
		peers, err := c.Peers(ctx)
		if err != nil {
			return err
		}
		var voters []string
		for _, p := range peers {
			if p.Voter {
				voters = append(voters, p.ID)
			}
		}
		if len(voters) < n {
			return fmt.Errorf("voters %v of %d servers", voters, len(peers))
		}
		return nil
	}); err != nil {
		return fail(err)
	}
	if err := poll(ctx, "KV v2 at secret/", func(ctx context.Context) error {
		if _, err := first.view.Do(ctx, http.MethodGet, "sys/mounts/secret", nil); err == nil {
			return nil // mounted, by an earlier try whose answer was lost
		}
		_, err := first.view.Do(ctx, http.MethodPost, "sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
		return err
	}); err != nil {
		return fail(err)
	}
	// After a mount, KV v2 answers errors for a moment while it sets itself up.
	if err := poll(ctx, "KV v2 at secret/ serving", func(ctx context.Context) error {
		_, err := first.view.Do(ctx, http.MethodGet, "secret/config", nil)
		return err
	}); err != nil {
		return fail(err)
	}
	return c, nil
}

// nodeConfig is node i's HCL: raft storage that retries to join every other
// node (a node with raft data of its own ignores retry_join), a plain-HTTP
// listener and its cluster port.
func (c *Cluster) nodeConfig(i int) string {
	nd := c.nodes[i]
	var join strings.Builder
	for j, other := range c.nodes {
		if j != i {
			fmt.Fprintf(&join, "\n  retry_join {\n    leader_api_addr = %q\n  }\n", other.info.Addr)
		}
	}
	return fmt.Sprintf(`storage "raft" {
  path                         = %s
  node_id                      = %q
  performance_multiplier       = 1
  autopilot_reconcile_interval = "1s"
  autopilot_update_interval    = "500ms"
%s}

listener "tcp" {
  address         = %q
  cluster_address = %q
  tls_disable     = true
}

api_addr      = %q
cluster_addr  = %q
disable_mlock = true
ui            = false
`, strconv.Quote(nd.proc.Storage), nd.info.ID, join.String(),
		strings.TrimPrefix(nd.info.Addr, "http://"), strings.TrimPrefix(nd.info.ClusterAddr, "https://"),
		nd.info.Addr, nd.info.ClusterAddr)
}

// freePorts returns k distinct free loopback ports (held together while
// probing, so none repeats).
func freePorts(k int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for len(ports) < k {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Close kills every node and removes their directories. It is idempotent.
func (c *Cluster) Close() {
	c.closeOnce.Do(func() {
		for _, nd := range c.nodes {
			if nd.proc == nil {
				continue
			}
			nd.mu.Lock()
			nd.proc.Kill()
			nd.proc.Stop() // the process is gone: removes the node's directory
			nd.mu.Unlock()
		}
		os.RemoveAll(c.Dir)
		c.transport.CloseIdleConnections()
	})
}

// Addresses returns every node's api_addr, in node order.
func (c *Cluster) Addresses() []string {
	out := make([]string, len(c.nodes))
	for i, nd := range c.nodes {
		out[i] = nd.info.Addr
	}
	return out
}

// Node describes node i (0 <= i < n; it panics otherwise, as a slice does).
func (c *Cluster) Node(i int) ClusterNode { return c.nodes[i].info }

// Server returns a *Server that sends its requests to node i as root, for the
// provisioning helpers (Do, Must, PutKV, EnableSecrets, WritePolicy,
// CreateToken...): a standby forwards them to the active node. It owns no
// process: its Stop does nothing, Logs shows node i's output. Seal and Unseal
// on it send the bare requests; the cluster's Seal and Unseal also handle a
// standby and wait for the effect.
func (c *Cluster) Server(i int) *Server { return c.nodes[i].view }

// Active waits for a node that serves as active (WaitLeader) and returns its
// Server.
func (c *Cluster) Active(ctx context.Context) (*Server, error) {
	i, err := c.WaitLeader(ctx)
	if err != nil {
		return nil, err
	}
	return c.nodes[i].view, nil
}

// Logs returns what node i printed so far (all its runs).
func (c *Cluster) Logs(i int) string { return c.nodes[i].proc.Logs() }

func (c *Cluster) node(i int) (*clusterNode, error) {
	if i < 0 || i >= len(c.nodes) {
		return nil, fmt.Errorf("vaulttest: no node %d in a cluster of %d", i, len(c.nodes))
	}
	return c.nodes[i], nil
}

// nodeHealth is the part of sys/health's answer the cluster reads.
type nodeHealth struct {
	Initialized bool `json:"initialized"`
	Sealed      bool `json:"sealed"`
	Standby     bool `json:"standby"`
	// HAConnectionHealthy is set on a standby once it has found the active
	// node and started heartbeating over its request-forwarding connection.
	HAConnectionHealthy *bool `json:"ha_connection_healthy"`
}

var trueValue = true

// serving is true for the active node and for a standby that forwards
// requests to it. A standby reports 429 as soon as it is unsealed; until it
// has found the active node it answers requests with 500 "local node not
// active but active cluster node not found".
func serving(status int, h nodeHealth) bool {
	return status == http.StatusOK ||
		status == http.StatusTooManyRequests && h.HAConnectionHealthy != nil && *h.HAConnectionHealthy
}

// health asks nd for sys/health: the status code and the decoded answer.
func (c *Cluster) health(ctx context.Context, nd *clusterNode) (int, nodeHealth, error) {
	ctx, cancel := context.WithTimeout(ctx, clusterProbeTimeout)
	defer cancel()
	b, status, err := nd.proc.raw(ctx, http.MethodGet, "sys/health", nil, "")
	var h nodeHealth
	if err == nil && json.Unmarshal(b, &h) != nil {
		err = fmt.Errorf("vaulttest: %s sys/health: %d, not JSON: %.200s", nd.info.ID, status, b)
	}
	return status, h, err
}

// Health returns node i's sys/health status code: 200 active, 429 standby,
// 474 standby that lost its connection to the active node, 503 sealed, 501
// not initialised, 530 removed from the cluster. An error means no answer.
func (c *Cluster) Health(ctx context.Context, i int) (int, error) {
	nd, err := c.node(i)
	if err != nil {
		return 0, err
	}
	status, _, err := c.health(ctx, nd)
	return status, err
}

func describeHealth(status int, err error) string {
	if err != nil {
		return err.Error()
	}
	names := map[int]string{200: "active", 429: "standby", 473: "performance standby", 474: "standby without a healthy active",
		501: "not initialised", 503: "sealed", 530: "removed"}
	if name, ok := names[status]; ok {
		return strconv.Itoa(status) + " " + name
	}
	return strconv.Itoa(status)
}

// Leader asks every node for sys/health once and returns the index of the
// one that answers 200 (active). Without one it returns an error wrapping
// ErrNoLeader that lists each node's answer.
func (c *Cluster) Leader(ctx context.Context) (int, error) {
	status := make([]int, len(c.nodes))
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i, nd := range c.nodes {
		wg.Go(func() { status[i], _, errs[i] = c.health(ctx, nd) })
	}
	wg.Wait()
	var active []int
	states := make([]string, len(c.nodes))
	for i := range c.nodes {
		if errs[i] == nil && status[i] == http.StatusOK {
			active = append(active, i)
		}
		states[i] = c.nodes[i].info.ID + ": " + describeHealth(status[i], errs[i])
	}
	switch len(active) {
	case 1:
		return active[0], nil
	case 0:
		return -1, fmt.Errorf("%w (%s)", ErrNoLeader, strings.Join(states, "; "))
	default:
		return -1, fmt.Errorf("vaulttest: more than one active node (%s)", strings.Join(states, "; "))
	}
}

// WaitLeader waits until exactly one node answers sys/health 200 (a leader
// that serves) and returns its index.
func (c *Cluster) WaitLeader(ctx context.Context) (int, error) {
	leader := -1
	err := poll(ctx, "a leader", func(ctx context.Context) error {
		var err error
		leader, err = c.Leader(ctx)
		return err
	})
	return leader, err
}

// Peers returns the raft configuration, read as root through the first node
// that answers.
func (c *Cluster) Peers(ctx context.Context) ([]Peer, error) {
	var errs []error
	for _, nd := range c.nodes {
		pctx, cancel := context.WithTimeout(ctx, clusterProbeTimeout)
		b, status, err := nd.proc.raw(pctx, http.MethodGet, "sys/storage/raft/configuration", nil, "")
		cancel()
		var out struct {
			Data struct {
				Config struct {
					Servers []Peer `json:"servers"`
				} `json:"config"`
			} `json:"data"`
		}
		switch {
		case err != nil:
		case status != http.StatusOK:
			err = fmt.Errorf("%d %.200s", status, b)
		case json.Unmarshal(b, &out) != nil:
			err = fmt.Errorf("not JSON: %.200s", b)
		default:
			return out.Data.Config.Servers, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", nd.info.ID, err))
	}
	return nil, fmt.Errorf("vaulttest: raft configuration: %w", errors.Join(errs...))
}

// Kill kills node i with SIGKILL and waits for the process to exit. Its data
// stays; Restart or RestartSealed brings it back.
func (c *Cluster) Kill(i int) error {
	nd, err := c.node(i)
	if err != nil {
		return err
	}
	nd.mu.Lock()
	defer nd.mu.Unlock()
	nd.proc.Kill()
	return nil
}

// Restart starts node i again (killing it first if it runs) on the same
// ports and data, unseals it and waits until it serves: as the active node
// (sys/health 200) or as a standby (429) connected to the active node.
func (c *Cluster) Restart(ctx context.Context, i int) error {
	nd, err := c.node(i)
	if err != nil {
		return err
	}
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if err := c.restartSealed(ctx, nd); err != nil {
		return err
	}
	return c.unseal(ctx, nd)
}

// RestartSealed starts node i again (killing it first if it runs) on the same
// ports and data and waits until it answers sys/health 503 (sealed).
func (c *Cluster) RestartSealed(ctx context.Context, i int) error {
	nd, err := c.node(i)
	if err != nil {
		return err
	}
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return c.restartSealed(ctx, nd)
}

func (c *Cluster) restartSealed(ctx context.Context, nd *clusterNode) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ { // the ports may still be held for a moment
		nd.proc.Kill()
		if err = nd.proc.startProcess(); err != nil {
			return err
		}
		err = c.waitNode(ctx, nd, "sealed", func(s int, _ nodeHealth) bool { return s == http.StatusServiceUnavailable })
		if !errors.Is(err, errExited) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("%w\nvault %s log (last 4 KiB):\n%s", err, nd.info.ID, tail(nd.proc.Logs(), 4096))
	}
	return nil
}

// Seal seals node i and waits until it answers sys/health 503. The active
// node is sealed with sys/seal (another node takes over); a standby refuses
// sys/seal ("cannot seal when in standby mode; please restart instead"), so
// a standby is restarted and left sealed. A sealed node stays as it is.
func (c *Cluster) Seal(ctx context.Context, i int) error {
	nd, err := c.node(i)
	if err != nil {
		return err
	}
	nd.mu.Lock()
	defer nd.mu.Unlock()
	status, _, err := c.health(ctx, nd)
	switch {
	case err == nil && status == http.StatusServiceUnavailable:
		return nil
	case err == nil && status == http.StatusOK:
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := nd.view.Do(sctx, http.MethodPut, "sys/seal", nil)
		cancel()
		if err == nil {
			return c.waitNode(ctx, nd, "sealed", func(s int, _ nodeHealth) bool { return s == http.StatusServiceUnavailable })
		}
		// It stepped down in between: a standby now, restarted below.
		if status, _, herr := c.health(ctx, nd); herr != nil || status == http.StatusOK {
			return fmt.Errorf("vaulttest: sealing the active node %s: %w", nd.info.ID, err)
		}
	}
	return c.restartSealed(ctx, nd)
}

// Unseal unseals node i with the unseal key and waits until it serves: as
// the active node (sys/health 200) or as a standby (429) connected to the
// active node.
func (c *Cluster) Unseal(ctx context.Context, i int) error {
	nd, err := c.node(i)
	if err != nil {
		return err
	}
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return c.unseal(ctx, nd)
}

func (c *Cluster) unseal(ctx context.Context, nd *clusterNode) error {
	if err := c.sendUnsealKey(ctx, nd); err != nil {
		return err
	}
	return c.waitNode(ctx, nd, "serving", serving)
}

// sendUnsealKey sends the unseal key to nd until it takes it. A node that
// joins through retry_join answers 400 "Vault is not initialized" until it
// has fetched the leader's challenge: sys/health then says 501, and the key
// is sent again.
func (c *Cluster) sendUnsealKey(ctx context.Context, nd *clusterNode) error {
	return poll(ctx, nd.info.ID+" taking the unseal key", func(ctx context.Context) error {
		select {
		case <-nd.proc.done:
			return fmt.Errorf("vaulttest: %s %w (%s)", nd.info.ID, errExited, nd.proc.cmd.ProcessState)
		default:
		}
		uctx, cancel := context.WithTimeout(ctx, clusterProbeTimeout)
		b, status, err := nd.proc.raw(uctx, http.MethodPut, "sys/unseal", map[string]any{"key": c.UnsealKey}, "")
		cancel()
		switch {
		case err != nil:
			return err
		case status < 300:
			return nil
		case status == http.StatusBadRequest:
			// "not initialized" is the joining state itself (the node may
			// have finished joining by the time sys/health is asked, or
			// sys/health may time out on a busy machine); otherwise
			// sys/health's 501 says the node is still joining.
			if bytes.Contains(b, []byte("not initialized")) {
				return fmt.Errorf("vaulttest: %s sys/unseal: %d %.200s (joining)", nd.info.ID, status, b)
			}
			if hs, _, herr := c.health(ctx, nd); herr == nil && hs == http.StatusNotImplemented {
				return fmt.Errorf("vaulttest: %s sys/unseal: %d %.200s (joining)", nd.info.ID, status, b)
			}
			return permanent(fmt.Errorf("vaulttest: %s sys/unseal: %d %.200s", nd.info.ID, status, b))
		case status < 500:
			return permanent(fmt.Errorf("vaulttest: %s sys/unseal: %d %.200s", nd.info.ID, status, b))
		default:
			return fmt.Errorf("vaulttest: %s sys/unseal: %d %.200s", nd.info.ID, status, b)
		}
	})
}

// StepDown asks node i, which must be the active node, to step down
// (sys/step-down) and waits until another node serves as active; it returns
// that node's index.
func (c *Cluster) StepDown(ctx context.Context, i int) (int, error) {
	nd, err := c.node(i)
	if err != nil {
		return -1, err
	}
	status, _, err := c.health(ctx, nd)
	if err != nil || status != http.StatusOK {
		return -1, fmt.Errorf("vaulttest: step down %s: not the active node (sys/health %s)", nd.info.ID, describeHealth(status, err))
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	_, err = nd.view.Do(sctx, http.MethodPut, "sys/step-down", nil)
	cancel()
	if err != nil {
		return -1, err
	}
	next := -1
	err = poll(ctx, "a leader other than "+nd.info.ID, func(ctx context.Context) error {
		var err error
		if next, err = c.Leader(ctx); err == nil && next == i {
			err = fmt.Errorf("%s is still active", nd.info.ID)
		}
		return err
	})
	return next, err
}

// waitNode polls nd's sys/health until ok accepts the status, nd's process
// exits (an error wrapping errExited) or ctx ends.
func (c *Cluster) waitNode(ctx context.Context, nd *clusterNode, what string, ok func(int, nodeHealth) bool) error {
	done := nd.proc.done
	return poll(ctx, nd.info.ID+" at "+nd.info.Addr+" "+what, func(ctx context.Context) error {
		status, h, err := c.health(ctx, nd)
		if err == nil && ok(status, h) {
			return nil
		}
		if err == nil && status == http.StatusTooManyRequests && h.HAConnectionHealthy == nil && ok(status, nodeHealth{HAConnectionHealthy: &trueValue}) {
			// A server that does not report ha_connection_healthy
			// (OpenBao): a request the standby must forward tells. An
			// OpenBao standby serves reads itself, so it is a write: to
			// the root token's own cubbyhole, which nothing else reads.
			body := map[string]any{"probe": nd.info.ID}
			if _, fs, ferr := nd.proc.raw(ctx, http.MethodPost, "cubbyhole/vaulttest-forwarding-probe", body, c.RootToken); ferr == nil && fs/100 == 2 {
				return nil
			}
		}
		select {
		case <-done:
			return permanent(fmt.Errorf("vaulttest: %s %w (%s)", nd.info.ID, errExited, nd.proc.cmd.ProcessState))
		default:
		}
		return fmt.Errorf("sys/health %s", describeHealth(status, err))
	})
}

// permanentError stops a poll.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return permanentError{err} }

// poll calls try until it returns nil or a permanent error, or ctx ends;
// each try gets ctx (try bounds its own requests). The error names what was
// awaited and wraps the last try's error.
func poll(ctx context.Context, what string, try func(ctx context.Context) error) error {
	start := time.Now()
	for {
		err := try(ctx)
		if err == nil {
			return nil
		}
		var p permanentError
		if errors.As(err, &p) {
			return p.err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("vaulttest: waited %s for %s: %w (last: %w)", time.Since(start).Round(time.Millisecond), what, ctx.Err(), err)
		case <-time.After(clusterPoll): // polling external processes, bounded by ctx
		}
	}
}

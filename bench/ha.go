package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/vaulttest"
	"github.com/hashicorp/vault/api"
)

// HAConfig sizes the high-availability scenario: on a real 3-node raft
// cluster, the leader is killed with SIGKILL at KillAt, restarted at
// RestartAt, the next leader is stepped down at StepDownAt, and the load
// stops at End (all counted from the start of the load). Two clients read
// and write at the same time: gdsvault given the three addresses, vault/api
// given the address of the node that is killed. A zero End leaves the
// scenario out of a Run.
type HAConfig struct {
	// Readers and Writers are the goroutines of each client; a writer
	// writes versions of its own secret with check-and-set.
	Readers, Writers int
	// Pace is the pause between two calls of one goroutine.
	Pace time.Duration
	// RequestTimeout bounds each call (vault/api's own timeout is 60 s).
	RequestTimeout time.Duration

	KillAt, RestartAt, StepDownAt, End time.Duration

	// PeerPool sets vault/api's MaxIdleConnsPerHost (0: its default,
	// GOMAXPROCS+1, which redials most connections of Readers goroutines).
	PeerPool int
	// Timeout bounds the whole measurement, the cluster's start included.
	Timeout time.Duration
}

// DefaultHAConfig is the schedule of TestHACluster (15 s, 30 s, 45 s, 60 s)
// with 16 readers and 2 writers per client.
func DefaultHAConfig() HAConfig {
	return HAConfig{Readers: 16, Writers: 2, Pace: 10 * time.Millisecond, RequestTimeout: 30 * time.Second,
		KillAt: 15 * time.Second, RestartAt: 30 * time.Second, StepDownAt: 45 * time.Second, End: 60 * time.Second,
		PeerPool: 64, Timeout: 6 * time.Minute}
}

// HAClient is what one client's users saw during the scenario. Times are
// from the start of the load; -1 means it never happened.
type HAClient struct {
	Name, Setup          string
	Reads, FailedReads   int
	Writes, FailedWrites int
	// LongestGap is the longest time without a successful read, GapAt when
	// it began.
	LongestGap, GapAt time.Duration
	// FirstReadAfterKill is the time from the kill to the end of the first
	// successful read begun after it; FirstWriteAfterKill the same for
	// writes.
	FirstReadAfterKill, FirstWriteAfterKill time.Duration
	// ReadsWhileDown and FailedWhileDown count the reads begun between the
	// kill and the end of the killed node's restart: successful, failed.
	ReadsWhileDown, FailedWhileDown int
	FirstReadError, FirstWriteError string
}

// HAResult is one run of the scenario.
type HAResult struct {
	Config HAConfig
	// Killed is the node killed (the leader at the start, which vault/api
	// is given); KilledWasLeader says it was still the leader at KillAt.
	Killed          string
	KilledWasLeader bool
	// When each step happened, from the start of the load, and how long
	// the cluster took: a new leader serving after the kill (Election),
	// the killed node unsealed and serving again (Restarted), another
	// leader after the step-down (StepDownElection).
	KilledAt, Election             time.Duration
	RestartedAt, Restarted         time.Duration
	SteppedDownAt, StepDownElected time.Duration
	SteppedDown, NewLeader         string
	Duration                       time.Duration
	Clients                        []HAClient
	// Problems are steps of the scenario that failed (the load ran on).
	Problems []string
}

// RunHA starts a 3-node cluster, runs the scenario with both clients and
// stops the cluster. logf reports progress (nil: silent).
func RunHA(ctx context.Context, cfg HAConfig, logf func(string, ...any)) (*HAResult, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if cfg.Readers < 1 || cfg.End <= 0 || !(cfg.KillAt < cfg.RestartAt && cfg.RestartAt < cfg.StepDownAt && cfg.StepDownAt < cfg.End) {
		return nil, fmt.Errorf("ha: need readers and KillAt < RestartAt < StepDownAt < End, got %+v", cfg)
	}
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}
	logf("ha: starting a 3-node cluster")
	cl, err := vaulttest.StartCluster(3, vaulttest.ClusterOptions{})
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	target, err := cl.WaitLeader(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := cl.Server(target).Do(ctx, http.MethodPost, LabPath, map[string]any{"data": map[string]any{
		"db_host": LabHost, "db_user": "myapp", "db_pass": "secret123"}}); err != nil {
		return nil, fmt.Errorf("ha: provisioning %s: %w", LabPath, err)
	}

	// Both clients start on the node that is killed: gdsvault has it first
	// of its three addresses, vault/api has only it.
	addrs := []string{cl.Node(target).Addr}
	for i, a := range cl.Addresses() {
		if i != target {
			addrs = append(addrs, a)
		}
	}
	gds, err := gdsvault.New(gdsvault.WithAddresses(addrs...), gdsvault.WithToken(cl.RootToken), gdsvault.WithLogger(discard))
	if err != nil {
		return nil, err
	}
	defer gds.Close(context.WithoutCancel(ctx))
	pcfg := api.DefaultConfig()
	if pcfg.Error != nil {
		return nil, pcfg.Error
	}
	pcfg.Address = addrs[0]
	if cfg.PeerPool > 0 {
		tr, ok := pcfg.HttpClient.Transport.(*http.Transport)
		if !ok {
			return nil, errors.New("vault/api: the default transport is not an *http.Transport")
		}
		tr.MaxIdleConnsPerHost = cfg.PeerPool
		tr.MaxIdleConns = max(tr.MaxIdleConns, 2*cfg.PeerPool)
	}
	peer, err := api.NewClient(pcfg)
	if err != nil {
		return nil, err
	}
	peer.SetToken(cl.RootToken)

	pool := "its default pool (GOMAXPROCS+1 idle connections)"
	if cfg.PeerPool > 0 {
		pool = fmt.Sprintf("its pool raised to %d idle connections like gdsvault's", cfg.PeerPool)
	}
	clients := []*haClient{
		{name: "gdsvault", setup: "`gdsvault.New(WithAddresses(the 3 nodes, the killed one first), WithToken, WithLogger(discard))`: default retries and failover",
			read: GdsvaultRead(gds), put: gdsPut(gds), get: gdsGet(gds)},
		{name: "vault/api", setup: "`api.DefaultConfig()` with `Address` = the killed node: one address, its default retries (2, 1-1.5 s apart) and 60 s timeout, " + pool,
			read: PeerRead(peer), put: peerPut(peer), get: peerGet(peer)},
	}
	for _, c := range clients {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := c.read(rctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("ha: %s: first read: %w", c.name, err)
		}
	}

	res := &HAResult{Config: cfg, Killed: cl.Node(target).ID}
	logf("ha: load on %d readers and %d writers per client for %s; killing %s at %s", cfg.Readers, cfg.Writers, cfg.End, res.Killed, cfg.KillAt)
	finished := make(chan struct{})
	reports := make([]*vaulttest.LoadReport, len(clients))
	starts := make([]time.Time, len(clients))
	var loads sync.WaitGroup
	t0 := time.Now()
	for i, c := range clients {
		load := vaulttest.Load{Readers: cfg.Readers, Writers: cfg.Writers, Pace: cfg.Pace, RequestTimeout: cfg.RequestTimeout,
			Read: c.recordRead, Write: c.write}
		loads.Go(func() {
			reports[i] = load.Run(func(start time.Time) {
				starts[i] = start
				<-finished
			})
		})
	}
	problem := func(err error) {
		res.Problems = append(res.Problems, err.Error())
		logf("ha: %v", err)
	}
	at := func(d time.Duration) { // the scenario's timetable, bounded by ctx
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(t0.Add(d))):
		}
	}
	since := func() time.Duration { return time.Since(t0) }

	at(cfg.KillAt)
	var killTime, restartDone time.Time
	if leader, err := cl.Leader(ctx); err == nil {
		res.KilledWasLeader = leader == target
	}
	if err := cl.Kill(target); err != nil {
		problem(fmt.Errorf("kill %s: %w", res.Killed, err))
	}
	killTime = time.Now()
	res.KilledAt = killTime.Sub(t0)
	if _, err := cl.WaitLeader(ctx); err != nil {
		problem(fmt.Errorf("a new leader after the kill: %w", err))
	} else {
		res.Election = time.Since(killTime)
	}
	logf("ha: killed %s at %s; new leader after %s", res.Killed, res.KilledAt.Round(time.Millisecond), res.Election.Round(time.Millisecond))

	at(cfg.RestartAt)
	res.RestartedAt = since()
	if err := cl.Restart(ctx, target); err != nil {
		problem(fmt.Errorf("restart %s: %w", res.Killed, err))
	} else {
		res.Restarted = since() - res.RestartedAt
	}
	restartDone = time.Now()
	logf("ha: restarted %s at %s, serving after %s", res.Killed, res.RestartedAt.Round(time.Millisecond), res.Restarted.Round(time.Millisecond))

	at(cfg.StepDownAt)
	if leader, err := cl.Leader(ctx); err != nil {
		problem(fmt.Errorf("the leader before the step-down: %w", err))
	} else {
		res.SteppedDownAt = since()
		res.SteppedDown = cl.Node(leader).ID
		next, err := cl.StepDown(ctx, leader)
		if err != nil {
			problem(fmt.Errorf("step down %s: %w", res.SteppedDown, err))
		} else {
			res.StepDownElected = since() - res.SteppedDownAt
			res.NewLeader = cl.Node(next).ID
		}
		logf("ha: %s stepped down at %s; new leader %s after %s", res.SteppedDown, res.SteppedDownAt.Round(time.Millisecond),
			res.NewLeader, res.StepDownElected.Round(time.Millisecond))
	}

	at(cfg.End)
	close(finished)
	loads.Wait()
	res.Duration = since()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("ha: the scenario did not finish: %w", ctx.Err())
	}
	for i, c := range clients {
		res.Clients = append(res.Clients, c.result(reports[i], starts[i].Sub(t0), killTime, restartDone))
	}
	return res, nil
}

// haClient is one client under load: its calls, and a record of when each
// call began and ended.
type haClient struct {
	name, setup string
	read        ReadFunc
	put         func(ctx context.Context, path string, seq, cas int) (version int, err error)
	get         func(ctx context.Context, path string) (version int, seq string, err error)

	mu     sync.Mutex
	reads  []call
	writes []call
	cur    map[int]int // writer -> the version it believes current
}

type call struct {
	begin, end time.Time
	ok         bool
}

func (c *haClient) recordRead(ctx context.Context) error {
	begin := time.Now()
	err := c.read(ctx)
	c.mu.Lock()
	c.reads = append(c.reads, call{begin, time.Now(), err == nil})
	c.mu.Unlock()
	return err
}

// write is writer w's n-th check-and-set write of secret/bench/ha/<client>/w<w>.
func (c *haClient) write(ctx context.Context, w, n int) error {
	begin := time.Now()
	err := c.cas(ctx, w, n)
	c.mu.Lock()
	c.writes = append(c.writes, call{begin, time.Now(), err == nil})
	c.mu.Unlock()
	return err
}

func (c *haClient) cas(ctx context.Context, w, seq int) error {
	path := fmt.Sprintf("bench/ha/%s/w%d", strings.ReplaceAll(c.name, "/", "-"), w)
	c.mu.Lock()
	if c.cur == nil {
		c.cur = map[int]int{}
	}
	cur := c.cur[w]
	c.mu.Unlock()
	v, err := c.put(ctx, path, seq, cur)
	if err != nil {
		// A try that went through before its answer was lost moves the
		// version: learn it, and whether it holds this write.
		if gv, gseq, gerr := c.get(ctx, path); gerr == nil {
			c.mu.Lock()
			c.cur[w] = gv
			c.mu.Unlock()
			if gseq == fmt.Sprint(seq) {
				v, err = gv, nil
			}
		}
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.cur[w] = max(c.cur[w], v)
	c.mu.Unlock()
	return nil
}

func gdsPut(c *gdsvault.Client) func(context.Context, string, int, int) (int, error) {
	return func(ctx context.Context, path string, seq, cas int) (int, error) {
		md, err := c.KV().Put(ctx, "secret/data/"+path, map[string]any{"seq": seq}, gdsvault.CAS(cas))
		if err != nil {
			return 0, err
		}
		return md.Version, nil
	}
}

func gdsGet(c *gdsvault.Client) func(context.Context, string) (int, string, error) {
	return func(ctx context.Context, path string) (int, string, error) {
		s, err := c.GetSecret(ctx, "secret/data/"+path, gdsvault.NoCache())
		if err != nil {
			return 0, "", err
		}
		if s.VersionMetadata == nil {
			return 0, "", errors.New("gdsvault: no version metadata")
		}
		return s.VersionMetadata.Version, fmt.Sprint(s.Data["seq"]), nil
	}
}

func peerPut(c *api.Client) func(context.Context, string, int, int) (int, error) {
	return func(ctx context.Context, path string, seq, cas int) (int, error) {
		s, err := c.KVv2("secret").Put(ctx, path, map[string]any{"seq": seq}, api.WithCheckAndSet(cas))
		if err != nil {
			return 0, err
		}
		if s.VersionMetadata == nil {
			return 0, errors.New("vault/api: no version metadata")
		}
		return s.VersionMetadata.Version, nil
	}
}

func peerGet(c *api.Client) func(context.Context, string) (int, string, error) {
	return func(ctx context.Context, path string) (int, string, error) {
		s, err := c.KVv2("secret").Get(ctx, path)
		if err != nil {
			return 0, "", err
		}
		if s.VersionMetadata == nil {
			return 0, "", errors.New("vault/api: no version metadata")
		}
		return s.VersionMetadata.Version, fmt.Sprint(s.Data["seq"]), nil
	}
}

// result sums up the client's load: offset is when its load started after
// the scenario's start.
func (c *haClient) result(r *vaulttest.LoadReport, offset time.Duration, kill, restartDone time.Time) HAClient {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := HAClient{Name: c.name, Setup: c.setup, Reads: r.Reads, FailedReads: r.FailedReads, Writes: r.Writes, FailedWrites: r.FailedWrites,
		LongestGap: r.LongestReadGap, GapAt: r.LongestGapAt + offset,
		FirstReadAfterKill: firstAfter(c.reads, kill), FirstWriteAfterKill: firstAfter(c.writes, kill)}
	for _, rd := range c.reads {
		if !rd.begin.Before(kill) && !rd.begin.After(restartDone) {
			if rd.ok {
				out.ReadsWhileDown++
			} else {
				out.FailedWhileDown++
			}
		}
	}
	if r.FirstReadError != nil {
		out.FirstReadError = r.FirstReadError.Error()
	}
	if r.FirstWriteError != nil {
		out.FirstWriteError = r.FirstWriteError.Error()
	}
	return out
}

// firstAfter is the time from t to the end of the first successful call
// begun at or after t (-1 when none).
func firstAfter(calls []call, t time.Time) time.Duration {
	best := time.Duration(-1)
	for _, c := range calls {
		if c.ok && !c.begin.Before(t) {
			if d := c.end.Sub(t); best < 0 || d < best {
				best = d
			}
		}
	}
	return best
}

// Markdown renders the scenario and its table (no heading: the report and
// the test add theirs).
func (h *HAResult) Markdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	c := h.Config
	sec := func(d time.Duration) string {
		if d < 0 {
			return "never"
		}
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	w("A real 3-node Vault cluster (integrated storage, vaulttest.StartCluster) on this machine. Two clients run side by side in one process, "+
		"each with %d readers of `%s` and %d check-and-set writers (own secrets), every goroutine pausing %s between calls, each call bounded by %s:\n\n",
		c.Readers, LabPath, c.Writers, c.Pace, c.RequestTimeout)
	for _, cl := range h.Clients {
		w("- %s: %s\n", cl.Name, cl.Setup)
	}
	leader := "the leader"
	if !h.KilledWasLeader {
		leader = "no longer the leader by then"
	}
	w("\nSchedule: %s (%s) killed with SIGKILL at %s, a new leader serving %s later; restarted at %s and serving again (unsealed) %s later; "+
		"%s stepped down at %s, %s leader %s later; load stopped at %s.\n\n",
		h.Killed, leader, sec(h.KilledAt), sec(h.Election), sec(h.RestartedAt), sec(h.Restarted),
		orDash(h.SteppedDown), sec(h.SteppedDownAt), orDash(h.NewLeader), sec(h.StepDownElected), sec(h.Duration))
	w("| |")
	for _, cl := range h.Clients {
		w(" %s |", cl.Name)
	}
	w("\n|---|")
	for range h.Clients {
		w("---|")
	}
	w("\n")
	row := func(name string, f func(HAClient) string) {
		w("| %s |", name)
		for _, cl := range h.Clients {
			w(" %s |", f(cl))
		}
		w("\n")
	}
	row("reads", func(x HAClient) string { return count(float64(x.Reads)) })
	row("failed reads", func(x HAClient) string {
		return fmt.Sprintf("**%s** (%.1f%%)", count(float64(x.FailedReads)), 100*ratio(float64(x.FailedReads), float64(x.Reads)))
	})
	row("longest time without a successful read", func(x HAClient) string {
		return fmt.Sprintf("**%s** (from %s)", sec(x.LongestGap), sec(x.GapAt))
	})
	row("first successful read after the kill", func(x HAClient) string { return sec(x.FirstReadAfterKill) })
	row(fmt.Sprintf("reads begun while %s was down (%s → %s): served / failed", h.Killed, sec(h.KilledAt), sec(h.RestartedAt+h.Restarted)),
		func(x HAClient) string {
			return count(float64(x.ReadsWhileDown)) + " / " + count(float64(x.FailedWhileDown))
		})
	row("CAS writes: failed / all", func(x HAClient) string { return count(float64(x.FailedWrites)) + " / " + count(float64(x.Writes)) })
	row("first successful write after the kill", func(x HAClient) string { return sec(x.FirstWriteAfterKill) })
	row("first failed read", func(x HAClient) string { return errCell(x.FirstReadError) })
	w("\n")
	w("Down runs from the kill until the harness saw the restarted node serve (unsealed, connected to the leader); a read begun in its " +
		"last moment can be served. A client pointed at one node loses reads for as long as that node is away; gdsvault's gap is about as long as the election.\n\n")
	if len(h.Problems) > 0 {
		w("Steps of the scenario that failed: %s.\n\n", strings.Join(h.Problems, "; "))
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// errCell is an error for a table cell: one line, bounded, no pipes.
func errCell(s string) string {
	if s == "" {
		return "—"
	}
	s = strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", "/")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return "`" + strings.ReplaceAll(s, "`", "'") + "`"
}

package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/hashicorp/vault/api"
)

// ReadFunc reads the lab's secret once and checks db_host.
type ReadFunc func(ctx context.Context) error

// GdsvaultRead reads LabPath with c.GetSecret.
func GdsvaultRead(c *gdsvault.Client) ReadFunc {
	return func(ctx context.Context) error {
		s, err := c.GetSecret(ctx, LabPath)
		if err != nil {
			return err
		}
		if v, _ := s.Data["db_host"].(string); v != LabHost {
			return fmt.Errorf("gdsvault: db_host is %q", v)
		}
		return nil
	}
}

// PeerRead reads the same secret with vault/api, as its documentation
// shows: client.KVv2("secret").Get(ctx, "myapp/config").
func PeerRead(c *api.Client) ReadFunc {
	return func(ctx context.Context) error {
		s, err := c.KVv2("secret").Get(ctx, "myapp/config")
		if err != nil {
			return err
		}
		if v, _ := s.Data["db_host"].(string); v != LabHost {
			return fmt.Errorf("vault/api: db_host is %q", v)
		}
		return nil
	}
}

// NewPeer builds a vault/api client for the lab. poolSize > 0 sets its
// transport's MaxIdleConnsPerHost (gdsvault's own transport keeps 64; the
// peer's default, from go-cleanhttp, is GOMAXPROCS+1); 0 keeps the default.
func (l *Lab) NewPeer(poolSize int) (*api.Client, error) {
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return nil, cfg.Error
	}
	cfg.Address = l.Addr
	if poolSize > 0 {
		tr, ok := cfg.HttpClient.Transport.(*http.Transport)
		if !ok {
			return nil, errors.New("vault/api: the default transport is not an *http.Transport")
		}
		tr.MaxIdleConnsPerHost = poolSize
		tr.MaxIdleConns = max(tr.MaxIdleConns, 2*poolSize)
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	c.SetToken(l.Token)
	return c, nil
}

// Latency summarises one library's reads in one mode.
type Latency struct {
	Reads int
	// Errors counts failed reads (they are not in the figures).
	Errors int
	P50    time.Duration
	P99    time.Duration
	// PerSec is reads / time spent in the blocks.
	PerSec float64
	// AllocsPerRead and BytesPerRead are runtime.MemStats Mallocs and
	// TotalAlloc deltas over the blocks, divided by the reads.
	AllocsPerRead float64
	BytesPerRead  float64
	// CPUPerRead is the benchmark process's own CPU time (user + system,
	// getrusage RUSAGE_SELF) over the blocks / reads: the client's work,
	// without Vault's.
	CPUPerRead time.Duration
}

// block is one timed run of n reads by g goroutines.
type block struct {
	lat     []time.Duration
	errs    int
	elapsed time.Duration
	mem     memSnap
	cpu     time.Duration
	firstEr error
}

// runBlock runs n reads of read on g goroutines (n/g each), stopping early
// at the deadline; it records every read's latency.
func runBlock(ctx context.Context, read ReadFunc, n, g int, deadline time.Time) block {
	per := max(n/g, 1)
	lats := make([][]time.Duration, g)
	for i := range lats {
		lats[i] = make([]time.Duration, 0, per)
	}
	var errs atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	before := readMem()
	cpu0 := selfCPU()
	start := time.Now()
	for i := range g {
		wg.Go(func() {
			for range per {
				if time.Now().After(deadline) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				err := read(ctx)
				d := time.Since(t0)
				if err != nil {
					errs.Add(1)
					keep := err // &err would move err to the heap: one allocation per read, counted against both libraries
					firstErr.CompareAndSwap(nil, &keep)
					continue
				}
				lats[i] = append(lats[i], d)
			}
		})
	}
	wg.Wait()
	b := block{elapsed: time.Since(start), errs: int(errs.Load())}
	b.cpu = selfCPU() - cpu0
	b.mem = readMem().sub(before)
	for _, l := range lats {
		b.lat = append(b.lat, l...)
	}
	if p := firstErr.Load(); p != nil {
		b.firstEr = *p
	}
	return b
}

// summarise merges blocks.
func summarise(bs []block) (Latency, error) {
	var all []time.Duration
	var el, cpu time.Duration
	var mem memSnap
	var out Latency
	var firstErr error
	for _, b := range bs {
		all = append(all, b.lat...)
		el += b.elapsed
		cpu += b.cpu
		mem.mallocs += b.mem.mallocs
		mem.bytes += b.mem.bytes
		out.Errors += b.errs
		if firstErr == nil {
			firstErr = b.firstEr
		}
	}
	out.Reads = len(all)
	if out.Reads == 0 {
		if firstErr == nil {
			firstErr = errors.New("no read completed")
		}
		return out, firstErr
	}
	attempts := float64(out.Reads + out.Errors)
	out.PerSec = float64(out.Reads) / el.Seconds()
	out.AllocsPerRead = float64(mem.mallocs) / attempts
	out.BytesPerRead = float64(mem.bytes) / attempts
	out.CPUPerRead = time.Duration(float64(cpu) / attempts)
	out.P50 = percentile(all, 50)
	out.P99 = percentile(all, 99)
	if out.Errors > 0 {
		return out, fmt.Errorf("%d of %d reads failed, first: %w", out.Errors, int(attempts), firstErr)
	}
	return out, nil
}

// UncachedConfig sizes the uncached comparison.
type UncachedConfig struct {
	// Rounds of alternated blocks (one block per library per round, the
	// order swapped every round).
	Rounds int
	// SeqReads and ParReads are the reads per block, sequential and on
	// Goroutines goroutines.
	SeqReads, ParReads int
	Goroutines         int
	// Warmup reads per library (sequential, then as many on Goroutines).
	Warmup int
	// BlockTimeout bounds one block.
	BlockTimeout time.Duration
	// PeerDefaultRounds > 0 also measures vault/api with its default
	// connection pool on Goroutines goroutines.
	PeerDefaultRounds int
}

// Pair is gdsvault and the peer in one mode.
type Pair struct{ Gds, Peer Latency }

// UncachedResult is the uncached comparison.
type UncachedResult struct {
	Goroutines int
	Rounds     int
	Seq, Par   Pair
	// PeerDefaultPool is vault/api on Goroutines goroutines with its
	// out-of-the-box pool (nil when not measured).
	PeerDefaultPool *Latency
	PeerPoolDefault int
}

// Uncached compares uncached reads, gdsvault against vault/api, in
// alternated blocks on the same server.
func (l *Lab) Uncached(ctx context.Context, cfg UncachedConfig) (*UncachedResult, error) {
	gc, err := l.NewGdsvault()
	if err != nil {
		return nil, err
	}
	defer gc.Close(context.Background())
	pc, err := l.NewPeer(64)
	if err != nil {
		return nil, err
	}
	libs := []ReadFunc{GdsvaultRead(gc), PeerRead(pc)}
	res := &UncachedResult{Goroutines: cfg.Goroutines, Rounds: cfg.Rounds}

	// Warm up: connections, the mount lookup, the code paths.
	for _, read := range libs {
		for _, g := range []int{1, cfg.Goroutines} {
			b := runBlock(ctx, read, cfg.Warmup, g, time.Now().Add(cfg.BlockTimeout))
			if b.firstEr != nil {
				return nil, fmt.Errorf("warm-up: %w", b.firstEr)
			}
		}
	}

	for _, mode := range []struct {
		n, g int
		out  *Pair
	}{{cfg.SeqReads, 1, &res.Seq}, {cfg.ParReads, cfg.Goroutines, &res.Par}} {
		blocks := [2][]block{}
		for r := range cfg.Rounds {
			for k := range 2 {
				i := (r + k) % 2 // ABBA...: the order swaps every round
				runtime.GC()     // start each block from a collected heap
				blocks[i] = append(blocks[i], runBlock(ctx, libs[i], mode.n, mode.g, time.Now().Add(cfg.BlockTimeout)))
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
		if mode.out.Gds, err = summarise(blocks[0]); err != nil {
			return nil, fmt.Errorf("gdsvault: %w", err)
		}
		if mode.out.Peer, err = summarise(blocks[1]); err != nil {
			return nil, fmt.Errorf("vault/api: %w", err)
		}
	}

	if cfg.PeerDefaultRounds > 0 {
		dc, err := l.NewPeer(0)
		if err != nil {
			return nil, err
		}
		if tr, ok := dc.CloneConfig().HttpClient.Transport.(*http.Transport); ok {
			res.PeerPoolDefault = tr.MaxIdleConnsPerHost
		}
		read := PeerRead(dc)
		_ = runBlock(ctx, read, cfg.Warmup, cfg.Goroutines, time.Now().Add(cfg.BlockTimeout))
		var bs []block
		for range cfg.PeerDefaultRounds {
			runtime.GC()
			bs = append(bs, runBlock(ctx, read, cfg.ParReads, cfg.Goroutines, time.Now().Add(cfg.BlockTimeout)))
		}
		lat, err := summarise(bs)
		if err != nil {
			return nil, fmt.Errorf("vault/api (default pool): %w", err)
		}
		res.PeerDefaultPool = &lat
		dc.CloneConfig().HttpClient.CloseIdleConnections()
	}
	return res, nil
}

// countingTransport counts the requests that reach Vault.
type countingTransport struct {
	next         http.RoundTripper
	dataPath     string
	data, mounts atomic.Int64
	total        atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.total.Add(1)
	switch {
	case r.Method == http.MethodGet && r.URL.Path == t.dataPath:
		t.data.Add(1)
	case strings.HasPrefix(r.URL.Path, "/v1/sys/internal/ui/mounts/"):
		t.mounts.Add(1)
	}
	return t.next.RoundTrip(r)
}

// newTransport is a transport like gdsvault's own (64 idle connections).
func newTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	tr.MaxIdleConns = 128
	return tr
}

// StampedeResult is the cold-cache stampede, one entry per trial.
type StampedeResult struct {
	Goroutines int
	// DataGETs are the GETs of /v1/secret/data/myapp/config that reached
	// Vault in each trial; MountLookups the sys/internal/ui/mounts
	// requests; Total every request.
	DataGETs, MountLookups, Total []int
	// WarmMount* are the same with the mount already resolved (one read
	// of another secret first), isolating the cache's own sharing.
	WarmMountDataGETs, WarmMountTotal []int
	Errors                            int
	Elapsed                           []time.Duration
}

// Stampede makes goroutines ask for one path at once on a fresh cached
// client, trials times, and counts the requests that reached Vault.
func (l *Lab) Stampede(ctx context.Context, goroutines, trials int, timeout time.Duration) (*StampedeResult, error) {
	res := &StampedeResult{Goroutines: goroutines}
	var firstErr error
	for trial := range 2 * trials {
		warm := trial%2 == 1
		tr := newTransport()
		ct := &countingTransport{next: tr, dataPath: "/v1/" + LabPath}
		c, err := l.NewGdsvault(gdsvault.WithCache(), gdsvault.WithTransport(ct))
		if err != nil {
			return nil, err
		}
		if warm {
			// Resolve the mount with a read of another secret (a 404).
			_, err := c.GetSecret(ctx, "secret/data/myapp/not-there")
			if !errors.Is(err, gdsvault.ErrNotFound) {
				return nil, fmt.Errorf("warming the mount: %v", err)
			}
			ct.data.Store(0)
			ct.total.Store(0)
		}
		tctx, cancel := context.WithTimeout(ctx, timeout)
		start := make(chan struct{})
		var ready, done sync.WaitGroup
		var errs atomic.Int64
		var fe atomic.Pointer[error]
		for range goroutines {
			ready.Add(1)
			done.Go(func() {
				ready.Done()
				<-start
				if err := GdsvaultRead(c)(tctx); err != nil {
					errs.Add(1)
					fe.CompareAndSwap(nil, &err)
				}
			})
		}
		ready.Wait()
		t0 := time.Now()
		close(start)
		done.Wait()
		el := time.Since(t0)
		cancel()
		_ = c.Close(context.Background())
		tr.CloseIdleConnections()
		res.Errors += int(errs.Load())
		if p := fe.Load(); p != nil && firstErr == nil {
			firstErr = *p
		}
		if warm {
			res.WarmMountDataGETs = append(res.WarmMountDataGETs, int(ct.data.Load()))
			res.WarmMountTotal = append(res.WarmMountTotal, int(ct.total.Load()))
			continue
		}
		res.DataGETs = append(res.DataGETs, int(ct.data.Load()))
		res.MountLookups = append(res.MountLookups, int(ct.mounts.Load()))
		res.Total = append(res.Total, int(ct.total.Load()))
		res.Elapsed = append(res.Elapsed, el)
	}
	if res.Errors > 0 {
		return res, fmt.Errorf("%d reads failed in the stampede, first: %w", res.Errors, firstErr)
	}
	return res, nil
}

// MemoryResult is the heap held by a cached client.
type MemoryResult struct {
	Secrets int
	// ValueBytes is the JSON size of one secret's data.
	ValueBytes int
	WriteTime  time.Duration
	ReadTime   time.Duration
	// HeapInuse is HeapInuse after GC with every secret cached, minus
	// HeapInuse after GC before the client existed; HeapAlloc the same for
	// HeapAlloc (live objects only).
	HeapInuse, HeapAlloc int64
	// ClientOnlyInuse is the same delta with the client built and one
	// secret read (connections, mount cache): the fixed part.
	ClientOnlyInuse int64
	// Cached is the number of entries found cached afterwards (re-reading
	// every secret sent RefetchRequests requests to Vault).
	Cached          int
	RefetchRequests int
	Evictions       uint64
}

// benchPath is the i-th secret of the memory benchmark (1-based).
func benchPath(i int) string { return fmt.Sprintf("secret/bench/s%05d", i) }

// benchData is ~200 bytes of JSON.
func benchData(i int) map[string]any {
	host := fmt.Sprintf("db-%05d.bench.example.com", i)
	user := fmt.Sprintf("user%05d", i)
	// {"db_host":"…","db_pass":"…","db_user":"…"} is 38 bytes of syntax.
	pass := strings.Repeat(fmt.Sprintf("%05d", i), 40)[:200-38-len(host)-len(user)]
	return map[string]any{"db_host": host, "db_user": user, "db_pass": pass}
}

// Memory writes n secrets of ~200 bytes, reads each through a fresh cached
// client and reports the heap it holds.
func (l *Lab) Memory(ctx context.Context, n, goroutines int, timeout time.Duration) (*MemoryResult, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res := &MemoryResult{Secrets: n, ValueBytes: jsonSize(benchData(1))}

	// Write them (a client without cache, closed before the baseline).
	w, err := l.NewGdsvault()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := parallel(ctx, n, goroutines, func(ctx context.Context, i int) error {
		_, err := w.KV().Put(ctx, benchPath(i), benchData(i))
		return err
	}); err != nil {
		return nil, fmt.Errorf("writing %d secrets: %w", n, err)
	}
	res.WriteTime = time.Since(t0)
	_ = w.Close(context.Background())

	base := heapAfterGC()
	ct := &countingTransport{next: newTransport()}
	c, err := l.NewGdsvault(gdsvault.WithCache(), gdsvault.WithTransport(ct))
	if err != nil {
		return nil, err
	}
	defer c.Close(context.Background())
	if _, err := c.GetSecret(ctx, LabPath); err != nil {
		return nil, err
	}
	c.ClearCache()
	clientOnly := heapAfterGC()
	t0 = time.Now()
	if err := parallel(ctx, n, goroutines, func(ctx context.Context, i int) error {
		s, err := c.GetSecret(ctx, benchPath(i))
		if err == nil && s.Data["db_user"] != fmt.Sprintf("user%05d", i) {
			err = fmt.Errorf("%s: wrong db_user", benchPath(i))
		}
		return err
	}); err != nil {
		return nil, fmt.Errorf("reading %d secrets: %w", n, err)
	}
	res.ReadTime = time.Since(t0)
	after := heapAfterGC()
	res.HeapInuse = int64(after.HeapInuse) - int64(base.HeapInuse)
	res.HeapAlloc = int64(after.HeapAlloc) - int64(base.HeapAlloc)
	res.ClientOnlyInuse = int64(clientOnly.HeapInuse) - int64(base.HeapInuse)

	// Check they were all cached: reading them again reaches Vault 0 times.
	before := ct.total.Load()
	kv0, _ := c.CacheStats()
	if err := parallel(ctx, n, goroutines, func(ctx context.Context, i int) error {
		_, err := c.GetSecret(ctx, benchPath(i))
		return err
	}); err != nil {
		return nil, err
	}
	kv1, _ := c.CacheStats()
	res.RefetchRequests = int(ct.total.Load() - before)
	res.Cached = int(kv1.Hits - kv0.Hits)
	res.Evictions = kv1.Evictions
	runtime.KeepAlive(c)
	return res, nil
}

func heapAfterGC() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// parallel calls f(i) for i in 1..n on g goroutines; it stops at the first
// error or when ctx ends.
func parallel(ctx context.Context, n, g int, f func(ctx context.Context, i int) error) error {
	var next atomic.Int64
	var first atomic.Pointer[error]
	var wg sync.WaitGroup
	for range g {
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				if i > n || first.Load() != nil {
					return
				}
				if err := ctx.Err(); err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
				if err := f(ctx, i); err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	if p := first.Load(); p != nil {
		return *p
	}
	return nil
}

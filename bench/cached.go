package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gdsvault/gdsvault"
)

// GdsvaultField reads db_host of LabPath with c.Field: no copy of the
// secret, so on a cached client no allocation.
func GdsvaultField(c *gdsvault.Client) ReadFunc {
	return func(ctx context.Context) error {
		v, err := c.Field(ctx, LabPath, "db_host")
		if err != nil {
			return err
		}
		if v != LabHost {
			return fmt.Errorf("gdsvault: db_host is %v", v)
		}
		return nil
	}
}

// CachedConfig sizes the cached-read measurement.
type CachedConfig struct {
	Goroutines int
	// Batch hits are timed together (one sample); each goroutine takes
	// Samples samples per block.
	Batch, Samples int
	// Rounds of blocks: in each, both reads on one goroutine and on
	// Goroutines, the order alternated.
	Rounds  int
	Timeout time.Duration
}

// Hits summarises the cache hits of one read on some goroutines.
type Hits struct {
	Hits int
	// P50 is the median of batch time / Batch.
	P50 time.Duration
	// PerSec is hits / time inside the blocks.
	PerSec float64
	// AllocsPerHit and BytesPerHit are runtime.MemStats Mallocs and
	// TotalAlloc deltas over the blocks / hits (the whole process).
	AllocsPerHit, BytesPerHit float64
}

// CachedRead is one read, on one goroutine and on many.
type CachedRead struct {
	Seq, Par Hits
	// Scaling is the median over the rounds of Par's hits/s / Seq's
	// (each round measures both, back to back); Scalings are the rounds'.
	Scaling  float64
	Scalings []float64
}

// CachedResult is the cached-read measurement.
type CachedResult struct {
	Goroutines, Batch, Rounds int
	// Field is c.Field(ctx, LabPath, "db_host"); Get is c.GetSecret(ctx,
	// LabPath), which copies the secret.
	Field, Get CachedRead
	// FetchesDuring counts the fetches during the timed hits (0 expected).
	FetchesDuring uint64
}

// hitBlock is one timed run of hits on g goroutines.
type hitBlock struct {
	samples []time.Duration
	hits    int
	elapsed time.Duration
	mem     memSnap
}

// runHits runs samples batches of batch reads on each of g goroutines.
func runHits(ctx context.Context, read ReadFunc, g, batch, samples int, deadline time.Time) (hitBlock, error) {
	per := make([][]time.Duration, g)
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	runtime.GC()
	before := readMem()
	start := time.Now()
	for i := range g {
		wg.Go(func() {
			per[i] = make([]time.Duration, 0, samples)
			for range samples {
				if time.Now().After(deadline) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				for range batch {
					if err := read(ctx); err != nil {
						keep := err // &err would move err to the heap: one allocation per read
						firstErr.CompareAndSwap(nil, &keep)
						return
					}
				}
				per[i] = append(per[i], time.Since(t0)/time.Duration(batch))
			}
		})
	}
	wg.Wait()
	b := hitBlock{elapsed: time.Since(start), mem: readMem().sub(before)}
	for _, p := range per {
		b.samples = append(b.samples, p...)
	}
	if p := firstErr.Load(); p != nil {
		return b, *p
	}
	if len(b.samples) == 0 {
		return b, errors.New("no batch completed")
	}
	b.hits = len(b.samples) * batch
	return b, nil
}

func summariseHits(bs []hitBlock) Hits {
	var h Hits
	var all []time.Duration
	var el time.Duration
	var mem memSnap
	for _, b := range bs {
		all = append(all, b.samples...)
		h.Hits += b.hits
		el += b.elapsed
		mem.mallocs += b.mem.mallocs
		mem.bytes += b.mem.bytes
	}
	if h.Hits == 0 {
		return h
	}
	h.P50 = percentile(all, 50)
	h.PerSec = float64(h.Hits) / el.Seconds()
	h.AllocsPerHit = float64(mem.mallocs) / float64(h.Hits)
	h.BytesPerHit = float64(mem.bytes) / float64(h.Hits)
	return h
}

// Cached measures cache hits on a client built WithCache: Field and
// GetSecret, each on one goroutine and on cfg.Goroutines, in alternated
// blocks.
func (l *Lab) Cached(ctx context.Context, cfg CachedConfig) (*CachedResult, error) {
	c, err := l.NewGdsvault(gdsvault.WithCache())
	if err != nil {
		return nil, err
	}
	defer c.Close(context.Background())
	reads := [2]ReadFunc{GdsvaultField(c), GdsvaultRead(c)}
	for _, read := range reads { // one fetch, then hits
		for range 3 {
			if err := read(ctx); err != nil {
				return nil, err
			}
		}
	}
	res := &CachedResult{Goroutines: cfg.Goroutines, Batch: cfg.Batch, Rounds: cfg.Rounds}
	kvBefore, _ := c.CacheStats()
	deadline := time.Now().Add(cfg.Timeout)
	var blocks [2][2][]hitBlock // [read][seq, par]
	var scalings [2][]float64
	for r := range cfg.Rounds {
		for k := range 2 {
			i := (r + k) % 2 // which read goes first swaps every round
			var pair [2]hitBlock
			for m := range 2 {
				j := (r + m) % 2 // and which mode
				g := 1
				if j == 1 {
					g = cfg.Goroutines
				}
				b, err := runHits(ctx, reads[i], g, cfg.Batch, cfg.Samples, deadline)
				if err != nil {
					return nil, err
				}
				pair[j] = b
				blocks[i][j] = append(blocks[i][j], b)
			}
			if pair[0].hits > 0 && pair[1].hits > 0 {
				seq := float64(pair[0].hits) / pair[0].elapsed.Seconds()
				par := float64(pair[1].hits) / pair[1].elapsed.Seconds()
				scalings[i] = append(scalings[i], par/seq)
			}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	for i, out := range []*CachedRead{&res.Field, &res.Get} {
		out.Seq, out.Par = summariseHits(blocks[i][0]), summariseHits(blocks[i][1])
		out.Scalings = scalings[i]
		out.Scaling = medianFloat(slices.Clone(scalings[i]))
	}
	kvAfter, _ := c.CacheStats()
	res.FetchesDuring = kvAfter.Fetches - kvBefore.Fetches
	return res, nil
}

func medianFloat(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// Package observe measures what the observers cost a gdsvault client: the
// Prometheus collector (metrics/prom) and the OpenTelemetry tracer
// (trace/otel) on the SDK, spans batched to an exporter that drops them. On
// the bench lab's dev Vault (bench.StartLab) it measures:
//
//   - the observer hooks alone per HTTP exchange (StartRequest and its end),
//     in a loop without Vault;
//   - uncached reads with each set of observers — none, a second client
//     with none (the control: what tells two identical clients apart is
//     noise), the collector, the tracer, both, both with 10 % of traces
//     sampled — in small blocks rotated round after round, so that the
//     load of a shared machine falls on all alike: p50, this process's CPU
//     and allocations per read;
//   - cached hits, without observers, without (control) and with both: a
//     hit makes no exchange, so the observers are not called.
//
// cmd/overhead prints the figures as Markdown; overhead_test.go has the same
// as `go test -bench` benchmarks.
package observe

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/bench"
	"github.com/gdsvault/gdsvault/metrics/prom"
	gdsotel "github.com/gdsvault/gdsvault/trace/otel"
	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Observers are a collector and a tracer, as a program would attach them.
type Observers struct {
	Collector *prom.Collector
	Tracer    *gdsotel.Tracer
	registry  *prometheus.Registry
	provider  *sdktrace.TracerProvider
}

// NewObservers builds a collector (registered in a registry of its own) and
// a tracer on an SDK provider with sampler (nil: every span sampled) that
// batches spans to an exporter that drops them.
func NewObservers(sampler sdktrace.Sampler) (*Observers, error) {
	col, err := prom.NewCollector()
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(col); err != nil {
		return nil, err
	}
	if sampler == nil {
		sampler = sdktrace.AlwaysSample()
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithBatcher(dropExporter{}))
	tr, err := gdsotel.NewTracer(gdsotel.WithTracerProvider(tp))
	if err != nil {
		return nil, err
	}
	return &Observers{Collector: col, Tracer: tr, registry: reg, provider: tp}, nil
}

// Options attach both observers to a client.
func (o *Observers) Options() []gdsvault.Option {
	return []gdsvault.Option{gdsvault.WithObserver(o.Collector), gdsvault.WithObserver(o.Tracer)}
}

// Observer is both, as a client built with Options sees them.
func (o *Observers) Observer() gdsvault.Observer {
	return gdsvault.MultiObserver(o.Collector, o.Tracer)
}

// Exchanges is how many exchanges the collector has counted.
func (o *Observers) Exchanges() (uint64, error) {
	mfs, err := o.registry.Gather()
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, mf := range mfs {
		if mf.GetName() == "gdsvault_request_duration_seconds" {
			for _, m := range mf.GetMetric() {
				n += m.GetHistogram().GetSampleCount()
			}
		}
	}
	return n, nil
}

// Close stops the tracer provider.
func (o *Observers) Close(ctx context.Context) error { return o.provider.Shutdown(ctx) }

// dropExporter exports spans nowhere.
type dropExporter struct{}

func (dropExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (dropExporter) Shutdown(context.Context) error                             { return nil }

// Config sizes a measurement.
type Config struct {
	// Rounds of rotated blocks, one block per variant per round.
	Rounds int
	// Reads, Hits and HookCalls are the operations per block.
	Reads, Hits, HookCalls int
	// Timeout bounds the whole measurement.
	Timeout time.Duration
}

// DefaultConfig is what cmd/overhead runs: about a minute on 2 cores.
func DefaultConfig() Config {
	return Config{Rounds: 80, Reads: 50, Hits: 50_000, HookCalls: 50_000, Timeout: 10 * time.Minute}
}

// SmokeConfig runs every part with tiny counts (the figures mean nothing).
func SmokeConfig() Config {
	return Config{Rounds: 2, Reads: 3, Hits: 100, HookCalls: 100, Timeout: time.Minute}
}

// Figure is one variant's figures.
type Figure struct {
	Name string
	// Op is the p50 of an uncached read, the median time of a hook call or
	// of a cached hit.
	Op time.Duration
	// CPU is this process's CPU time per operation (uncached reads only:
	// the client's work, without Vault's).
	CPU time.Duration
	// Allocs per operation.
	Allocs float64
}

// Result holds the figures.
type Result struct {
	Config Config
	// Hooks: prom, otel, both, per exchange.
	Hooks []Figure
	// Uncached: none, control, prom, otel, both, both 10 %.
	Uncached []Figure
	// Cached: none, control, both.
	Cached []Figure
	// ExchangesPerRead is the exchanges per uncached read (1: the mount
	// lookup is made before the blocks).
	ExchangesPerRead float64
}

// Variant names.
const (
	None        = "none"
	Control     = "none (control)"
	PromOnly    = "prom"
	OtelOnly    = "otel"
	Both        = "prom + otel"
	BothSampled = "prom + otel, 10 % sampled"
)

// fractionRate is the share of traces sampled in the BothSampled variant.
const fractionRate = 0.1

// FigureOf returns the figure named name in fs.
func FigureOf(fs []Figure, name string) Figure {
	for _, f := range fs {
		if f.Name == name {
			return f
		}
	}
	return Figure{}
}

// BothShare is what both observers add to an uncached read's p50, as a
// share of the bare read's.
func (r *Result) BothShare() float64 {
	none, both := FigureOf(r.Uncached, None), FigureOf(r.Uncached, Both)
	return float64(both.Op-none.Op) / float64(none.Op)
}

// HookShare is the hooks' cost per uncached read, as a share of the bare
// read's p50.
func (r *Result) HookShare() float64 {
	return r.ExchangesPerRead * float64(FigureOf(r.Hooks, Both).Op) / float64(FigureOf(r.Uncached, None).Op)
}

// CachedDelta is what both observers add to a cached hit.
func (r *Result) CachedDelta() time.Duration {
	return FigureOf(r.Cached, Both).Op - FigureOf(r.Cached, None).Op
}

// variant is one client, or one observer for the hooks.
type variant struct {
	name   string
	read   bench.ReadFunc
	client *gdsvault.Client
}

// Measure runs the measurement on the lab's Vault.
func Measure(ctx context.Context, lab *bench.Lab, cfg Config) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	all, err := NewObservers(nil)
	if err != nil {
		return nil, err
	}
	defer all.Close(context.Background())
	sampled, err := NewObservers(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(fractionRate)))
	if err != nil {
		return nil, err
	}
	defer sampled.Close(context.Background())
	res := &Result{Config: cfg}

	// The hooks alone.
	info := gdsvault.RequestInfo{Method: "GET", Mount: "secret", Template: "secret/data/*", Attempt: 1, Node: lab.Addr}
	var hooks []variant
	for _, h := range []struct {
		name string
		o    gdsvault.Observer
	}{{PromOnly, all.Collector}, {OtelOnly, all.Tracer}, {Both, all.Observer()}} {
		hooks = append(hooks, variant{name: h.name, read: func(ctx context.Context) error {
			_, done := h.o.StartRequest(ctx, info)
			done(gdsvault.RequestOutcome{Status: 200, Duration: time.Millisecond})
			return nil
		}})
	}
	if res.Hooks, err = measure(ctx, cfg.Rounds, cfg.HookCalls, hooks, false); err != nil {
		return nil, err
	}

	// Uncached reads.
	uncached, err := clients(lab, []struct {
		name string
		opts []gdsvault.Option
	}{
		{None, nil}, {Control, nil},
		{PromOnly, []gdsvault.Option{gdsvault.WithObserver(all.Collector)}},
		{OtelOnly, []gdsvault.Option{gdsvault.WithObserver(all.Tracer)}},
		{Both, all.Options()},
		{BothSampled, sampled.Options()},
	})
	if err != nil {
		return nil, err
	}
	defer closeAll(uncached)
	before, err := all.Exchanges()
	if err != nil {
		return nil, err
	}
	if res.Uncached, err = measure(ctx, cfg.Rounds, cfg.Reads, uncached, true); err != nil {
		return nil, err
	}
	after, err := all.Exchanges()
	if err != nil {
		return nil, err
	}
	res.ExchangesPerRead = float64(after-before) / float64(2*cfg.Rounds*cfg.Reads) // prom and both

	// Cached hits.
	cached, err := clients(lab, []struct {
		name string
		opts []gdsvault.Option
	}{
		{None, []gdsvault.Option{gdsvault.WithCache()}}, {Control, []gdsvault.Option{gdsvault.WithCache()}},
		{Both, append(all.Options(), gdsvault.WithCache())},
	})
	if err != nil {
		return nil, err
	}
	defer closeAll(cached)
	if res.Cached, err = measure(ctx, cfg.Rounds, cfg.Hits, cached, false); err != nil {
		return nil, err
	}
	for _, c := range cached {
		if kv, _ := c.client.CacheStats(); kv.Fetches != 1 {
			return nil, fmt.Errorf("cached client %s fetched %d times, want 1", c.name, kv.Fetches)
		}
	}
	if ctx.Err() != nil {
		return nil, errors.New("the measurement ran out of time")
	}
	return res, nil
}

// clients builds one client per variant and warms it up (connections, the
// mount lookup, the cache).
func clients(lab *bench.Lab, vs []struct {
	name string
	opts []gdsvault.Option
}) ([]variant, error) {
	var out []variant
	for _, v := range vs {
		c, err := lab.NewGdsvault(v.opts...)
		if err != nil {
			closeAll(out)
			return nil, err
		}
		out = append(out, variant{name: v.name, read: bench.GdsvaultRead(c), client: c})
		for range 20 {
			if err := out[len(out)-1].read(context.Background()); err != nil {
				closeAll(out)
				return nil, err
			}
		}
	}
	return out, nil
}

func closeAll(vs []variant) {
	for _, v := range vs {
		if v.client != nil {
			_ = v.client.Close(context.Background())
		}
	}
}

// measure runs rounds of one block of n operations per variant, the order
// rotated every round, each block from a collected heap. With each, every
// operation is timed (Op is their p50); without, a block is timed as a
// whole (Op is the median of block time / n).
func measure(ctx context.Context, rounds, n int, vs []variant, each bool) ([]Figure, error) {
	times := make([][]time.Duration, len(vs))
	cpu := make([]time.Duration, len(vs))
	mem := make([]memSnap, len(vs))
	for r := range rounds {
		for k := range vs {
			i := (r + k) % len(vs)
			runtime.GC()
			m0, c0, start := readMem(), selfCPU(), time.Now()
			for range n {
				t0 := time.Now()
				if err := vs[i].read(ctx); err != nil {
					return nil, fmt.Errorf("%s: %w", vs[i].name, err)
				}
				if each {
					times[i] = append(times[i], time.Since(t0))
				}
			}
			if !each {
				times[i] = append(times[i], time.Since(start)/time.Duration(n))
			}
			cpu[i] += selfCPU() - c0
			mem[i] = mem[i].add(readMem().sub(m0))
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	ops := rounds * n
	out := make([]Figure, len(vs))
	for i, v := range vs {
		out[i] = Figure{Name: v.name, Op: percentile(times[i], 50), CPU: cpu[i] / time.Duration(ops), Allocs: float64(mem[i].mallocs) / float64(ops)}
	}
	return out, nil
}

// Markdown renders the figures against the goals.
func (r *Result) Markdown() string {
	var b strings.Builder
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "missed"
	}
	none := FigureOf(r.Uncached, None)
	fmt.Fprintf(&b, "Uncached reads (p50 over every read; CPU and allocations of this process per read):\n\n")
	fmt.Fprintf(&b, "| observers | p50 | vs none | client CPU | vs none | allocs |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
	for _, f := range r.Uncached {
		fmt.Fprintf(&b, "| %s | %v | %+.1f %% | %v | %+v | %.0f |\n", f.Name, f.Op.Round(100*time.Nanosecond),
			100*float64(f.Op-none.Op)/float64(none.Op), f.CPU.Round(100*time.Nanosecond), (f.CPU - none.CPU).Round(100*time.Nanosecond), f.Allocs)
	}
	fmt.Fprintf(&b, "\nObserver hooks per exchange, alone (StartRequest and its end, no Vault):\n\n| observers | time | allocs |\n| --- | ---: | ---: |\n")
	for _, f := range r.Hooks {
		fmt.Fprintf(&b, "| %s | %v | %.0f |\n", f.Name, f.Op, f.Allocs)
	}
	cnone := FigureOf(r.Cached, None)
	fmt.Fprintf(&b, "\nCached hits (no exchange: the observers are not called):\n\n| observers | time per hit | vs none | allocs |\n| --- | ---: | ---: | ---: |\n")
	for _, f := range r.Cached {
		fmt.Fprintf(&b, "| %s | %v | %+v | %.0f |\n", f.Name, f.Op, f.Op-cnone.Op, f.Allocs)
	}
	fmt.Fprintf(&b, "\nGoals: both observers under 3 %% of an uncached read: %s end to end (%+.1f %%), %s for the hooks alone (%.1f %%); "+
		"under 50 ns per cached hit: %s (%+v).\n", verdict(r.BothShare() < 0.03), 100*r.BothShare(), verdict(r.HookShare() < 0.03),
		100*r.HookShare(), verdict(r.CachedDelta() < 50*time.Nanosecond), r.CachedDelta())
	fmt.Fprintf(&b, "\n%d rounds of rotated blocks: %d uncached reads, %d hits, %d hook calls per block; %.1f exchanges per uncached read. "+
		"Traces: the OpenTelemetry SDK, every span sampled unless said otherwise, batched to an exporter that drops them.\n",
		r.Config.Rounds, r.Config.Reads, r.Config.Hits, r.Config.HookCalls, r.ExchangesPerRead)
	return b.String()
}

// memSnap is the allocation counters at one instant.
type memSnap struct{ mallocs, bytes uint64 }

func readMem() memSnap {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memSnap{m.Mallocs, m.TotalAlloc}
}

func (a memSnap) sub(b memSnap) memSnap { return memSnap{a.mallocs - b.mallocs, a.bytes - b.bytes} }
func (a memSnap) add(b memSnap) memSnap { return memSnap{a.mallocs + b.mallocs, a.bytes + b.bytes} }

// selfCPU is the process's user + system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// percentile is the nearest-rank percentile p of xs (sorted in place).
func percentile(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	i := int(p/100*float64(len(xs))+0.999999) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}

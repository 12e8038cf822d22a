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
// The figures are a bench.ObserverResult: cmd/overhead prints them as
// Markdown, or with -json for `make bench`, which renders them as section 9
// of BENCHMARKS.md (bench/cmd/bench -observe); overhead_test.go has the
// same as `go test -bench` benchmarks.
package observe

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
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

// fractionRate is the share of traces sampled in the
// bench.ObserversBothSampled variant.
const fractionRate = 0.1

// variant is one client, or one observer for the hooks.
type variant struct {
	name   string
	read   bench.ReadFunc
	client *gdsvault.Client
}

// Measure runs the measurement on the lab's Vault.
func Measure(ctx context.Context, lab *bench.Lab, cfg Config) (*bench.ObserverResult, error) {
	start := time.Now()
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
	res := &bench.ObserverResult{Date: start.UTC(), VaultVersion: lab.VaultVersion,
		Rounds: cfg.Rounds, Reads: cfg.Reads, Hits: cfg.Hits, HookCalls: cfg.HookCalls}

	// The hooks alone.
	info := gdsvault.RequestInfo{Method: "GET", Mount: "secret", Template: "secret/data/*", Attempt: 1, Node: lab.Addr}
	var hooks []variant
	for _, h := range []struct {
		name string
		o    gdsvault.Observer
	}{{bench.ObserversProm, all.Collector}, {bench.ObserversOtel, all.Tracer}, {bench.ObserversBoth, all.Observer()}} {
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
		{bench.ObserversNone, nil}, {bench.ObserversControl, nil},
		{bench.ObserversProm, []gdsvault.Option{gdsvault.WithObserver(all.Collector)}},
		{bench.ObserversOtel, []gdsvault.Option{gdsvault.WithObserver(all.Tracer)}},
		{bench.ObserversBoth, all.Options()},
		{bench.ObserversBothSampled, sampled.Options()},
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
		{bench.ObserversNone, []gdsvault.Option{gdsvault.WithCache()}}, {bench.ObserversControl, []gdsvault.Option{gdsvault.WithCache()}},
		{bench.ObserversBoth, append(all.Options(), gdsvault.WithCache())},
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
	res.Duration = time.Since(start)
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
func measure(ctx context.Context, rounds, n int, vs []variant, each bool) ([]bench.ObserverFigure, error) {
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
	out := make([]bench.ObserverFigure, len(vs))
	for i, v := range vs {
		out[i] = bench.ObserverFigure{Name: v.name, Op: percentile(times[i], 50), CPU: cpu[i] / time.Duration(ops), Allocs: float64(mem[i].mallocs) / float64(ops)}
	}
	return out, nil
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

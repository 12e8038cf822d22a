package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// ObserverResult is what the nested module bench/observe measures: what
// the Prometheus collector (metrics/prom) and the OpenTelemetry tracer
// (trace/otel) add to a gdsvault read. That module links both libraries,
// which this one does not; its command (`go run ./cmd/overhead -json`)
// writes this as JSON, and cmd/bench's -observe flag reads it into the
// report (section 9).
type ObserverResult struct {
	// Date and Duration of the measurement, on a dev Vault of its own
	// (VaultVersion).
	Date         time.Time
	Duration     time.Duration
	VaultVersion string
	// Rounds of rotated blocks; Reads, Hits and HookCalls per block.
	Rounds, Reads, Hits, HookCalls int
	// Hooks: the observer hooks alone per HTTP exchange (ObserversProm,
	// ObserversOtel, ObserversBoth).
	Hooks []ObserverFigure
	// Uncached: every variant.
	Uncached []ObserverFigure
	// Cached: ObserversNone, ObserversControl, ObserversBoth.
	Cached []ObserverFigure
	// ExchangesPerRead is the HTTP exchanges per uncached read (1: the
	// mount is resolved before the blocks).
	ExchangesPerRead float64
}

// ObserverFigure is one variant's figures.
type ObserverFigure struct {
	Name string
	// Op is the p50 of an uncached read, or the median time of a hook call
	// or of a cached hit.
	Op time.Duration
	// CPU is the measuring process's CPU time per operation (uncached
	// reads only: the client's work, without Vault's).
	CPU time.Duration
	// Allocs per operation.
	Allocs float64
}

// The variants of an ObserverResult.
const (
	ObserversNone        = "none"
	ObserversControl     = "none (control)"
	ObserversProm        = "prom"
	ObserversOtel        = "otel"
	ObserversBoth        = "prom + otel"
	ObserversBothSampled = "prom + otel, 10 % sampled"
)

// ObserverFigureOf returns the figure named name in fs (zero if none).
func ObserverFigureOf(fs []ObserverFigure, name string) ObserverFigure {
	for _, f := range fs {
		if f.Name == name {
			return f
		}
	}
	return ObserverFigure{}
}

// BothShare is what both observers add to an uncached read's p50, as a
// share of the bare read's.
func (r *ObserverResult) BothShare() float64 {
	none, both := ObserverFigureOf(r.Uncached, ObserversNone), ObserverFigureOf(r.Uncached, ObserversBoth)
	return ratio(float64(both.Op-none.Op), float64(none.Op))
}

// ControlShare is the same for the control (a second bare client): what
// tells two identical clients apart in this run.
func (r *ObserverResult) ControlShare() float64 {
	none, ctl := ObserverFigureOf(r.Uncached, ObserversNone), ObserverFigureOf(r.Uncached, ObserversControl)
	return ratio(float64(ctl.Op-none.Op), float64(none.Op))
}

// HookShare is the hooks' own cost per uncached read, as a share of the
// bare read's p50.
func (r *ObserverResult) HookShare() float64 {
	return ratio(r.ExchangesPerRead*float64(ObserverFigureOf(r.Hooks, ObserversBoth).Op), float64(ObserverFigureOf(r.Uncached, ObserversNone).Op))
}

// CachedDelta is what both observers add to a cached hit.
func (r *ObserverResult) CachedDelta() time.Duration {
	return ObserverFigureOf(r.Cached, ObserversBoth).Op - ObserverFigureOf(r.Cached, ObserversNone).Op
}

// check says what an ObserverResult lacks for the report and its targets.
func (r *ObserverResult) check() error {
	var errs []error
	for _, p := range []struct {
		part  string
		fs    []ObserverFigure
		names []string
	}{
		{"uncached", r.Uncached, []string{ObserversNone, ObserversBoth}},
		{"cached", r.Cached, []string{ObserversNone, ObserversBoth}},
		{"hooks", r.Hooks, []string{ObserversBoth}},
	} {
		for _, n := range p.names {
			if ObserverFigureOf(p.fs, n).Op <= 0 {
				errs = append(errs, fmt.Errorf("no %s figure for %q", p.part, n))
			}
		}
	}
	return errors.Join(errs...)
}

// ReadObserverResult reads what `go run ./cmd/overhead -json` (in
// bench/observe) wrote to path.
func ReadObserverResult(path string) (*ObserverResult, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, fmt.Errorf("%s is empty (did bench/observe's cmd/overhead fail?)", path)
	}
	var r ObserverResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// observerTargets are the goals for the observers: both attached
// add under 3 % to an uncached read, under 50 ns to a cached hit.
func (r *ObserverResult) targets() []Target {
	none, both := ObserverFigureOf(r.Uncached, ObserversNone), ObserverFigureOf(r.Uncached, ObserversBoth)
	share := r.BothShare()
	cnone, cboth := ObserverFigureOf(r.Cached, ObserversNone), ObserverFigureOf(r.Cached, ObserversBoth)
	delta := r.CachedDelta()
	return []Target{
		{Key: "observers-uncached", Name: "Uncached read with the Prometheus collector and the OpenTelemetry tracer, p50", Goal: "< 3 % more than without",
			Measured: fmt.Sprintf("%+.1f %% (%s vs %s; control %+.1f %%; the hooks alone %.1f %%)", 100*share, us(both.Op), us(none.Op),
				100*r.ControlShare(), 100*r.HookShare()),
			Met: share < 0.03, Margin: pointsMargin(share, 0.03)},
		{Key: "observers-cached", Name: "Cached hit with both observers", Goal: "< 50 ns more than without",
			Measured: fmt.Sprintf("%+d ns (%s vs %s)", delta.Nanoseconds(), ns(cboth.Op), ns(cnone.Op)),
			Met:      delta < 50*time.Nanosecond, Margin: nsMargin(delta, 50*time.Nanosecond)},
	}
}

// pointsMargin is pctMargin for a share against a share: in percentage
// points.
func pointsMargin(got, limit float64) string {
	if got < limit {
		return fmt.Sprintf("met with %.1f points to spare", 100*(limit-got))
	}
	return fmt.Sprintf("missed by %.1f points", 100*(got-limit))
}

func nsMargin(got, limit time.Duration) string {
	if got < limit {
		return fmt.Sprintf("met with %d ns to spare", (limit - got).Nanoseconds())
	}
	return fmt.Sprintf("missed by %d ns", (got - limit).Nanoseconds())
}

// Markdown renders the figures (no heading: the report adds its own).
func (r *ObserverResult) Markdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("Measured by the nested module bench/observe (a module of its own: it links Prometheus's client_golang and the OpenTelemetry SDK, "+
		"which bench does not; `make bench` runs it before the other sections) on a dev Vault of its own (%s, the same binary), in %s. Clients built like section 1's, each with a set of "+
		"observers: none; none again (the control: what tells two identical clients apart is noise); the collector (`metrics/prom`, registered in a "+
		"registry of its own); the tracer (`trace/otel` on the OpenTelemetry SDK, every span sampled, batched to an exporter that drops them); both; "+
		"both with 10 %% of traces sampled. %d rounds of blocks, one block per client per round, the order rotated every round so that the load of "+
		"a shared machine falls on all alike: %d uncached reads per block (every read timed), %d cached hits per block (a block timed as a whole), "+
		"%d calls of the hooks alone per block; allocations: `runtime.MemStats` Mallocs delta over the blocks / operations (whole process); client "+
		"CPU: getrusage of the measuring process. %.1f HTTP exchanges per uncached read (the mount resolved before the blocks).\n\n",
		r.VaultVersion, r.Duration.Round(time.Second), r.Rounds, r.Reads, r.Hits, r.HookCalls, r.ExchangesPerRead)
	none := ObserverFigureOf(r.Uncached, ObserversNone)
	w("| Uncached read, observers | p50 | vs none | client CPU / read | vs none | allocations / read |\n|---|---|---|---|---|---|\n")
	for _, f := range r.Uncached {
		w("| %s | %s | %+.1f %% | %s | %+.1f µs | %.0f |\n", f.Name, us(f.Op), 100*ratio(float64(f.Op-none.Op), float64(none.Op)),
			us(f.CPU), float64(f.CPU-none.CPU)/float64(time.Microsecond), f.Allocs)
	}
	w("\n| Observer hooks per exchange, alone (StartRequest and its end, no Vault) | time | allocations |\n|---|---|---|\n")
	for _, f := range r.Hooks {
		w("| %s | %s | %.0f |\n", f.Name, ns(f.Op), f.Allocs)
	}
	cnone := ObserverFigureOf(r.Cached, ObserversNone)
	w("\n| Cached hit (`GetSecret`), observers | time per hit | vs none | allocations / hit |\n|---|---|---|---|\n")
	for _, f := range r.Cached {
		w("| %s | %s | %+d ns | %.3f |\n", f.Name, ns(f.Op), (f.Op - cnone.Op).Nanoseconds(), f.Allocs)
	}
	w("\nThe hooks alone (both) cost %.1f %% of a bare uncached read's p50; a cached hit makes no exchange, so no observer is called on it.\n\n",
		100*r.HookShare())
	return b.String()
}

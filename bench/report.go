package bench

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Target is one goal of the issue, checked against a run.
type Target struct {
	Key      string // finding key
	Name     string
	Goal     string
	Measured string
	Met      bool
	// Margin says by how much it was met or missed.
	Margin string
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Targets checks the run against the goals (round two: cached
// reads at memory speed, a CLI 20× faster than vault's), and the
// guarantees earlier rounds set (shared fetches, memory).
func (r *Report) Targets() []Target {
	var ts []Target
	if u := r.Uncached; u != nil {
		modes := []struct {
			name string
			p    Pair
		}{{"sequential", u.Seq}, {fmt.Sprintf("%d goroutines", u.Goroutines), u.Par}}
		for _, m := range modes {
			q := ratio(float64(m.p.Gds.P50), float64(m.p.Peer.P50))
			ts = append(ts, Target{Key: "uncached-p50", Name: "Uncached read p50, " + m.name, Goal: "gdsvault / vault/api ≤ 0.95",
				Measured: fmt.Sprintf("%.2f (%s vs %s)", q, us(m.p.Gds.P50), us(m.p.Peer.P50)), Met: q <= 0.95,
				Margin: pctMargin(q, 0.95)})
		}
		for _, m := range modes {
			g, p := m.p.Gds.AllocsPerRead, m.p.Peer.AllocsPerRead
			q := ratio(g, p)
			ts = append(ts, Target{Key: "uncached-allocs", Name: "Allocations per uncached read, " + m.name, Goal: "≤ 60% of vault/api's",
				Measured: fmt.Sprintf("%.0f%% (%.0f vs %.0f)", 100*q, g, p), Met: q <= 0.60, Margin: pctMargin(q, 0.60)})
		}
	}
	if c := r.Cached; c != nil {
		f := c.Field
		ts = append(ts,
			Target{Key: "field-ns", Name: "Cached field read, 1 goroutine, p50", Goal: "≤ 50 ns",
				Measured: ns(f.Seq.P50), Met: f.Seq.P50 <= 50*time.Nanosecond, Margin: pctMargin(float64(f.Seq.P50), 50)},
			Target{Key: "field-allocs", Name: "Allocations per cached field read", Goal: "0 (under 0.01, whole process)",
				Measured: fmt.Sprintf("%.3f", f.Seq.AllocsPerHit), Met: f.Seq.AllocsPerHit < 0.01,
				Margin: fmt.Sprintf("%.0f bytes per read", f.Seq.BytesPerHit)},
			Target{Key: "field-scaling", Name: fmt.Sprintf("Cached field reads/s, %d goroutines vs 1", c.Goroutines), Goal: "≥ 1.6×",
				Measured: fmt.Sprintf("%.2f× (median of %d rounds; %s/s vs %s/s over all)", f.Scaling, len(f.Scalings), count(f.Par.PerSec), count(f.Seq.PerSec)),
				Met:      f.Scaling >= 1.6, Margin: atLeastMargin(f.Scaling, 1.6)})
		if u := r.Uncached; u != nil {
			q := ratio(f.Par.PerSec, u.Par.Gds.PerSec)
			ts = append(ts, Target{Key: "field-throughput", Name: fmt.Sprintf("Cached field reads/s vs uncached reads/s, %d goroutines", c.Goroutines),
				Goal: "≥ 2000×", Measured: fmt.Sprintf("%.0f× (%s/s vs %s/s)", q, count(f.Par.PerSec), count(u.Par.Gds.PerSec)),
				Met: q >= 2000, Margin: atLeastMargin(q, 2000)})
		}
		for _, m := range []struct {
			name         string
			h            Hits
			before       float64
			beforeSource string
		}{{"1 goroutine", c.Get.Seq, getBefore.seqPerSec, getBefore.source}, {fmt.Sprintf("%d goroutines", c.Goroutines), c.Get.Par, getBefore.parPerSec, getBefore.source}} {
			q := ratio(m.h.PerSec, m.before)
			t := Target{Key: "get-before", Name: "Cached GetSecret (a copy) hits/s, " + m.name + ", vs before this round", Goal: "≥ 1.00 (no slower)",
				Measured: fmt.Sprintf("%.2f (%s/s vs %s/s)", q, count(m.h.PerSec), count(m.before)), Met: q >= 1, Margin: atLeastMargin(q, 1)}
			if r.Machine.CPU != getBefore.cpu || c.Goroutines != getBefore.goroutines {
				t.Met, t.Margin = false, "not comparable: the figure before was taken on "+getBefore.cpu+" with "+fmt.Sprint(getBefore.goroutines)+" goroutines"
			}
			ts = append(ts, t)
		}
	}
	if s := r.Stampede; s != nil && len(s.DataGETs) > 0 {
		all := append(slices.Clone(s.DataGETs), s.WarmMountDataGETs...)
		worst := slices.Max(all)
		ts = append(ts, Target{Key: "stampede", Name: fmt.Sprintf("Cold-cache stampede, %d goroutines, %d trials", s.Goroutines, len(all)),
			Goal:     "exactly 1 request of the data path",
			Measured: fmt.Sprintf("fresh clients: %s; mount resolved first: %s data GETs", tally(s.DataGETs), tally(s.WarmMountDataGETs)),
			Met:      worst == 1, Margin: fmt.Sprintf("%d extra at worst", worst-1)})
	}
	if m := r.Memory; m != nil {
		const limit = 30 << 20
		t := Target{Key: "memory", Name: fmt.Sprintf("Heap in use with %s cached secrets", count(float64(m.Secrets))),
			Goal: "< 30 MiB for 10,000", Measured: mib(m.HeapInuse), Met: m.Secrets >= 10000 && m.HeapInuse < limit,
			Margin: pctMargin(float64(m.HeapInuse), limit)}
		if m.Secrets < 10000 {
			t.Margin = "not applicable: fewer than 10,000 secrets"
		}
		ts = append(ts, t)
	}
	if c := r.CLI; c != nil {
		qw := ratio(float64(c.Gds.Wall), float64(c.Vault.Wall))
		qm := ratio(float64(c.Gds.MaxRSS), float64(c.Vault.MaxRSS))
		ts = append(ts,
			Target{Key: "cli-wall", Name: "CLI, token: get one field, wall time", Goal: "≤ 0.05 of the vault CLI's",
				Measured: fmt.Sprintf("%.3f (%s vs %s)", qw, ms(c.Gds.Wall), ms(c.Vault.Wall)), Met: qw <= 0.05, Margin: pctMargin(qw, 0.05)},
			Target{Key: "cli-rss", Name: "CLI, token: get one field, peak memory", Goal: "≤ 0.04 of the vault CLI's",
				Measured: fmt.Sprintf("%.3f (%s vs %s)", qm, kib(c.Gds.MaxRSS), kib(c.Vault.MaxRSS)), Met: qm <= 0.04, Margin: pctMargin(qm, 0.04)})
	}
	if c := r.AppRole; c != nil {
		qw := ratio(float64(c.Gds.Wall), float64(c.Vault.Wall))
		ts = append(ts, Target{Key: "cli-approle-wall", Name: "CLI, AppRole login + get one field, wall time", Goal: "≤ 0.07 of the vault CLI's",
			Measured: fmt.Sprintf("%.3f (%s vs %s)", qw, ms(c.Gds.Wall), ms(c.Vault.Wall)), Met: qw <= 0.07, Margin: pctMargin(qw, 0.07)})
	}
	if a := r.Agent; a != nil {
		ts = append(ts, a.targets()...)
	}
	if o := r.Observers; o != nil {
		ts = append(ts, o.targets()...)
	}
	return ts
}

// targets are the goals against Vault Agent: 10× less memory, a
// start 5× sooner, exactly one restart (or write) per change.
func (a *AgentResult) targets() []Target {
	var ts []Target
	for _, m := range []struct {
		key, name, ready, events string
		m                        AgentMode
	}{
		{"exec", "gdsvault exec", "program running with its secret", "restarts", a.Exec},
		{"template", "gdsvault agent (templates)", "file rendered", "writes", a.Template},
	} {
		g, v := m.m.Gds, m.m.Vault
		qs := ratio(float64(v.Start), float64(g.Start))
		qm := ratio(float64(v.PeakRSS), float64(g.PeakRSS))
		exact := func(s AgentSide) int {
			n := 0
			for _, r := range s.Runs {
				if r.Idle == 0 && r.Change == 1 {
					n++
				}
			}
			return n
		}
		ts = append(ts,
			Target{Key: "agent-" + m.key + "-start", Name: fmt.Sprintf("%s: start → %s, median", m.name, m.ready), Goal: "≥ 5× sooner than Vault Agent",
				Measured: fmt.Sprintf("%.1f× (%s vs %s)", qs, ms(g.Start), ms(v.Start)), Met: qs >= 5, Margin: atLeastMargin(qs, 5)},
			Target{Key: "agent-" + m.key + "-rss", Name: fmt.Sprintf("%s: peak memory of the supervisor, median", m.name), Goal: "≥ 10× less than Vault Agent's",
				Measured: fmt.Sprintf("%.1f× (%s vs %s)", qm, kib(g.PeakRSS), kib(v.PeakRSS)), Met: qm >= 10, Margin: atLeastMargin(qm, 10)},
			Target{Key: "agent-" + m.key + "-restarts", Name: fmt.Sprintf("%s: %s per secret change, %s", m.name, m.events, plural(len(g.Runs), "run")),
				Goal:     "exactly 1 per change, 0 while nothing changes",
				Measured: fmt.Sprintf("per change: %s; unchanged: %s", tally(g.Change()), tally(g.Idle())), Met: g.exactlyOnce(),
				Margin: fmt.Sprintf("%d of %d exact (Vault Agent: %d of %d)", exact(g), len(g.Runs), exact(v), len(v.Runs))})
	}
	return ts
}

// getBefore is cached GetSecret as it was before this round (commit
// 5a211dc: a locked LRU, the path resolved and the cache key built on
// every hit), measured with the harness of that commit (one GetSecret per
// hit, 1000-hit batches, 16 goroutines; its loop also allocated once per
// read, which this round's harness no longer does) on the benchmark
// machine: medians of 5 runs of `bench -only cached`, alternated with 5 of
// this round's. Figures from another machine are not comparable, and the
// target says so.
var getBefore = struct {
	cpu                  string
	goroutines           int
	seqPerSec, parPerSec float64
	source               string
}{cpu: "Intel(R) Xeon(R) Processor", goroutines: 16, seqPerSec: 1_480_000, parPerSec: 1_580_000,
	source: "commit 5a211dc, medians of 5 runs alternated with 5 of this round's"}

// pctMargin says how far got is below (met) or above (missed) limit, for
// goals of the form got ≤ limit.
func pctMargin(got, limit float64) string {
	if limit == 0 {
		return ""
	}
	d := (got - limit) / limit * 100
	if got <= limit {
		return fmt.Sprintf("met with %.0f%% to spare", -d)
	}
	return fmt.Sprintf("missed by %.0f%%", d)
}

// atLeastMargin is pctMargin for goals of the form got ≥ goal.
func atLeastMargin(got, goal float64) string {
	if got >= goal {
		return fmt.Sprintf("met with %.0f%% to spare", (got-goal)/goal*100)
	}
	if got <= 0 {
		return "missed"
	}
	return fmt.Sprintf("missed: %.1f× short", goal/got)
}

func us(d time.Duration) string {
	return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
}

func ns(d time.Duration) string { return fmt.Sprintf("%d ns", d.Nanoseconds()) }

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func kib(k int64) string { return fmt.Sprintf("%.1f MiB", float64(k)/1024) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// count prints 12345.6 as "12,346".
func count(f float64) string {
	s := fmt.Sprintf("%.0f", f)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// tally prints [1 1 2 1] as "1 ×3, 2 ×1".
func tally(xs []int) string {
	counts := map[int]int{}
	for _, x := range xs {
		counts[x]++
	}
	keys := slices.Sorted(maps.Keys(counts))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d ×%d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}

func floats(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf("%.2f×", x)
	}
	return strings.Join(s, ", ")
}

func ints(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

func yes(b bool) string {
	if b {
		return "**yes**"
	}
	return "**no**"
}

// Markdown renders the report as BENCHMARKS.md.
func (r *Report) Markdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	m := r.Machine
	w("# Benchmarks: gdsvault side by side with its peers\n\n")
	w("Generated by `make bench` (bench/cmd/bench, a nested module so that the peer stays out of the root go.mod) on %s, "+
		"in one run of %s against one real dev Vault started for it", r.Date.Format("2006-01-02 15:04 MST"), r.Duration.Round(time.Second))
	if o := r.Observers; o != nil {
		w("; section 9 comes from the nested module bench/observe, run by `make bench` just before on a dev Vault of its own (%s)", o.Duration.Round(time.Second))
	}
	w(".\n\n")
	w("| Machine | |\n|---|---|\n")
	w("| CPU | %s |\n| Cores | %d (GOMAXPROCS %d) |\n| OS | %s, Linux %s |\n| Go | %s |\n| Vault (server, CLI and agent) | %s |\n"+
		"| Peer library | github.com/hashicorp/vault/api %s |\n\n", m.CPU, m.Cores, m.GOMAXPROCS, m.OSArch, m.Kernel, m.GoVersion, m.VaultVersion, m.PeerVersion)
	w("Vault, the benchmark program and the CLIs share the same %d cores, so every figure includes Vault's own work; "+
		"the ratios are what matters, not the absolute numbers.\n\n", m.Cores)

	if len(r.Failures) > 0 {
		w("## Measurements that failed\n\n")
		for _, f := range r.Failures {
			w("- %s\n", f)
		}
		w("\n")
	}

	w("## Targets\n\n| Target | Goal | Measured | Met? | By how much |\n|---|---|---|---|---|\n")
	targets := r.Targets()
	for _, t := range targets {
		w("| %s | %s | %s | %s | %s |\n", t.Name, t.Goal, t.Measured, yes(t.Met), t.Margin)
	}
	w("\n")

	if u := r.Uncached; u != nil {
		c := r.Config.Uncached
		w("## 1. Uncached KV v2 read of secret/myapp/config\n\n")
		w("gdsvault: `client.GetSecret(ctx, \"secret/data/myapp/config\")` on a client built with `gdsvault.New(WithAddress, WithToken, WithLogger(discard))` "+
			"(the mount is resolved once, then cached; retries on). vault/api: `client.KVv2(\"secret\").Get(ctx, \"myapp/config\")` "+
			"on `api.DefaultConfig()` with the same address and token, its transport's MaxIdleConnsPerHost raised to 64 like gdsvault's own. "+
			"Both warmed up with %d reads each (sequential, then on %d goroutines), then %d rounds of alternated blocks "+
			"(the order swapped every round): %d reads per block sequentially, %d per block on %d goroutines. "+
			"Latency: every read timed; reads/s: reads / time inside the blocks; allocations: `runtime.MemStats` Mallocs "+
			"(and TotalAlloc) delta over the blocks / reads, whole process (the HTTP transport's goroutines included); client CPU: "+
			"the benchmark process's user + system time (getrusage) over the blocks / reads, which leaves out Vault's process (over loopback "+
			"the kernel charges part of the TCP work of both ends to the sender, so it is an upper bound of the client's own work).\n\n",
			c.Warmup, c.Goroutines, c.Rounds, c.SeqReads, c.ParReads, c.Goroutines)
		w("| | gdsvault | vault/api | gdsvault / vault/api |\n|---|---|---|---|\n")
		for _, mm := range []struct {
			name string
			p    Pair
		}{{"sequential", u.Seq}, {fmt.Sprintf("%d goroutines", u.Goroutines), u.Par}} {
			g, p := mm.p.Gds, mm.p.Peer
			w("| **%s** reads | %s | %s | |\n", mm.name, count(float64(g.Reads)), count(float64(p.Reads)))
			w("| p50 | %s | %s | %.2f |\n", us(g.P50), us(p.P50), ratio(float64(g.P50), float64(p.P50)))
			w("| p99 | %s | %s | %.2f |\n", us(g.P99), us(p.P99), ratio(float64(g.P99), float64(p.P99)))
			w("| reads/s | %s | %s | %.2f |\n", count(g.PerSec), count(p.PerSec), ratio(g.PerSec, p.PerSec))
			w("| allocations / read | %.1f | %.1f | %.2f |\n", g.AllocsPerRead, p.AllocsPerRead, ratio(g.AllocsPerRead, p.AllocsPerRead))
			w("| bytes allocated / read | %s | %s | %.2f |\n", count(g.BytesPerRead), count(p.BytesPerRead), ratio(g.BytesPerRead, p.BytesPerRead))
			w("| client CPU / read | %s | %s | %.2f |\n", us(g.CPUPerRead), us(p.CPUPerRead), ratio(float64(g.CPUPerRead), float64(p.CPUPerRead)))
		}
		w("\n")
		if d := u.PeerDefaultPool; d != nil {
			w("vault/api out of the box (go-cleanhttp's pool of %d idle connections per host, so most of %d goroutines' "+
				"connections are closed after each read and redialled): p50 %s, p99 %s, %s reads/s, %.1f allocations / read "+
				"(%s reads). The table above gives it gdsvault's pool size instead, to compare the libraries rather than their defaults.\n\n",
				u.PeerPoolDefault, u.Goroutines, us(d.P50), us(d.P99), count(d.PerSec), d.AllocsPerRead, count(float64(d.Reads)))
		}
	}

	if c := r.Cached; c != nil {
		w("## 2. Cached reads\n\n")
		w("A client built `WithCache()` (defaults), the secret fetched once first. Two reads: `client.Field(ctx, \"secret/data/myapp/config\", "+
			"\"db_host\")`, which hands out the cached value without copying the secret, and `client.GetSecret(ctx, \"secret/data/myapp/config\")`, "+
			"which copies it. Both resolve the path through the client's memo (normalised path, mount, cache key, a handle on the cache entry), "+
			"check the entry's expiry against the monotonic clock, take no lock and count the hit in a striped counter. "+
			"%d rounds; in each, both reads on 1 goroutine and on %d, back to back, the order alternated. Each sample times %d consecutive "+
			"hits and divides (the clock's resolution is far coarser than a hit); p50 is the median sample; hits/s is hits / time "+
			"inside the blocks; allocations are `runtime.MemStats` deltas over the blocks / hits (the whole process).\n\n", c.Rounds, c.Goroutines, c.Batch)
		w("| | Field, 1 goroutine | Field, %d goroutines | GetSecret, 1 goroutine | GetSecret, %d goroutines |\n|---|---|---|---|---|\n", c.Goroutines, c.Goroutines)
		row := func(name string, f func(Hits) string) {
			w("| %s | %s | %s | %s | %s |\n", name, f(c.Field.Seq), f(c.Field.Par), f(c.Get.Seq), f(c.Get.Par))
		}
		row("p50 per hit", func(h Hits) string { return ns(h.P50) })
		row("hits/s", func(h Hits) string { return count(h.PerSec) })
		row("allocations / hit", func(h Hits) string { return fmt.Sprintf("%.3f", h.AllocsPerHit) })
		row("bytes allocated / hit", func(h Hits) string { return fmt.Sprintf("%.0f", h.BytesPerHit) })
		row("hits measured", func(h Hits) string { return count(float64(h.Hits)) })
		w("\n%d goroutines vs 1, hits/s, per round: Field %s (median %.2f×); GetSecret %s (median %.2f×). Fetches during the hits: %d.\n\n",
			c.Goroutines, floats(c.Field.Scalings), c.Field.Scaling, floats(c.Get.Scalings), c.Get.Scaling, c.FetchesDuring)
		if u := r.Uncached; u != nil {
			w("Against the uncached read on %d goroutines (%s reads/s): Field %.0f×, GetSecret %.0f× the throughput.\n\n",
				u.Goroutines, count(u.Par.Gds.PerSec), ratio(c.Field.Par.PerSec, u.Par.Gds.PerSec), ratio(c.Get.Par.PerSec, u.Par.Gds.PerSec))
		}
		w("Before this round (%s, same machine, same harness), a cached GetSecret did %s hits/s on 1 goroutine and %s on %d.\n\n",
			getBefore.source, count(getBefore.seqPerSec), count(getBefore.parPerSec), getBefore.goroutines)
	}

	if s := r.Stampede; s != nil {
		w("## 3. Cold-cache stampede\n\n")
		w("%d goroutines wait on one channel, then all call `GetSecret(ctx, \"secret/data/myapp/config\")` on a fresh client built "+
			"`WithCache()`; a counting `http.RoundTripper` (`WithTransport`) counts what reaches Vault. Each trial uses a new client and transport.\n\n", s.Goroutines)
		w("| Trial | GETs of the data path | mount lookups (sys/internal/ui/mounts) | all requests | time |\n|---|---|---|---|---|\n")
		for i := range s.DataGETs {
			w("| fresh client %d | %d | %d | %d | %s |\n", i+1, s.DataGETs[i], s.MountLookups[i], s.Total[i], ms(s.Elapsed[i]))
		}
		for i := range s.WarmMountDataGETs {
			w("| mount already resolved %d | %d | 0 | %d | |\n", i+1, s.WarmMountDataGETs[i], s.WarmMountTotal[i])
		}
		w("\n")
		if len(s.MountLookups) > 0 && slices.Max(s.MountLookups) > 1 {
			w("The data read is shared; the mount lookup before it is not. `Client.mountFor` (kv.go) asks "+
				"sys/internal/ui/mounts/<path> for each caller that finds the mount cache empty, so the same stampede sent %s "+
				"mount lookups (one per goroutine that got there before the first answer) and took up to %s instead of a few "+
				"milliseconds. Sharing the lookup per namespace and path (singleflight, as the cache does) brings it to 1 "+
				"lookup and ~4-11 ms.\n\n",
				ints(s.MountLookups), ms(slices.Max(s.Elapsed)))
		}
		if worst := slices.Max(append(slices.Clone(s.DataGETs), s.WarmMountDataGETs...)); worst == 1 && knownStampedeRace {
			w("Exactly one data GET is what these trials saw, not yet a guarantee: see the stampede finding below.\n\n")
		}
	}

	if mm := r.Memory; mm != nil {
		w("## 4. Memory: %s cached secrets\n\n", count(float64(mm.Secrets)))
		w("%s secrets of %d bytes of JSON data each (secret/bench/s00001 …) written first (%s on %d goroutines), then each read once "+
			"through a fresh client built `WithCache()` (default limit: 10,000 entries). Heap: `runtime.ReadMemStats` after two `runtime.GC()`, "+
			"minus the same before the client was built.\n\n", count(float64(mm.Secrets)), mm.ValueBytes, mm.WriteTime.Round(time.Millisecond), r.Config.MemGoroutines)
		w("| | |\n|---|---|\n")
		w("| HeapInuse, client + cached secrets | %s |\n", mib(mm.HeapInuse))
		w("| HeapAlloc (live objects), same | %s |\n", mib(mm.HeapAlloc))
		w("| HeapInuse, client alone after one read | %.0f KiB |\n", float64(mm.ClientOnlyInuse)/1024)
		if mm.Secrets > 0 {
			w("| per cached secret | %.0f bytes in use |\n", float64(mm.HeapInuse-mm.ClientOnlyInuse)/float64(mm.Secrets))
		}
		w("| reading them all (first time) | %s |\n", mm.ReadTime.Round(time.Millisecond))
		w("| re-reading them all: requests to Vault / cache hits / evictions | %d / %s / %d |\n\n", mm.RefetchRequests, count(float64(mm.Cached)), mm.Evictions)
	}

	if r.CLI != nil || r.AppRole != nil {
		w("## 5-6. How the command lines are measured\n\n")
		w("Each process runs under a tiny helper (bench/cmd/rusage) that starts it, waits for it, and reports its wall time "+
			"(start to exit) and its peak memory (ru_maxrss from `wait4`). The helper is needed because a child started by Go's "+
			"os/exec shares its parent's address space until exec, and Linux carries that address space's peak RSS into the child's "+
			"ru_maxrss: measured straight from the benchmark process, gdsvault showed the benchmark's own RSS (65 MiB) instead of its "+
			"~9 MiB. ru_maxrss is a maximum, not a sum, so the helper's own floor (%s, its figure for /bin/true) hides nothing above it. "+
			"Both CLIs run with HOME set to an empty temporary directory and only the variables shown.\n\n", kib(r.RSSFloorKiB))
	}
	for _, c := range []struct {
		title, how string
		r          *CLIResult
		cfg        CLIConfig
	}{
		{"## 5. The command line, token auth", "VAULT_ADDR and VAULT_TOKEN set. gdsvault sends the token as it is (no lookup-self) and the mount " +
			"lookup and the read at once, on two connections (bench TestCLIRequests checks that these are its only requests); the vault CLI " +
			"sends the mount lookup, then the read. bin/gdsvault is built static and stripped (see the Makefile).", r.CLI, r.Config.CLI},
		{"## 6. The command line, AppRole login + read", "A fresh secret ID per run (generated outside the timing). gdsvault logs in, sends the " +
			"mount lookup and the read at once, and revokes its token at exit, in one process; the vault CLI needs two processes: their times " +
			"are summed and the larger peak memory is taken.", r.AppRole, r.Config.AppRole},
	} {
		if c.r == nil {
			continue
		}
		w("%s\n\n", c.title)
		w("- gdsvault: `%s`\n- vault: `%s`\n\n", c.r.GdsCmd, c.r.VaultCmd)
		w("%s Each command run %d times, alternated (after %d unrecorded runs each); medians.\n\n", c.how, c.r.Gds.Runs, c.cfg.Warmup)
		w("| | gdsvault | vault CLI | gdsvault / vault |\n|---|---|---|---|\n")
		w("| wall time, median | %s | %s | %.2f |\n", ms(c.r.Gds.Wall), ms(c.r.Vault.Wall), ratio(float64(c.r.Gds.Wall), float64(c.r.Vault.Wall)))
		w("| wall time, fastest | %s | %s | %.2f |\n", ms(c.r.Gds.WallMin), ms(c.r.Vault.WallMin), ratio(float64(c.r.Gds.WallMin), float64(c.r.Vault.WallMin)))
		w("| peak memory (max RSS), median | %s | %s | %.3f |\n\n", kib(c.r.Gds.MaxRSS), kib(c.r.Vault.MaxRSS), ratio(float64(c.r.Gds.MaxRSS), float64(c.r.Vault.MaxRSS)))
	}

	if r.HA != nil {
		w("## 7. High availability: the leader killed under load\n\n%s", r.HA.Markdown())
	}

	if a := r.Agent; a != nil {
		w("## 8. Supervising a program: gdsvault exec and agent against Vault Agent\n\n%s", a.Markdown(r.Machine.VaultVersion))
	}

	switch {
	case r.Observers != nil:
		w("## 9. Observers: what the Prometheus collector and the OpenTelemetry tracer add to a read\n\n%s", r.Observers.Markdown())
	case len(r.Config.Only) == 0:
		w("## 9. Observers: what the Prometheus collector and the OpenTelemetry tracer add to a read\n\n" +
			"Not measured in this run: `make bench` measures it first with the nested module bench/observe (`go run ./cmd/overhead -json`) " +
			"and hands the figures to cmd/bench with `-observe FILE`.\n\n")
	}

	w("## Findings\n\n")
	seen := map[string]bool{}
	for _, t := range targets {
		if t.Met || seen[t.Key] {
			continue
		}
		seen[t.Key] = true
		for _, k := range findingsBefore[t.Key] {
			if !seen[k] {
				seen[k] = true
				w("%s\n\n", findings[k])
			}
		}
		if f, ok := findings[t.Key]; ok {
			w("**%s (missed).** %s\n\n", t.Name, f)
		} else {
			w("**%s (missed).** Not investigated yet.\n\n", t.Name)
		}
	}
	if len(seen) == 0 {
		w("Every target was met in this run.\n\n")
	}
	if !seen["stampede"] && knownStampedeRace {
		w("**Cold-cache stampede (met in this run, by chance).** %s\n\n", findings["stampede"])
	}
	w("## Reproduce\n\n```sh\n" +
		"make bench   # builds bin/vault and bin/gdsvault if needed, runs bench/observe (section 9) then bench (the rest), writes BENCHMARKS.md\n" +
		"cd bench && go test -run Smoke .   # every measurement of sections 1-8 with tiny counts (a minute or two)\n" +
		"cd bench && go test -run TestHAScenario -v .   # the HA scenario alone (section 7), about 80 s\n" +
		"cd bench && go run ./cmd/bench -only agent -out /tmp/agent.md   # section 8 alone (bin/gdsvault), about 3 minutes\n" +
		"cd bench/observe && go run ./cmd/overhead   # section 9 alone, printed as Markdown, about a minute\n" +
		"cd bench/observe && go test -run TestMeasureSmoke .   # section 9 with tiny counts\n" +
		"cd bench && go test -run '^$' -bench . -benchmem -cpuprofile cpu.out .   # the micro-benchmarks used for the profiles\n" +
		"cd bench/observe && go test -run '^$' -bench . -benchmem -count 5   # the observers' micro-benchmarks (compare with benchstat)\n```\n")
	return b.String()
}

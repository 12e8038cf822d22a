package bench

// What dominates when a target is missed, per target key. These texts come
// from the profiles of the micro-benchmarks in profile_test.go (taken on
// the 2-core machine of the first run, with `go test -cpuprofile
// -mutexprofile -memprofile`) and from trying the changes they name on a
// copy of the root package. Update them when the root package changes
// what they describe.
var findings = map[string]string{
	"cached-hit": "**Where a cached hit's time goes.** One goroutine does a hit in ~500 ns. In the CPU profile of BenchmarkCachedHit " +
		"and BenchmarkCachedHitParallel: the deep copy every caller gets (`KVSecret.Clone`) ~40 % (4 of the hit's 7 allocations, 528 of " +
		"its 720 bytes); the path resolution before the cache ~20 % (`NormalizePath` ~7 %, `mountCache.lookup` ~8-10 %: four map " +
		"lookups for secret/data/myapp/config, because it tries the longest prefix first); `time.Now` ~7 %; allocation and GC most of " +
		"the rest; the LRU's own work is small. The other allocations are the cache key, the fetch closure (made even for a hit) and " +
		"`kvOpts`'s options struct (its address goes to the option functions, so it escapes even when there are none). Cheap changes, " +
		"measured one by one (BenchmarkCachedHit, best of 3 runs, ~540 ns before) and since applied in the root package: an early return in " +
		"`kvOpts` when there are no options (−35 ns, 7 → 6 allocations), an ASCII fast path in `NormalizePath` for paths that are " +
		"already normal (−60 ns), `maps.Clone` in `cloneMap` when every value is a scalar (−45 ns), the shortest prefix first in " +
		"`mountCache.lookup` (−15 ns); together ~420 ns (−22 %). In this harness, 4 alternated runs each, they took the 16-goroutine " +
		"p50 from 1070-1155 ns to 857-923 ns and the hits/s from ~2.2-2.3 to ~2.6-2.7 million.",
	"cached-p50": "On 2 cores, the goroutines share one `sync.Mutex` per cache: `secretcache.Cache.Get` takes it even for a hit, because " +
		"the LRU moves the entry to the front on every read. A goroutine that finds it held parks until the scheduler wakes it, and " +
		"its batch of hits waits with it: the mutex profile of BenchmarkCachedHitParallel puts all of its delay in that lock, and 16 " +
		"goroutines give only ~1.2-1.3× the hits/s of one. The cheap changes above bring the p50 under 1 µs by 8-14 %; serving " +
		"fresh hits under a read lock (promoting entries in the LRU lazily, e.g. at most once a second) would remove the parking.",
	"cached-throughput": "The goal asks for ≥ 1000× the uncached reads/s on as many goroutines. Here Vault shares the benchmark's 2 " +
		"cores, so the uncached figure is Vault's own capacity (~10,000-11,000 reads/s on 16 goroutines); 1000× that is ~11 million " +
		"hits/s, at most ~180 ns of CPU per hit across both cores. A hit costs ~430-500 ns of CPU, and the deep copy alone ~200 ns " +
		"(BenchmarkKVSecretClone; BenchmarkCloneMapLoop vs BenchmarkCloneMapMapsClone: `maps.Clone` saves only ~10 % of the map's " +
		"copy, its two allocations stay). The cheap changes give ~20 %; 1000× on this machine would take dropping the per-hit deep copy " +
		"(handing out shared read-only values), memoising path → cache key, and a read-locked hit path: a change of the cache's " +
		"contract, not a tweak. Against the sequential uncached read (~4,000 reads/s) the cached hits/s are ~500×.",
	"uncached-p50": "Both libraries send one GET to the same Vault; a read's latency is the client's work plus Vault's, on the same " +
		"2 cores, and the clients' own share is in the table (client CPU / read). Profile the two with BenchmarkUncachedGdsvault and " +
		"BenchmarkUncachedVaultAPI (-cpuprofile). A ratio within a few per cent of 1.00 is inside the run-to-run noise of a shared " +
		"2-core machine: run `make bench` again on a quiet machine before reading anything into it.",
	"uncached-allocs": "Allocation counts are deterministic: compare BenchmarkUncachedGdsvault and BenchmarkUncachedVaultAPI with " +
		"-benchmem and a -memprofile to see which allocations were added.",
	"stampede": "`secretcache.Cache.Get` checks the cache under its lock, releases it, then joins the fetch with `singleflight.DoChan`. " +
		"A goroutine that is descheduled between the two can find the first fetch already finished and forgotten by the singleflight " +
		"group, and starts a second one. Re-checking for a fresh entry inside the DoChan function, before fetching, closes the window " +
		"(now done in secretcache): the root package's TestCacheStampede (1000 goroutines, mount resolved first, expects exactly 1 request) " +
		"failed 8 times in 300 runs on this machine before, with 2 requests each time, and 0 in 300 after.",
	"memory": "Profile the cached client's heap with `go test -memprofile` on a reading loop; the per-secret cost is the table's " +
		"\"per cached secret\" line.",
}

// findingsBefore are findings printed (once) before a target's own.
var findingsBefore = map[string][]string{
	"cached-p50":        {"cached-hit"},
	"cached-throughput": {"cached-hit"},
}

// knownStampedeRace says that secretcache still has the window described
// in findings["stampede"]; set it to false when Cache.Get re-checks the
// cache inside its singleflight function.
const knownStampedeRace = false

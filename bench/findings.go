package bench

// What dominates when a target is missed, per target key. These texts come
// from profiles taken on the benchmark machine (2 shared cores of an Intel
// Xeon VM) with the micro-benchmarks in profile_test.go and the root
// package's (go test -cpuprofile -memprofile), from perf record and perf
// stat on the CLI, and from trying the changes they name. Update them when
// the root package changes what they describe.
var findings = map[string]string{
	"field": "**Where a cached field read's time goes.** BenchmarkCachedField (bench/profile_test.go) reads a field in ~40 ns of CPU on " +
		"the benchmark machine, with 0 allocations. Its CPU profile: the expiry check's read of the monotonic clock ~50 % (`runtime.nanotime`: " +
		"this VM's vDSO clock_gettime costs ~21 ns; `time.Now`, which reads the wall clock too, ~38 ns, which is why an entry carries its " +
		"expiry on the monotonic clock as well); the two map lookups ~35 % (the route by path string, skipped when the caller passes the " +
		"same string again, then a pointer comparison; the field in the secret's data, ~7 ns); the Ref, entry and LRU checks and the " +
		"striped hit counter the rest. Nothing on that path writes memory other readers read, takes a lock or copies the secret.",
	"field-ns": "The harness's samples are wall time on a shared machine: a p50 above 50 ns while BenchmarkCachedField stays near 40 ns " +
		"means the run lost its core to other work; rerun on a quiet machine. Below ~40 ns, the clock read is what is left: skipping it " +
		"(a timer marking each entry expired) would halve the read, at the price of an expiry that holds only as well as timers fire on time.",
	"field-allocs": "BenchmarkCachedField -benchmem reports 0 allocs/op: the read hands out the value the cached secret already holds in " +
		"an `any` (a nested object or array is copied), the view is a value, and the route and the Ref are found, not built. The harness " +
		"counts the whole process's allocations, so a figure above 0.01 comes from something else in the benchmark process. (The harness " +
		"itself allocated once per read, until `&err` in its loop stopped moving `err` to the heap.)",
	"field-scaling": "A cached field read writes nothing other readers read: the hit counter has a stripe per goroutine (64 stripes, " +
		"picked by a hash of the goroutine's stack address; stripes picked at random made every processor write every stripe, each cache " +
		"line moved between the two processors on most increments, and 16 goroutines were no faster than one), the LRU moves an entry " +
		"to the front only when it is not among the most recent quarter, and the route, the Ref and the entry are read-only. " +
		"BenchmarkCachedFieldParallel (16 goroutines) runs at ~21 ns/op against ~41 ns/op on one goroutine: 2.0×. Below 1.6× in a " +
		"run, the second core was busy with something else: see the per-round ratios in section 2.",
	"field-throughput": "The uncached figure is Vault's own capacity on the same 2 cores (~5,000-10,000 reads/s on 16 goroutines), the " +
		"cached one ~45 million field reads/s when both cores are free: ~5,000-9,000×. Below 2,000× only when the field blocks lost " +
		"their cores to other work (section 2 has the per-round figures).",
	"get-before": "A cached GetSecret still hands out a deep copy: KVSecret.Clone is 4 allocations, 528 bytes and most of a hit's time " +
		"(BenchmarkKVSecretClone); what came before the copy (path normalisation, mount lookup, cache key, the LRU's lock) is gone. The " +
		"figure before comes from other runs (see section 2): compare it only on the same machine, and rerun on a busy one.",
	"uncached-p50": "A read's latency is Vault's work plus the client's, on the same 2 cores. On 16 goroutines both libraries keep " +
		"Vault saturated, so p50 ≈ 16 / throughput, and throughput is what both processes' CPU allows: the client's CPU per read (table) " +
		"is the lever, and Vault's own ~200 µs per read dilutes it (at equal Vault cost, a p50 ratio of 0.95 needs gdsvault's client CPU " +
		"about 20 % under vault/api's). gdsvault's profile (BenchmarkUncachedGdsvault -cpuprofile): the kernel's TCP work ~50 % (write " +
		"and read), futex wake-ups between net/http's goroutines ~12 %, net/http's Client layer ~12 % (a timeout context and timer and a " +
		"copy of the headers for redirects per request), decoding a few per cent since KV answers are decoded by hand (decode.go), " +
		"allocation and GC most of the rest. What would go further: sending through the Transport without http.Client (its timeout and " +
		"redirect copy), at the price of redoing its redirect handling. A ratio within a few per cent of 0.95 is inside the run-to-run " +
		"noise of a shared 2-core machine.",
	"uncached-allocs": "Allocation counts are deterministic: BenchmarkUncachedGdsvault -benchmem gives 70 per read. What is left: " +
		"net/http ~50 (response headers ~7, the request ~6, http.Client's timeout context and timer ~10, its header copy for redirects " +
		"4, the transport's bookkeeping), gdsvault's own ~10 (the answer and the secret, one allocation; the secret's data: its map, one " +
		"string for all its text, one box per value). Compare with BenchmarkUncachedVaultAPI and a -memprofile to see which were added.",
	"stampede": "`secretcache.Cache.Get` checks the cache, then joins the fetch with `singleflight.DoChan`. A goroutine that is " +
		"descheduled between the two can find the first fetch already finished and forgotten by the singleflight group, and starts a " +
		"second one. Re-checking for a fresh entry inside the DoChan function, before fetching, closes the window (done in secretcache): " +
		"the root package's TestCacheStampede (1000 goroutines, mount resolved first, expects exactly 1 request) failed 8 times in 300 " +
		"runs on the first benchmark machine before, with 2 requests each time, and 0 in 300 after.",
	"memory": "Profile the cached client's heap with `go test -memprofile` on a reading loop; the per-secret cost is the table's " +
		"\"per cached secret\" line (the entry, the route memo, the lock-free index entry and the answer the secret was decoded from).",
	"cli-wall": "Built without the AWS SDK and client_golang (see the end of this paragraph), a run of `gdsvault get -field` takes " +
		"~3.7-4.0 ms here outside the harness (perf stat -r 50) and 4-5 ms in it, alternated with the vault CLI, whose ~55 ms of CPU on " +
		"both cores leaves caches cold. Where it goes (perf record on 100 runs, " +
		"software clock; GODEBUG=inittrace=1): the Go runtime's own start ~1.2 ms (a static hello world takes 1.2 ms; its CPUID " +
		"instructions trap to the hypervisor), package initialisation ~0.4-0.6 ms (go.yaml.in/yaml/v3 ~0.08 ms; regular expressions " +
		"compiled at init in auth/approle, auth/cert, auth/azure, internal/cloudauth and config ~0.1 ms; vendor/golang.org/x/sys/cpu " +
		"0.04 ms), cobra and the configuration ~0.2 ms, then one round trip's wait (the mount lookup and the read sent at once on two " +
		"connections, ~0.7 ms with Vault's work) and the exit. A minimal static Go program that makes the same GET with net/http takes " +
		"~2.6-2.9 ms here, and 0.05 of a 50-55 ms vault CLI is that floor. Done this round: no lookup-self (one round trip less), the mount " +
		"lookup and the read at once (one round trip's wait less), a static binary (about 1 ms less: no dynamic loader). Since ccd6062, " +
		"bin/gdsvault also links the AWS SDK (VAULT_AUTH_METHOD=aws) and client_golang (the agent's /metrics): their package " +
		"initialisation runs on every command, `get` included, and adds ~1.3-1.8 ms (GODEBUG=inittrace=1: client_golang/prometheus " +
		"~0.24 ms, procfs ~0.12 ms, runtime/metrics ~0.08 ms, the AWS SDK's endpoint and schema tables ~0.6 ms, protobuf ~0.1 ms; all " +
		"init ~1.8 ms against ~0.5 ms without them). The same binary without those two options: ~4.0 ms against ~5.6 ms with them " +
		"(medians of 21 runs each, here, outside the harness). Left besides: the regular expressions compiled at init in auth/approle, " +
		"auth/cert, auth/azure, internal/cloudauth and config (lazily would save ~0.1 ms).",
	"cli-rss": "ru_maxrss counts the binary's pages once touched, and Linux maps a file's pages in 64 KiB windows around each fault: a " +
		"Go binary ends up resident almost whole. Without the AWS SDK and client_golang, bin/gdsvault's loadable segments are 10.4 MB " +
		"(5.0 MB of code, 5.4 MB of read-only data, much of it the tables the runtime needs for stacks and the GC) and its peak ~10.1 MiB, " +
		"that plus about 1 MiB of heap and stacks (static linking took it down from ~11.9 MiB: no libc); with them (since ccd6062) the " +
		"segments are 16.9 MB and the peak ~14.5 MiB. A minimal static Go program that makes one GET with net/http peaks " +
		"at 6.1 MiB (a 6.1 MB binary). 0.04 of the vault CLI's ~140 MiB here is 5.6 MiB: under the floor of any Go program that speaks " +
		"HTTP with net/http and crypto/tls; meeting it would take a separate, smaller program for `get` (without cobra, YAML and the other " +
		"commands), not a faster one.",
	"cli-approle-wall": "gdsvault, built without the AWS SDK and client_golang: the process's start (~2.5 ms), the login (~1 ms, mostly " +
		"Vault's work), the mount lookup and the read at once (~1 ms: one on the login's connection, the other on a second one), and the " +
		"revocation of its token at exit (~1-1.5 ms, a write in Vault's storage): ~8-8.5 ms against ~110-120 ms for vault's two " +
		"processes, 0.07-0.075; their package initialisation adds ~1.5 ms to that, as to the token run. Skipping the revocation would " +
		"meet the goal, but it is a guarantee (a CLI run leaves no live token behind).",
	"agent-rss": "**Where a supervisor's memory goes.** VmHWM, like ru_maxrss, counts the binary's pages once touched (see the CLI's " +
		"peak memory above), and exec and agent run the same bin/gdsvault as `get`: since ccd6062 it links the AWS SDK " +
		"(VAULT_AUTH_METHOD=aws) and client_golang (the agent's /metrics), whether a run uses them or not. The same binary built without " +
		"those two options (cmd/gdsvault's options() returning none, through `go build -overlay`) peaked at 10.7 MiB under exec and " +
		"10.8 MiB rendering templates, 13.3-13.4× less than Vault Agent, against 15.7-16.0 MiB (9.0-9.2×) for bin/gdsvault, in two " +
		"smoke runs of section 8 each (`-smoke -only agent`), alternated. A Go program maps and initialises every package it links, " +
		"used or not; meeting the goal with both options kept would take a supervisor that does not link them (a build without them, or exec " +
		"and agent in a binary of their own).",
	"agent-exec-rss":     "See where a supervisor's memory goes, above.",
	"agent-template-rss": "See where a supervisor's memory goes, above.",
	"agent-template-start": "Vault Agent renders a template in ~60-70 ms here, so the goal asks for ~12-14 ms; gdsvault agent takes " +
		"~13-15 ms. Its steps (strace -f -tt on a dev Vault of its own, which inflates each): the process's start and package " +
		"initialisation (GODEBUG=inittrace=1: ~1.8-2.2 ms of init with the AWS SDK and client_golang, ~0.6-0.9 ms without), the " +
		"configuration read and a probe file that checks the destination's directory is writable, the AppRole login (~1.3 ms), then " +
		"the mount lookup and the read one after the other (~1.4 and ~1.9 ms: `gdsvault get` sends them at once), then the file " +
		"written, fsynced and renamed (~5 ms from the read's answer to the rename, 2.7 ms of it the fsync, on ext4). A build without " +
		"the two options did not move the median measurably (14.0-14.8 ms in two smoke runs); sending the mount lookup with the read, " +
		"as `get` does, would save one round trip's wait; the fsync is the price of a file that survives a crash whole.",
	"observers-uncached": "A CPU profile of BenchmarkUncachedRead/observed (bench/observe: both observers, 80,000 reads, ~115 µs of " +
		"the process's CPU per read; the rest of a ~330-400 µs read is Vault's work and the wait): trace/otel's hooks take ~8.4 µs per " +
		"read, nearly all of it in the OpenTelemetry SDK (its span Start ~3.6 µs, SetAttributes ~2.6 µs, End and the batch processor's " +
		"enqueue ~2 µs), metrics/prom's ~1.8 µs; the 15 more allocations per read (85 against 70) add GC work. 3 % of a ~330 µs read is " +
		"~10 µs, and on 2 cores shared with Vault each µs of client CPU also delays Vault's own work: the collector fits (its row), a " +
		"tracer that records every span does not. Sampling is the lever the SDK offers (the 10 % sampled row); the part gdsvault " +
		"controls is the attributes it sets on each span (SetAttributes, about a quarter of the tracer's cost). The hooks-alone table " +
		"is a lower bound: it times the calling goroutine in a hot loop.",
}

// findingsBefore are findings printed (once) before a target's own.
var findingsBefore = map[string][]string{
	"field-ns":           {"field"},
	"field-scaling":      {"field"},
	"field-throughput":   {"field"},
	"agent-exec-rss":     {"agent-rss"},
	"agent-template-rss": {"agent-rss"},
}

// knownStampedeRace says that secretcache still has the window described
// in findings["stampede"]; set it to false when Cache.Get re-checks the
// cache inside its singleflight function.
const knownStampedeRace = false

// Command bench runs gdsvault's side-by-side benchmarks (see package bench)
// and writes BENCHMARKS.md. `make bench` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gdsvault/gdsvault/bench"
)

func main() {
	out := flag.String("out", "", "where to write the report (default: BENCHMARKS.md at the checkout's root)")
	gdsBin := flag.String("gdsvault", "", "the gdsvault CLI to measure (default: $GDSVAULT_BIN, else bin/gdsvault)")
	smoke := flag.Bool("smoke", false, "tiny counts (checks the harness, figures meaningless)")
	timeout := flag.Duration("timeout", 15*time.Minute, "stop measuring after this long")
	only := flag.String("only", "", "comma-separated measurements to run (uncached,cached,stampede,memory,cli,approle,ha,agent; default all)")
	observe := flag.String("observe", "", "the observers' figures (section 9), as written by `go run ./cmd/overhead -json` in bench/observe")
	flag.Parse()

	// The peer's DefaultConfig reads VAULT_* from the environment: keep a
	// developer's own settings out of the comparison (VAULT_BIN only
	// chooses the server binary).
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); (strings.HasPrefix(k, "VAULT_") || strings.HasPrefix(k, "BAO_")) && k != "VAULT_BIN" {
			os.Unsetenv(k)
		}
	}

	if err := run(*out, *gdsBin, *observe, *smoke, *timeout, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(out, gdsBin, observe string, smoke bool, timeout time.Duration, only string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	if gdsBin == "" && (only == "" || strings.Contains(only, "cli") || strings.Contains(only, "approle") || strings.Contains(only, "agent")) {
		var err error
		if gdsBin, err = bench.FindGdsvault(); err != nil {
			return err
		}
	}
	if out == "" {
		root, err := bench.RepoRoot()
		if err != nil {
			return err
		}
		out = root + "/BENCHMARKS.md"
	}
	cfg := bench.DefaultConfig()
	if smoke {
		cfg = bench.SmokeConfig()
	}
	if only != "" {
		cfg.Only = map[string]bool{}
		for _, k := range strings.Split(only, ",") {
			switch k = strings.TrimSpace(k); k {
			case "uncached", "cached", "stampede", "memory", "cli", "approle", "ha", "agent":
				cfg.Only[k] = true
			default:
				return fmt.Errorf("-only: unknown measurement %q", k)
			}
		}
	}
	cfg.Logf = func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	}
	// Read before the run, so that a bad file shows at once; a file that
	// cannot be read is a failed measurement, and the rest still runs.
	var obs *bench.ObserverResult
	var obsErr error
	if observe != "" {
		obs, obsErr = bench.ReadObserverResult(observe)
		if obsErr != nil {
			fmt.Fprintf(os.Stderr, "bench: observers (section 9): %v\n", obsErr)
		}
	}
	r, err := bench.Run(ctx, cfg, gdsBin)
	if err != nil {
		return err
	}
	r.Observers = obs
	if obsErr != nil {
		r.Failures = append(r.Failures, "observers (section 9, bench/observe): "+obsErr.Error())
	}
	fmt.Fprintf(os.Stderr, "bench: %s\n", r.Machine)
	if err := os.WriteFile(out, []byte(r.Markdown()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s in %s\n", out, r.Duration.Round(time.Second))
	for _, t := range r.Targets() {
		mark := "MET   "
		if !t.Met {
			mark = "MISSED"
		}
		fmt.Fprintf(os.Stderr, "bench: %s %s: %s (%s)\n", mark, t.Name, t.Measured, t.Margin)
	}
	if len(r.Failures) > 0 {
		return fmt.Errorf("%d measurement(s) failed: %s", len(r.Failures), strings.Join(r.Failures, "; "))
	}
	return nil
}

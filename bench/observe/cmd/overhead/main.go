// Command overhead measures what the Prometheus collector and the
// OpenTelemetry tracer add to a gdsvault read, on a dev Vault it starts
// (the bench lab), and prints the figures as Markdown, or as JSON with
// -json: `make bench` hands that to bench/cmd/bench (-observe), which
// renders it as section 9 of BENCHMARKS.md.
//
//	cd bench/observe && go run ./cmd/overhead            # about a minute on 2 cores
//	cd bench/observe && go run ./cmd/overhead -rounds 20 # steadier figures
//	cd bench/observe && go run ./cmd/overhead -json > observe.json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gdsvault/gdsvault/bench"
	"github.com/gdsvault/gdsvault/bench/observe"
)

func main() {
	cfg := observe.DefaultConfig()
	flag.IntVar(&cfg.Rounds, "rounds", cfg.Rounds, "rounds of alternated blocks")
	flag.IntVar(&cfg.Reads, "reads", cfg.Reads, "uncached reads per block")
	flag.IntVar(&cfg.Hits, "hits", cfg.Hits, "cached hits per block")
	flag.IntVar(&cfg.HookCalls, "hooks", cfg.HookCalls, "hook calls per block")
	asJSON := flag.Bool("json", false, "print the figures as JSON (bench.ObserverResult), for bench/cmd/bench -observe")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, *asJSON); err != nil {
		fmt.Fprintln(os.Stderr, "overhead:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg observe.Config, asJSON bool) error {
	lab, err := bench.StartLab(ctx)
	if err != nil {
		return err
	}
	defer lab.Close()
	fmt.Fprintf(os.Stderr, "overhead: the observers' cost on %s at %s (about a minute on 2 cores) ...\n", lab.VaultVersion, lab.Addr)
	res, err := observe.Measure(ctx, lab, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "overhead: done in %s\n", res.Duration.Round(time.Second))
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Printf("Observer overhead on %s\n\n%s", lab.VaultVersion, res.Markdown())
	return nil
}

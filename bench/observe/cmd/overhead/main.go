// Command overhead measures what the Prometheus collector and the
// OpenTelemetry tracer, attached together, add to a gdsvault read, on a dev
// Vault it starts (the bench lab), and prints a Markdown table.
//
//	cd bench/observe && go run ./cmd/overhead            # about a minute on 2 cores
//	cd bench/observe && go run ./cmd/overhead -rounds 20 # steadier figures
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/gdsvault/gdsvault/bench"
	"github.com/gdsvault/gdsvault/bench/observe"
)

func main() {
	cfg := observe.DefaultConfig()
	flag.IntVar(&cfg.Rounds, "rounds", cfg.Rounds, "rounds of alternated blocks")
	flag.IntVar(&cfg.Reads, "reads", cfg.Reads, "uncached reads per block")
	flag.IntVar(&cfg.Hits, "hits", cfg.Hits, "cached hits per block")
	flag.IntVar(&cfg.HookCalls, "hooks", cfg.HookCalls, "hook calls per block")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "overhead:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg observe.Config) error {
	lab, err := bench.StartLab(ctx)
	if err != nil {
		return err
	}
	defer lab.Close()
	res, err := observe.Measure(ctx, lab, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("Observer overhead on %s\n\n%s", lab.VaultVersion, res.Markdown())
	return nil
}

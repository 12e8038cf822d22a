// Command resilient is the third exercise of the course's "Caching and
// retry" lesson: one client with a short-lived cache, stale fallback,
// retries and a circuit breaker reads a secret twice a second while Vault
// goes down (make demo seals it) and comes back. Every read is answered:
// fresh, from the cache, or stale while Vault is away.
//
//	VAULT_ADDR=... VAULT_TOKEN=... go run ./examples/resilient
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth"
	"github.com/gdsvault/gdsvault/retry"
	"github.com/gdsvault/gdsvault/secretcache"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "resilient:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	client, err := auth.FromEnv(os.LookupEnv,
		gdsvault.WithLogger(quiet),
		gdsvault.WithCache(secretcache.WithTTL(time.Second), secretcache.WithMaxStale(time.Hour), secretcache.WithLogger(quiet)),
		gdsvault.WithRetry(retry.Policy{MaxAttempts: 2, BaseDelay: 50 * time.Millisecond, MaxDelay: 100 * time.Millisecond}),
		gdsvault.WithCircuitBreaker(retry.BreakerConfig{Failures: 2, Cooldown: 2 * time.Second, Successes: 1,
			OnChange: func(from, to retry.State) { fmt.Printf("        circuit %s -> %s\n", from, to) }}),
	)
	if err != nil {
		return err
	}
	defer client.Close(ctx)

	rounds := 16
	failed := 0
	for i := range rounds {
		before, _ := client.CacheStats()
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		s, err := client.GetSecret(rctx, "secret/data/myapp/config")
		cancel()
		after, _ := client.CacheStats()
		switch {
		case err != nil:
			failed++
			fmt.Printf("read %2d: ERROR %v\n", i+1, kind(err))
		case s.Stale:
			fmt.Printf("read %2d: stale  db_host=%v (Vault unavailable, last good value served)\n", i+1, s.Data["db_host"])
		case after.Hits > before.Hits:
			fmt.Printf("read %2d: cached db_host=%v\n", i+1, s.Data["db_host"])
		default:
			fmt.Printf("read %2d: fresh  db_host=%v\n", i+1, s.Data["db_host"])
		}
		time.Sleep(500 * time.Millisecond)
	}
	kv, _ := client.CacheStats()
	fmt.Printf("%d reads, %d failed; cache: %d hits, %d stale answers, %d requests to Vault\n", rounds, failed, kv.Hits, kv.Stale, kv.Fetches)
	if failed > 0 {
		return errors.New("some reads failed")
	}
	return nil
}

func kind(err error) string {
	for _, k := range []error{gdsvault.ErrCircuitOpen, gdsvault.ErrSealed, gdsvault.ErrConnection, gdsvault.ErrPermissionDenied} {
		if errors.Is(err, k) {
			return k.Error()
		}
	}
	return err.Error()
}

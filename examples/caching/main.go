// Command caching is the first exercise of the course's "Caching and retry"
// lesson: the same secret read twice, the second time from the client's
// cache (nanoseconds instead of a round trip), with the cache's counters.
//
//	VAULT_ADDR=... VAULT_TOKEN=... go run ./examples/caching
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth"
	"github.com/gdsvault/gdsvault/secretcache"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "caching:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := auth.FromEnv(os.LookupEnv, gdsvault.WithCache(secretcache.WithTTL(5*time.Minute)))
	if err != nil {
		return err
	}
	defer client.Close(ctx)

	for i, from := range []string{"Vault", "the cache"} {
		start := time.Now()
		secret, err := client.GetSecret(ctx, "secret/data/myapp/config")
		if err != nil {
			return err
		}
		fmt.Printf("read %d (from %s): db_host=%v in %v\n", i+1, from, secret.Data["db_host"], time.Since(start).Round(time.Microsecond/10))
	}
	// Mutating what a read returned never changes the cache.
	s, _ := client.GetSecret(ctx, "secret/data/myapp/config")
	s.Data["db_host"] = "changed locally"
	s, _ = client.GetSecret(ctx, "secret/data/myapp/config")
	fmt.Printf("after a local change, the cache still says: %v\n", s.Data["db_host"])

	kv, _ := client.CacheStats()
	fmt.Printf("cache: %d hits, %d misses, %d requests to Vault\n", kv.Hits, kv.Misses, kv.Fetches)
	return nil
}

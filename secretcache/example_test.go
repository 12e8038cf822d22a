package secretcache_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/gdsvault/gdsvault/secretcache"
)

// The cache on its own, with a fake fetch standing in for a Vault read.
func Example() {
	ctx := context.Background()
	cache, err := secretcache.New(maps.Clone[map[string]string],
		func(map[string]string) secretcache.Hints { return secretcache.Hints{LeaseTTL: time.Hour} },
		secretcache.WithTTL(time.Minute))
	if err != nil {
		fmt.Println(err)
		return
	}

	fetches := 0
	fetch := func(ctx context.Context) (map[string]string, error) {
		fetches++
		return map[string]string{"db_host": "postgres.example.com"}, nil
	}

	v, res, err := cache.Get(ctx, "secret/myapp/config", fetch)
	fmt.Println(v["db_host"], res.Hit, err)

	v["db_host"] = "changed" // a copy: the cache is not affected
	v, res, _ = cache.Get(ctx, "secret/myapp/config", fetch)
	fmt.Println(v["db_host"], res.Hit)

	cache.Invalidate("secret/myapp/config") // e.g. after writing the secret
	_, res, _ = cache.Get(ctx, "secret/myapp/config", fetch)
	fmt.Println(res.Hit, fetches)
	fmt.Printf("%+v\n", cache.Stats())
	// Output:
	// postgres.example.com false <nil>
	// postgres.example.com true
	// false 2
	// {Hits:1 Misses:2 Stale:0 Evictions:0 Fetches:2 FetchErrors:0 Shared:0 Entries:1}
}

// A read that must go to Vault (Bypass) while Vault is unavailable is
// answered with the cached value, marked stale, when the error is one
// WithStaleOn accepts.
func Example_stale() {
	ctx := context.Background()
	errUnavailable := errors.New("503 service unavailable")
	cache, err := secretcache.New(func(s string) string { return s }, nil,
		secretcache.WithStaleOn(func(err error) bool { return errors.Is(err, errUnavailable) }))
	if err != nil {
		fmt.Println(err)
		return
	}

	up := func(context.Context) (string, error) { return "s3cr3t", nil }
	down := func(context.Context) (string, error) { return "", errUnavailable }

	_, _, _ = cache.Get(ctx, "database/creds/app", up)
	v, res, err := cache.Get(ctx, "database/creds/app", down, secretcache.Bypass())
	fmt.Println(v == "s3cr3t", res.Stale, res.RefreshErr, err)
	// Output:
	// true true 503 service unavailable <nil>
}

// Bad option values are not panics: New reports each of them, joined, as a
// *gdsvault.ConfigError (matching gdsvault.ErrConfig).
func ExampleNew_badOptions() {
	_, err := secretcache.New(func(s string) string { return s }, nil,
		secretcache.WithTTL(-time.Second), secretcache.WithMaxEntries(0))
	fmt.Println(err)
	// Output:
	// gdsvault: cache ttl: must not be negative, got -1s (give secretcache.WithTTL zero or a positive duration)
	// gdsvault: cache max entries: must be at least 1, got 0 (leave secretcache.WithMaxEntries out for the default of 10000)
}

// A key read again and again: a Ref finds its entry without a lookup, and
// Peek answers a fresh value without a copy (read-only: it is the cache's)
// or says to fetch.
func ExampleRef() {
	ctx := context.Background()
	cache, err := secretcache.New(maps.Clone[map[string]string], nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fetch := func(context.Context) (map[string]string, error) {
		return map[string]string{"db_host": "postgres.example.com"}, nil
	}

	ref := cache.Ref("secret/myapp/config")
	read := func() string {
		if v, ok := ref.Peek(); ok {
			return v["db_host"] + " (hit)"
		}
		v, _, err := cache.GetShared(ctx, ref.Key(), fetch)
		if err != nil {
			return err.Error()
		}
		return v["db_host"] + " (fetched)"
	}
	fmt.Println(read())
	fmt.Println(read())
	// Output:
	// postgres.example.com (fetched)
	// postgres.example.com (hit)
}

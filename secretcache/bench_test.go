package secretcache

import (
	"context"
	"strconv"
	"testing"
)

func benchCache(b *testing.B) (*Cache[secret], func(context.Context) (secret, error)) {
	c := mustNew(b, deepClone, hintsOf, WithTTL(24*60*60*1e9))
	v := secret{"db_host": "postgres.example.com", "db_user": "app", "db_pass": "s3cr3t", "port": 5432.0}
	fetch := func(context.Context) (secret, error) { return deepClone(v), nil }
	for i := range 1000 {
		if _, _, err := c.Get(b.Context(), "secret/app/"+strconv.Itoa(i), fetch); err != nil {
			b.Fatal(err)
		}
	}
	return c, fetch
}

// BenchmarkGetHit is a cache hit, including the clone of a 4-key map.
func BenchmarkGetHit(b *testing.B) {
	c, fetch := benchCache(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, r, _ := c.Get(ctx, "secret/app/7", fetch); !r.Hit {
			b.Fatal("miss")
		}
	}
}

// BenchmarkGetHitNoClone isolates the cache's own cost: V is a string.
func BenchmarkGetHitNoClone(b *testing.B) {
	c := mustNew(b, func(s string) string { return s }, nil)
	fetch := func(context.Context) (string, error) { return "s3cr3t", nil }
	ctx := b.Context()
	_, _, _ = c.Get(ctx, "k", fetch)
	b.ReportAllocs()
	for b.Loop() {
		if _, r, _ := c.Get(ctx, "k", fetch); !r.Hit {
			b.Fatal("miss")
		}
	}
}

// BenchmarkGetHitParallel is hits from all Ps, on 1000 keys.
func BenchmarkGetHitParallel(b *testing.B) {
	c, fetch := benchCache(b)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "secret/app/" + strconv.Itoa(i)
	}
	ctx := b.Context()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, r, _ := c.Get(ctx, keys[i%len(keys)], fetch); !r.Hit {
				b.Error("miss")
				return
			}
			i++
		}
	})
}

// BenchmarkGetHitWithTTL is a hit with a per-read option.
func BenchmarkGetHitWithTTL(b *testing.B) {
	c, fetch := benchCache(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, r, _ := c.Get(ctx, "secret/app/7", fetch, ReadTTL(60*60*1e9)); !r.Hit {
			b.Fatal("miss")
		}
	}
}

// BenchmarkGetHitParallelNoClone is the cache's own cost from all Ps.
func BenchmarkGetHitParallelNoClone(b *testing.B) {
	c := mustNew(b, func(s string) string { return s }, nil)
	fetch := func(context.Context) (string, error) { return "s3cr3t", nil }
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "secret/app/" + strconv.Itoa(i)
		_, _, _ = c.Get(b.Context(), keys[i], fetch)
	}
	ctx := b.Context()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, r, _ := c.Get(ctx, keys[i%len(keys)], fetch); !r.Hit {
				b.Error("miss")
				return
			}
			i++
		}
	})
}

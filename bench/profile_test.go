package bench

import (
	"context"
	"maps"
	"testing"

	"github.com/gdsvault/gdsvault"
)

// The micro-benchmarks behind the findings in BENCHMARKS.md: run them with
// -cpuprofile / -memprofile and read the profiles with `go tool pprof`.
//
//	go test -run '^$' -bench CachedHit -benchmem -cpuprofile cpu.out .

func BenchmarkUncachedGdsvault(b *testing.B) {
	lab := benchLab(b)
	c, err := lab.NewGdsvault()
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	benchRead(b, GdsvaultRead(c))
}

func BenchmarkUncachedVaultAPI(b *testing.B) {
	lab := benchLab(b)
	c, err := lab.NewPeer(64)
	if err != nil {
		b.Fatal(err)
	}
	benchRead(b, PeerRead(c))
}

func BenchmarkCachedHit(b *testing.B) {
	lab := benchLab(b)
	c, err := lab.NewGdsvault(gdsvault.WithCache())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	benchRead(b, GdsvaultRead(c))
}

// BenchmarkCachedHitParallel is hits from 16 goroutines on 2 Ps (8 per P).
func BenchmarkCachedHitParallel(b *testing.B) {
	lab := benchLab(b)
	c, err := lab.NewGdsvault(gdsvault.WithCache())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	read := GdsvaultRead(c)
	ctx := b.Context()
	if err := read(ctx); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(8)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := read(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkKVSecretClone is the deep copy a cached hit hands out, alone.
func BenchmarkKVSecretClone(b *testing.B) {
	lab := benchLab(b)
	c, err := lab.NewGdsvault()
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	s, err := c.GetSecret(b.Context(), LabPath)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Clone()
	}
}

func benchRead(b *testing.B, read ReadFunc) {
	ctx := b.Context()
	for range 20 { // warm: connections, mount lookup, cache
		if err := read(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := read(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// The deep copy of a secret's data, two ways: as gdsvault's cloneMap does
// it today (a new map, each value through a type switch) and with
// maps.Clone, which is a deep copy too when every value is a JSON scalar.
var (
	labData = map[string]any{"db_host": LabHost, "db_user": "myapp", "db_pass": "secret123"}
	sink    map[string]any
)

func BenchmarkCloneMapLoop(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		out := make(map[string]any, len(labData))
		for k, v := range labData {
			switch x := v.(type) {
			case map[string]any, []any, []string, map[string]string:
				b.Fatal("not flat")
			default:
				out[k] = x
			}
		}
		sink = out
	}
}

func BenchmarkCloneMapMapsClone(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		for _, v := range labData {
			switch v.(type) {
			case map[string]any, []any, []string, map[string]string:
				b.Fatal("not flat")
			}
		}
		sink = maps.Clone(labData)
	}
}

// BenchmarkCachedField is a cached field read (Client.Field): no copy.
func BenchmarkCachedField(b *testing.B) {
	lab := benchLab(b)
	c, err := lab.NewGdsvault(gdsvault.WithCache())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	benchRead(b, GdsvaultField(c))
}

// BenchmarkCachedFieldParallel is cached field reads from 16 goroutines
// on 2 Ps (8 per P).
func BenchmarkCachedFieldParallel(b *testing.B) {
	lab := benchLab(b)
	c, err := lab.NewGdsvault(gdsvault.WithCache())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	read := GdsvaultField(c)
	ctx := b.Context()
	if err := read(ctx); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(8)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := read(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

package secretcache

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// same reports whether a and b are the same map (not equal copies).
func same(a, b secret) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// TestRefPeek: a Ref answers fresh values only, shares them (no copy), and
// follows the cache through refreshes, invalidations and evictions.
func TestRefPeek(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustNew(t, deepClone, hintsOf, WithTTL(time.Minute), WithMaxEntries(2))
		src := &source{}
		r := c.Ref("a")
		if r.Key() != "a" {
			t.Fatal(r.Key())
		}
		if _, ok := r.Peek(); ok {
			t.Fatal("a hit before any fetch")
		}
		get(t, c, "a", src)
		v1, ok := r.Peek()
		if !ok || v1["n"] != 1 {
			t.Fatalf("Peek after a fetch: %v, %v", v1, ok)
		}
		if v, _ := r.Peek(); !same(v, v1) {
			t.Error("Peek copied the value")
		}
		if v, _, _ := c.GetShared(t.Context(), "a", src.fetch); !same(v, v1) {
			t.Error("GetShared copied the value")
		}
		if v, _ := get(t, c, "a", src); same(v, v1) {
			t.Error("Get did not copy the value")
		}
		if st := c.Stats(); st.Hits != 4 || st.Misses != 1 {
			t.Errorf("stats %+v, want 4 hits (2 Peek, GetShared, Get) and 1 miss", st)
		}

		time.Sleep(time.Minute - time.Nanosecond)
		if _, ok := r.Peek(); !ok {
			t.Fatal("expired early")
		}
		time.Sleep(time.Nanosecond)
		if _, ok := r.Peek(); ok {
			t.Fatal("expired value peeked")
		}
		get(t, c, "a", src) // refresh
		if v, ok := r.Peek(); !ok || v["n"] != 2 {
			t.Fatalf("after the refresh: %v, %v", v, ok)
		}

		c.Invalidate("a")
		if _, ok := r.Peek(); ok {
			t.Fatal("invalidated value peeked")
		}
		get(t, c, "a", src)
		get(t, c, "b", &source{})
		get(t, c, "c", &source{}) // evicts a (max 2 entries)
		if _, ok := r.Peek(); ok {
			t.Fatal("evicted value peeked")
		}
		get(t, c, "a", src)
		c.Clear()
		if _, ok := r.Peek(); ok {
			t.Fatal("cleared value peeked")
		}
	})
}

// TestRefPeekNeverStale: an expired value is never a Peek hit, even while
// the cache would answer it stale; the read that follows is.
func TestRefPeekNeverStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustNew(t, deepClone, hintsOf, WithTTL(time.Minute), WithStaleOn(isTransient))
		src := &source{}
		r := c.Ref("k")
		get(t, c, "k", src)
		src.set(func(s *source) { s.err = errTransient })
		time.Sleep(2 * time.Minute)
		if _, ok := r.Peek(); ok {
			t.Fatal("Peek answered an expired value")
		}
		v, res, err := c.GetShared(t.Context(), "k", src.fetch)
		if err != nil || !res.Stale || v["n"] != 1 {
			t.Fatalf("GetShared: %v %+v %v, want the stale value", v, res, err)
		}
		if _, ok := r.Peek(); ok {
			t.Fatal("Peek answered a stale value")
		}
	})
}

// TestRefConcurrent peeks from many goroutines while others refresh,
// invalidate and evict (run with -race).
func TestRefConcurrent(t *testing.T) {
	c := mustNew(t, deepClone, hintsOf, WithMaxEntries(4))
	srcs := make([]*source, 8)
	refs := make([]*Ref[secret], 8)
	for i := range srcs {
		srcs[i], refs[i] = &source{}, c.Ref(fmt.Sprint("k", i))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				k := (g + i) % len(refs)
				if v, ok := refs[k].Peek(); ok && v["password"] == nil {
					t.Error("a torn value")
					return
				}
				if _, _, err := c.GetShared(context.Background(), refs[k].Key(), srcs[k].fetch); err != nil {
					t.Error(err)
					return
				}
				if i%50 == 0 {
					c.Invalidate(refs[k].Key())
				}
			}
		})
	}
	wg.Wait()
	st := c.Stats()
	if st.Hits+st.Misses < 8*2000 {
		t.Errorf("stats %+v: fewer reads counted than made", st)
	}
}

// TestLRUPromotion: in a cache of n entries, a hit moves its entry to the
// front unless it is among the n/4 most recently used already (then
// nothing is written); either way, the entries evicted are the least
// recently used.
func TestLRUPromotion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustNew(t, deepClone, hintsOf, WithMaxEntries(8))
		srcs := map[string]*source{}
		read := func(k string) Result {
			if srcs[k] == nil {
				srcs[k] = &source{}
			}
			_, r := get(t, c, k, srcs[k])
			return r
		}
		keys := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
		for _, k := range keys {
			read(k)
		}
		before := c.tick.Load()
		read("h") // the most recent: not promoted
		read("g") // the 2nd most recent: among the 8/4 most recent, not promoted
		if c.tick.Load() != before {
			t.Errorf("hits on the most recent entries promoted them (tick %d -> %d)", before, c.tick.Load())
		}
		read("a") // the least recent: promoted
		read("b")
		if c.tick.Load() != before+2 {
			t.Errorf("tick %d, want %d", c.tick.Load(), before+2)
		}
		read("i") // evicts c, the least recently used now
		read("j") // then d
		for k, want := range map[string]bool{"a": true, "b": true, "c": false, "d": false, "e": true, "h": true} {
			if got := c.lookup(k) != nil; got != want {
				t.Errorf("%s cached: %v, want %v", k, got, want)
			}
		}
	})
}

func TestStripedCounter(t *testing.T) {
	var c stripedCounter
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 1000 {
				c.add()
			}
		})
	}
	wg.Wait()
	if n := c.load(); n != 16000 {
		t.Errorf("%d, want 16000", n)
	}
}

// TestGetSharedErrors: GetShared fails, shares fetches and falls back like
// Get.
func TestGetSharedErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustNew(t, deepClone, hintsOf)
		src := &source{err: errDenied}
		if _, _, err := c.GetShared(t.Context(), "k", src.fetch); !errors.Is(err, errDenied) {
			t.Fatalf("err %v", err)
		}
		src.set(func(s *source) { s.err = nil; s.block = make(chan struct{}) })
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				if _, _, err := c.GetShared(t.Context(), "k", src.fetch); err != nil {
					t.Error(err)
				}
			})
		}
		synctest.Wait()
		close(src.block)
		wg.Wait()
		if src.count() != 2 {
			t.Errorf("%d fetches, want 2 (the error, then one shared by 5 reads)", src.count())
		}
	})
}

// BenchmarkRefPeek is a hit through a Ref: no lookup, no lock, no copy.
func BenchmarkRefPeek(b *testing.B) {
	c, fetch := benchCache(b)
	r := c.Ref("secret/app/7")
	if _, _, err := c.Get(b.Context(), r.Key(), fetch); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := r.Peek(); !ok {
			b.Fatal("miss")
		}
	}
}

// BenchmarkRefPeekParallel is the same from 16 goroutines on one key.
func BenchmarkRefPeekParallel(b *testing.B) {
	c, fetch := benchCache(b)
	r := c.Ref("secret/app/7")
	if _, _, err := c.Get(b.Context(), r.Key(), fetch); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(8)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := r.Peek(); !ok {
				b.Error("miss")
				return
			}
		}
	})
}

// BenchmarkGetShared is a hit without the copy, looked up by key.
func BenchmarkGetShared(b *testing.B) {
	c, fetch := benchCache(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, r, _ := c.GetShared(ctx, "secret/app/7", fetch); !r.Hit {
			b.Fatal("miss")
		}
	}
}

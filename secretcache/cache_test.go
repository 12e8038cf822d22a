package secretcache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestExpiry drives the cache through fake time: a value is a hit until one
// second before its computed life ends and is fetched again at the end.
func TestExpiry(t *testing.T) {
	tests := []struct {
		name  string
		start string // RFC 3339 fake time of the first fetch ("": bubble start)
		opts  []Option
		read  []ReadOption
		hints Hints
		life  time.Duration // <= 0: never fresh
	}{
		{name: "default ttl", life: DefaultTTL},
		{name: "WithTTL", opts: []Option{WithTTL(time.Minute)}, life: time.Minute},
		{name: "read TTL shorter", read: []ReadOption{ReadTTL(30 * time.Second)}, life: 30 * time.Second},
		{name: "read TTL longer", read: []ReadOption{ReadTTL(time.Hour)}, life: time.Hour},
		{name: "read TTL zero", read: []ReadOption{ReadTTL(0)}, life: 0},
		{name: "WithTTL zero", opts: []Option{WithTTL(0)}, life: 0},
		{name: "read TTL capped by lease", read: []ReadOption{ReadTTL(time.Hour)},
			hints: Hints{LeaseTTL: 10 * time.Minute}, life: 9 * time.Minute},

		{name: "lease 60s: floor half", opts: []Option{WithTTL(time.Hour)},
			hints: Hints{LeaseTTL: time.Minute}, life: 30 * time.Second},
		{name: "lease 1h, margin 5m", opts: []Option{WithTTL(2 * time.Hour), WithLeaseMargin(5 * time.Minute)},
			hints: Hints{LeaseTTL: time.Hour}, life: 55 * time.Minute},
		{name: "lease 60s, margin 10s", opts: []Option{WithTTL(time.Hour), WithLeaseMargin(10 * time.Second)},
			hints: Hints{LeaseTTL: time.Minute}, life: 50 * time.Second},
		{name: "lease longer than ttl", hints: Hints{LeaseTTL: 24 * time.Hour}, life: DefaultTTL},

		{name: "static role", opts: []Option{WithTTL(time.Hour)},
			hints: Hints{NextRotationIn: 30 * time.Minute}, life: 20 * time.Minute},
		{name: "static role, buffer 1m", opts: []Option{WithTTL(time.Hour), WithRotationBuffer(time.Minute)},
			hints: Hints{NextRotationIn: 30 * time.Minute}, life: 29 * time.Minute},
		{name: "static role inside buffer", hints: Hints{NextRotationIn: 5 * time.Minute}, life: 0},

		{name: "cron utc", start: "2026-03-05T01:00:00Z", opts: []Option{WithTTL(24 * time.Hour)},
			hints: Hints{RotationSchedule: "0 2 * * *"}, life: 50 * time.Minute},
		{name: "cron utc, buffer 1m", start: "2026-03-05T01:00:00Z", opts: []Option{WithTTL(24 * time.Hour), WithRotationBuffer(time.Minute)},
			hints: Hints{RotationSchedule: "0 2 * * *"}, life: 59 * time.Minute},
		{name: "cron new york", start: "2026-03-05T01:00:00Z", opts: []Option{WithTTL(24 * time.Hour)},
			hints: Hints{RotationSchedule: "0 2 * * *", TimeZone: "America/New_York"}, life: 5*time.Hour + 50*time.Minute},
		{name: "cron CRON_TZ=America/New_York", start: "2026-03-05T01:00:00Z", opts: []Option{WithTTL(24 * time.Hour)},
			hints: Hints{RotationSchedule: "CRON_TZ=America/New_York 0 2 * * *"}, life: 5*time.Hour + 50*time.Minute},
		{name: "cron berlin", start: "2026-03-05T00:30:00Z", opts: []Option{WithTTL(24 * time.Hour)},
			hints: Hints{RotationSchedule: "0 2 * * *", TimeZone: "Europe/Berlin"}, life: 20 * time.Minute},
		{name: "cron new york across fall back", start: "2026-10-31T12:00:00Z", opts: []Option{WithTTL(48 * time.Hour)},
			hints: Hints{RotationSchedule: "0 3 * * *", TimeZone: "America/New_York"}, life: 19*time.Hour + 50*time.Minute},
		{name: "cron berlin across spring forward", start: "2026-03-28T12:00:00Z", opts: []Option{WithTTL(48 * time.Hour)},
			hints: Hints{RotationSchedule: "30 2 * * *", TimeZone: "Europe/Berlin"}, life: 12*time.Hour + 50*time.Minute},
		{name: "cron inside buffer", start: "2026-03-05T01:55:00Z",
			hints: Hints{RotationSchedule: "0 2 * * *"}, life: 0},
		{name: "bad cron: ttl applies", hints: Hints{RotationSchedule: "0 2 * *"}, life: DefaultTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sleepUntil(t, tt.start)
				c := mustNew(t, deepClone, hintsOf, append([]Option{WithLogger(slog.New(&recorder{}))}, tt.opts...)...)
				src := &source{hints: tt.hints}
				if _, r := get(t, c, "k", src, tt.read...); r.Hit || src.count() != 1 {
					t.Fatalf("first read: %+v, %d fetches", r, src.count())
				}
				if tt.life <= 0 {
					v, r := get(t, c, "k", src, tt.read...)
					if r.Hit || src.count() != 2 || v["n"] != 2 {
						t.Fatalf("a value with no life was served from the cache: %+v", r)
					}
					return
				}
				time.Sleep(tt.life - time.Second)
				if v, r := get(t, c, "k", src, tt.read...); !r.Hit || v["n"] != 1 || r.Age != tt.life-time.Second {
					t.Fatalf("1s before expiry: %+v n=%v, %d fetches", r, v["n"], src.count())
				}
				time.Sleep(time.Second)
				if v, r := get(t, c, "k", src, tt.read...); r.Hit || v["n"] != 2 {
					t.Fatalf("at expiry: %+v n=%v", r, v["n"])
				}
			})
		})
	}
}

// TestReadTTLAcrossReads pins down ReadTTL(d): it sets the life of the value the
// read fetches, and on a hit it refuses values older than d, but it cannot
// stretch a value another read stored.
func TestReadTTLAcrossReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustNew(t, deepClone, hintsOf) // TTL 5m
		src := &source{}
		get(t, c, "k", src, ReadTTL(10*time.Minute)) // fetch 1, stored for 10m
		time.Sleep(7 * time.Minute)
		if _, r := get(t, c, "k", src); !r.Hit {
			t.Fatalf("default read of a value stored for 10m, at 7m: %+v", r)
		}
		if v, r := get(t, c, "k", src, ReadTTL(time.Minute)); r.Hit || v["n"] != 2 {
			t.Fatalf("TTL(1m) read of a 7m-old value: %+v", r) // fetch 2, stored for 1m
		}
		time.Sleep(2 * time.Minute)
		if _, r := get(t, c, "k", src, ReadTTL(time.Hour)); r.Hit || src.count() != 3 {
			t.Fatalf("TTL(1h) read cannot stretch a value stored for 1m: %+v", r)
		}
	})
}

func TestBadScheduleLoggedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		c := mustNew(t, deepClone, hintsOf, WithLogger(slog.New(rec)))
		bad := &source{hints: Hints{RotationSchedule: "61 2 * * *"}}
		zone := &source{hints: Hints{RotationSchedule: "0 2 * * *", TimeZone: "Nowhere/Special"}}
		for range 3 {
			get(t, c, "a", bad, Bypass())
			get(t, c, "b", bad, Bypass())
			get(t, c, "c", zone, Bypass())
		}
		if _, r := get(t, c, "a", bad); !r.Hit {
			t.Fatal("a bad schedule must not keep the value from being cached")
		}
		recs := rec.all()
		if len(recs) != 2 {
			t.Fatalf("got %d log records, want 2 (one per bad schedule): %v", len(recs), recs)
		}
		for _, r := range recs {
			if r.Level != slog.LevelWarn {
				t.Errorf("level %v, want Warn", r.Level)
			}
		}
	})
}

func TestLRUEviction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustNew(t, deepClone, hintsOf, WithMaxEntries(3))
		srcs := map[string]*source{}
		read := func(key string) Result {
			if srcs[key] == nil {
				srcs[key] = &source{}
			}
			_, r := get(t, c, key, srcs[key])
			return r
		}
		for _, k := range []string{"a", "b", "c"} {
			read(k)
		}
		read("a") // recency, most recent first: a c b
		read("d") // evicts b: d a c
		if c.Len() != 3 || c.Stats().Evictions != 1 {
			t.Fatalf("Len %d, Evictions %d; want 3, 1", c.Len(), c.Stats().Evictions)
		}
		for _, k := range []string{"c", "a", "d"} { // now d a c
			if !read(k).Hit {
				t.Fatalf("%s was evicted", k)
			}
		}
		if read("b").Hit { // evicts c, the least recently used: b d a
			t.Fatal("b was not evicted")
		}
		if read("c").Hit { // evicts a: c b d
			t.Fatal("c was not evicted")
		}
		for _, k := range []string{"b", "d"} {
			if !read(k).Hit {
				t.Fatalf("%s was evicted", k)
			}
		}
		st := c.Stats()
		if st.Evictions != 3 || c.Len() != 3 {
			t.Fatalf("Evictions %d, Len %d; want 3, 3", st.Evictions, c.Len())
		}
	})
}

func TestBypass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustNew(t, deepClone, hintsOf, WithStaleOn(isTransient))
		src := &source{}
		get(t, c, "k", src)
		if v, r := get(t, c, "k", src, Bypass()); r.Hit || v["n"] != 2 {
			t.Fatalf("Bypass: %+v n=%v", r, v["n"])
		}
		if v, r := get(t, c, "k", src); !r.Hit || v["n"] != 2 {
			t.Fatalf("after Bypass, the fresh value is cached: %+v n=%v", r, v["n"])
		}
		// A transient failure still falls back on the cached value.
		src.set(func(s *source) { s.err = errTransient })
		v, r := get(t, c, "k", src, Bypass())
		if !r.Stale || v["n"] != 2 || !errors.Is(r.RefreshErr, errTransient) {
			t.Fatalf("Bypass with a transient error: %+v n=%v", r, v["n"])
		}
		// A definite one is returned, and drops the value.
		src.set(func(s *source) { s.err = errDenied })
		if _, _, err := c.Get(t.Context(), "k", src.fetch, Bypass()); !errors.Is(err, errDenied) {
			t.Fatalf("Bypass with a denied error: %v", err)
		}
		if c.Len() != 0 {
			t.Fatal("a permission error did not drop the cached value")
		}
	})
}

func TestInvalidate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustNew(t, deepClone, hintsOf)
		src := &source{}
		for _, k := range []string{"secret/app/a", "secret/app/b", "secret/apple", "secret/other"} {
			get(t, c, k, src)
		}
		if n := c.InvalidatePrefix("secret/app/"); n != 2 {
			t.Fatalf("InvalidatePrefix = %d, want 2", n)
		}
		if c.Len() != 2 {
			t.Fatalf("Len = %d, want 2", c.Len())
		}
		if _, r := get(t, c, "secret/app/a", src); r.Hit {
			t.Fatal("invalidated key was a hit")
		}
		if _, r := get(t, c, "secret/apple", src); !r.Hit {
			t.Fatal("key outside the prefix was dropped")
		}
		c.Invalidate("secret/other")
		c.Invalidate("never/cached")
		if _, r := get(t, c, "secret/other", src); r.Hit {
			t.Fatal("Invalidate: still a hit")
		}
		if n := c.InvalidatePrefix("nothing/"); n != 0 {
			t.Fatalf("InvalidatePrefix(nothing) = %d", n)
		}
		c.Clear()
		if c.Len() != 0 {
			t.Fatalf("Len after Clear = %d", c.Len())
		}
		if _, r := get(t, c, "secret/apple", src); r.Hit {
			t.Fatal("Clear: still a hit")
		}
	})
}

// TestInvalidateDuringFetch: a fetch that started before an invalidation
// neither stores its value (even when it ends after a newer fetch) nor is
// joined by reads that start after the invalidation.
func TestInvalidateDuringFetch(t *testing.T) {
	for _, inval := range []struct {
		name string
		f    func(c *Cache[secret])
	}{
		{"Invalidate", func(c *Cache[secret]) { c.Invalidate("k"); c.Invalidate("k2") }},
		{"InvalidatePrefix", func(c *Cache[secret]) { c.InvalidatePrefix("") }},
		{"Clear", func(c *Cache[secret]) { c.Clear() }},
	} {
		t.Run(inval.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := mustNew(t, deepClone, hintsOf)
				release := make(chan struct{})
				old := &source{block: release}
				var before secret
				var wg sync.WaitGroup
				wg.Go(func() { before, _ = get(t, c, "k", old) })
				synctest.Wait() // the old fetch is under way
				inval.f(c)
				src := &source{}
				if v, r := get(t, c, "k", src); r.Shared || v["n"] != 1 || src.count() != 1 {
					t.Fatalf("a read after %s joined the older fetch: %+v", inval.name, r)
				}
				close(release) // the old fetch ends after the newer one
				wg.Wait()
				if before["n"] != 1 || before["password"] != "s3cr3t-1" {
					t.Fatalf("the old fetch's caller got %v", before)
				}
				if _, r := get(t, c, "k", src); !r.Hit || src.count() != 1 {
					t.Fatalf("the old fetch replaced the newer value: %+v", r)
				}

				// With no newer fetch, the old one stores nothing either.
				release = make(chan struct{})
				old = &source{block: release}
				c.Clear()
				wg.Go(func() { get(t, c, "k2", old) })
				synctest.Wait()
				inval.f(c)
				close(release)
				wg.Wait()
				if c.Len() != 0 {
					t.Fatalf("a fetch that started before %s stored its value", inval.name)
				}
			})
		})
	}
}

// TestCopies: callers always get their own deep copies.
func TestCopies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustNew(t, deepClone, hintsOf, WithStaleOn(isTransient))
		src := &source{delay: time.Second}
		var wg sync.WaitGroup
		got := make([]secret, 3)
		for i := range got {
			wg.Go(func() { got[i], _ = get(t, c, "k", src) })
		}
		wg.Wait()
		got[0]["password"] = "changed"
		got[0]["nested"].(map[string]any)["k"] = "changed"
		got[0]["list"].([]any)[0] = "changed"
		delete(got[0], "n")
		for _, v := range got[1:] {
			if v["password"] != "s3cr3t-1" {
				t.Fatal("callers sharing a fetch share a map")
			}
		}
		check := func(what string, v secret) {
			t.Helper()
			if v["n"] != 1 || v["password"] != "s3cr3t-1" || v["nested"].(map[string]any)["k"] != "v" || v["list"].([]any)[0] != "a" {
				t.Fatalf("%s: mutating a result changed the cache: %v", what, v)
			}
		}
		v, r := get(t, c, "k", src)
		if !r.Hit {
			t.Fatal("not a hit")
		}
		check("hit", v)
		v["password"] = "changed again"
		time.Sleep(DefaultTTL)
		src.set(func(s *source) { s.err = errTransient })
		v, r = get(t, c, "k", src)
		if !r.Stale {
			t.Fatal("not stale")
		}
		check("stale", v)
	})
}

// TestStale: when an expired value's refresh fails, the old value is served
// only for errors StaleOn accepts, within MaxStale of its expiry, and before
// its lease ends or it rotates.
func TestStale(t *testing.T) {
	const ttl = 5 * time.Minute
	tests := []struct {
		name      string
		opts      []Option
		hints     Hints
		after     time.Duration // since the fetch, when the refresh fails
		err       error
		wantStale bool
	}{
		{name: "transient, just expired", after: ttl, err: errTransient, wantStale: true},
		{name: "transient, within MaxStale", after: 30 * time.Minute, err: errTransient, wantStale: true},
		{name: "transient, last second of MaxStale", after: ttl + time.Hour - time.Second, err: errTransient, wantStale: true},
		{name: "transient, MaxStale over", after: ttl + time.Hour, err: errTransient},
		{name: "transient, MaxStale 10m over", opts: []Option{WithMaxStale(10 * time.Minute)}, after: ttl + 10*time.Minute, err: errTransient},
		{name: "transient, wrapped", after: 10 * time.Minute, err: fmt.Errorf("get secret: %w", errTransient), wantStale: true},
		{name: "permission denied", after: 10 * time.Minute, err: errDenied},
		{name: "MaxStale 0", opts: []Option{WithMaxStale(0)}, after: 10 * time.Minute, err: errTransient},
		{name: "no StaleOn", opts: []Option{WithStaleOn(nil)}, after: 10 * time.Minute, err: errTransient},
		{name: "lease not over", hints: Hints{LeaseTTL: 20 * time.Minute}, after: 20*time.Minute - time.Second, err: errTransient, wantStale: true},
		{name: "lease over", hints: Hints{LeaseTTL: 20 * time.Minute}, after: 20 * time.Minute, err: errTransient},
		{name: "static role before rotation", hints: Hints{NextRotationIn: 30 * time.Minute}, after: 29 * time.Minute, err: errTransient, wantStale: true},
		{name: "static role rotated", hints: Hints{NextRotationIn: 30 * time.Minute}, after: 30 * time.Minute, err: errTransient},
		{name: "cron before rotation", hints: Hints{RotationSchedule: "0 1 * * *"}, after: 59 * time.Minute, err: errTransient, wantStale: true},
		{name: "cron rotated", hints: Hints{RotationSchedule: "0 1 * * *"}, after: time.Hour, err: errTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				opts := append([]Option{WithTTL(ttl), WithStaleOn(isTransient), WithLogger(slog.New(rec))}, tt.opts...)
				c := mustNew(t, deepClone, hintsOf, opts...)
				src := &source{hints: tt.hints}
				get(t, c, "secret/k", src)
				time.Sleep(tt.after)
				src.set(func(s *source) { s.err = tt.err })
				v, r, err := c.Get(t.Context(), "secret/k", src.fetch)
				st := c.Stats()
				if !tt.wantStale {
					if !errors.Is(err, tt.err) || v != nil || r.Stale {
						t.Fatalf("got %v, %+v, %v; want error %v", v, r, err, tt.err)
					}
					if st.Stale != 0 || len(rec.all()) != 0 {
						t.Fatalf("stats %+v, %d log records", st, len(rec.all()))
					}
					return
				}
				if err != nil || !r.Stale || r.Hit || v["n"] != 1 || r.Age != tt.after || !errors.Is(r.RefreshErr, errTransient) {
					t.Fatalf("got n=%v, %+v, %v; want the stale value, age %v", v["n"], r, err, tt.after)
				}
				if st.Stale != 1 || st.FetchErrors != 1 || st.Fetches != 2 {
					t.Fatalf("stats %+v", st)
				}
				recs := rec.all()
				if len(recs) != 1 || recs[0].Level != slog.LevelWarn {
					t.Fatalf("want one Warn record, got %v", recs)
				}
				attrs := attrsOf(recs[0])
				if len(attrs) != 2 || attrs["key"].String() != "secret/k" || attrs["age"].Duration() != tt.after {
					t.Fatalf("log attrs %v; want key and age only", attrs)
				}
				if strings.Contains(fmt.Sprint(recs[0].Message, attrs), "s3cr3t") {
					t.Fatal("the log shows the secret")
				}
			})
		})
	}
}

// TestStaleGoneAfterDefiniteError: once Vault says the secret is gone or not
// ours, a later outage does not bring the old value back.
func TestStaleGoneAfterDefiniteError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustNew(t, deepClone, hintsOf, WithStaleOn(isTransient))
		src := &source{}
		get(t, c, "k", src)
		time.Sleep(DefaultTTL)
		src.set(func(s *source) { s.err = errDenied })
		if _, _, err := c.Get(t.Context(), "k", src.fetch); !errors.Is(err, errDenied) {
			t.Fatal(err)
		}
		src.set(func(s *source) { s.err = errTransient })
		if _, _, err := c.Get(t.Context(), "k", src.fetch); !errors.Is(err, errTransient) {
			t.Fatalf("got %v; want the transient error, not a stale value", err)
		}
	})
}

// TestZeroLifeKeptForFallback: a value that is never fresh (inside the
// rotation buffer) is fetched on every read but still backs a failing
// refresh; with stale answers off it is not kept at all.
func TestZeroLifeKeptForFallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := Hints{NextRotationIn: 5 * time.Minute}
		c := mustNew(t, deepClone, hintsOf, WithStaleOn(isTransient))
		src := &source{hints: h}
		get(t, c, "k", src)
		get(t, c, "k", src)
		if src.count() != 2 || c.Len() != 1 {
			t.Fatalf("%d fetches, Len %d", src.count(), c.Len())
		}
		time.Sleep(time.Minute)
		src.set(func(s *source) { s.err = errTransient })
		if v, r := get(t, c, "k", src); !r.Stale || v["n"] != 2 {
			t.Fatalf("%+v", r)
		}

		c2 := mustNew(t, deepClone, hintsOf, WithStaleOn(isTransient), WithMaxStale(0))
		get(t, c2, "k", &source{hints: h})
		if c2.Len() != 0 {
			t.Fatal("a value with no life and no fallback use was kept")
		}
	})
}

// TestRefreshBackoff: after a failed refresh fell back on a stale value,
// reads within the backoff get it without fetching; Bypass still fetches.
func TestRefreshBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustNew(t, deepClone, hintsOf, WithStaleOn(isTransient), WithRefreshBackoff(2*time.Second))
		src := &source{}
		get(t, c, "k", src)
		time.Sleep(DefaultTTL)
		src.set(func(s *source) { s.err = errTransient })
		for i := range 5 {
			if _, r := get(t, c, "k", src); !r.Stale || !errors.Is(r.RefreshErr, errTransient) {
				t.Fatalf("read %d: %+v", i, r)
			}
			time.Sleep(300 * time.Millisecond)
		}
		if src.count() != 2 {
			t.Fatalf("%d fetches within the backoff, want 1 after the first", src.count()-1)
		}
		get(t, c, "k", src, Bypass())
		if src.count() != 3 {
			t.Fatal("Bypass did not fetch")
		}
		time.Sleep(2 * time.Second)
		get(t, c, "k", src)
		if src.count() != 4 {
			t.Fatal("no fetch after the backoff")
		}
		src.set(func(s *source) { s.err = nil })
		time.Sleep(2 * time.Second)
		if v, r := get(t, c, "k", src); r.Stale || v["n"] != 5 {
			t.Fatalf("recovery: %+v n=%v", r, v["n"])
		}
		if st := c.Stats(); st.Stale != 7 || st.FetchErrors != 3 {
			t.Fatalf("stats %+v", st)
		}

		// Backoff 0: every read fetches.
		c0 := mustNew(t, deepClone, hintsOf, WithStaleOn(isTransient), WithRefreshBackoff(0))
		src0 := &source{}
		get(t, c0, "k", src0)
		time.Sleep(DefaultTTL)
		src0.set(func(s *source) { s.err = errTransient })
		for range 3 {
			get(t, c0, "k", src0)
		}
		if src0.count() != 4 {
			t.Fatalf("backoff 0: %d fetches, want 4", src0.count())
		}
	})
}

// TestFetchTimeout: a hung fetch ends after WithFetchTimeout; it may fall back
// on a stale value, and the key is not held by it afterwards.
func TestFetchTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustNew(t, deepClone, hintsOf, WithStaleOn(isTransient), WithFetchTimeout(10*time.Second))
		hang := func(ctx context.Context) (secret, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		start := time.Now()
		if _, _, err := c.Get(t.Context(), "k", hang); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 10*time.Second {
			t.Fatalf("got %v after %v", err, time.Since(start))
		}
		src := &source{}
		get(t, c, "k", src)
		time.Sleep(DefaultTTL)
		v, r, err := c.Get(t.Context(), "k", hang)
		if err != nil || !r.Stale || v["n"] != 1 || !errors.Is(r.RefreshErr, context.DeadlineExceeded) {
			t.Fatalf("got %v, %+v, %v; want a stale value after the timeout", v, r, err)
		}
	})
}

// TestSingleflight: 1000 concurrent misses make one fetch.
func TestSingleflight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustNew(t, deepClone, hintsOf)
		src := &source{delay: time.Second}
		const n = 1000
		var wg sync.WaitGroup
		results := make([]Result, n)
		values := make([]secret, n)
		for i := range n {
			wg.Go(func() { values[i], results[i] = get(t, c, "k", src) })
		}
		wg.Wait()
		if src.count() != 1 {
			t.Fatalf("%d fetches, want 1", src.count())
		}
		shared := 0
		for i, r := range results {
			if r.Hit || r.Stale || values[i]["n"] != 1 {
				t.Fatalf("result %d: %+v %v", i, r, values[i])
			}
			if r.Shared {
				shared++
			}
		}
		want := Stats{Misses: n, Fetches: 1, Shared: n - 1, Entries: 1}
		if st := c.Stats(); shared != n-1 || st != want {
			t.Fatalf("shared %d, stats %+v; want %+v", shared, st, want)
		}
		values[0]["n"] = 42
		if values[1]["n"] != 1 {
			t.Fatal("callers share a value")
		}
	})
}

// TestCallerCancel: a caller whose context ends gets its error at once; the
// fetch (which it led) goes on for the others and for the cache.
func TestCallerCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustNew(t, deepClone, hintsOf)
		src := &source{delay: time.Second}
		ctx, cancel := context.WithCancel(t.Context())
		deadlineCtx, cancel2 := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel2()
		var wg sync.WaitGroup
		var errLeader, errDeadline error
		var leaderDone, deadlineDone time.Duration
		start := time.Now()
		wg.Go(func() {
			_, _, errLeader = c.Get(ctx, "k", src.fetch)
			leaderDone = time.Since(start)
		})
		synctest.Wait() // the leader's fetch is under way
		wg.Go(func() {
			_, _, errDeadline = c.Get(deadlineCtx, "k", src.fetch)
			deadlineDone = time.Since(start)
		})
		var others [3]secret
		for i := range others {
			wg.Go(func() { others[i], _ = get(t, c, "k", src) })
		}
		time.Sleep(100 * time.Millisecond)
		cancel()
		wg.Wait()
		if !errors.Is(errLeader, context.Canceled) || leaderDone != 100*time.Millisecond {
			t.Fatalf("leader: %v after %v", errLeader, leaderDone)
		}
		if !errors.Is(errDeadline, context.DeadlineExceeded) || deadlineDone != 300*time.Millisecond {
			t.Fatalf("deadline caller: %v after %v", errDeadline, deadlineDone)
		}
		for i, v := range others {
			if v["n"] != 1 {
				t.Fatalf("caller %d got %v", i, v)
			}
		}
		if src.count() != 1 || src.ctxs[0] != nil {
			t.Fatalf("%d fetches; fetch context error %v", src.count(), src.ctxs[0])
		}
		if _, r := get(t, c, "k", src); !r.Hit {
			t.Fatal("the value fetched for a cancelled leader was not cached")
		}
	})
}

// TestCancelledContext: a read with an ended context does not start a fetch,
// but a fresh cached value needs no waiting and is returned.
func TestCancelledContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustNew(t, deepClone, hintsOf)
		src := &source{}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, _, err := c.Get(ctx, "k", src.fetch); !errors.Is(err, context.Canceled) || src.count() != 0 {
			t.Fatalf("got %v, %d fetches", err, src.count())
		}
		get(t, c, "k", src)
		if _, r, err := c.Get(ctx, "k", src.fetch); err != nil || !r.Hit {
			t.Fatalf("hit with an ended context: %+v %v", r, err)
		}
	})
}

// TestErrorsNotCached: each read after a failure fetches again.
func TestErrorsNotCached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustNew(t, deepClone, hintsOf, WithStaleOn(isTransient))
		src := &source{err: errDenied}
		for range 3 {
			if _, _, err := c.Get(t.Context(), "k", src.fetch); !errors.Is(err, errDenied) {
				t.Fatal(err)
			}
		}
		src.set(func(s *source) { s.err = nil })
		if v, _ := get(t, c, "k", src); v["n"] != 4 {
			t.Fatal("not fetched after the errors")
		}
		want := Stats{Hits: 0, Misses: 4, Fetches: 4, FetchErrors: 3, Entries: 1}
		if st := c.Stats(); st != want {
			t.Fatalf("stats %+v, want %+v", st, want)
		}
	})
}

// TestFetchPanic: a panicking fetch panics in the reads that waited for it,
// and does not poison the key.
func TestFetchPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustNew(t, deepClone, hintsOf)
		func() {
			defer func() {
				if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "boom") {
					t.Fatalf("recovered %v", p)
				}
			}()
			_, _, _ = c.Get(t.Context(), "k", func(context.Context) (secret, error) { panic("boom") })
			t.Fatal("no panic")
		}()
		if v, _ := get(t, c, "k", &source{}); v["n"] != 1 {
			t.Fatal("key poisoned by a panic")
		}
	})
}

// TestStatsExact runs a scripted sequence and checks every counter.
func TestStatsExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustNew(t, deepClone, hintsOf, WithMaxEntries(2), WithStaleOn(isTransient))
		a, b, d := &source{}, &source{}, &source{delay: time.Second}
		get(t, c, "a", a) // miss, fetch
		get(t, c, "a", a) // hit
		get(t, c, "a", a) // hit
		get(t, c, "b", b) // miss, fetch
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { get(t, c, "d", d) }) // 4 misses, 1 fetch, 3 shared, evicts a
		}
		wg.Wait()
		time.Sleep(DefaultTTL)
		b.set(func(s *source) { s.err = errTransient })
		get(t, c, "b", b) // miss, fetch error, stale
		get(t, c, "b", b) // miss, stale within the backoff, no fetch
		b.set(func(s *source) { s.err = errDenied })
		time.Sleep(DefaultRefreshBackoff)
		_, _, _ = c.Get(t.Context(), "b", b.fetch) // miss, fetch error
		get(t, c, "d", d, Bypass())                // miss, fetch
		get(t, c, "d", d)                          // hit
		want := Stats{Hits: 3, Misses: 10, Stale: 2, Evictions: 1, Fetches: 6, FetchErrors: 2, Shared: 3, Entries: 1}
		if st := c.Stats(); st != want {
			t.Fatalf("stats\n got %+v\nwant %+v", st, want)
		}
	})
}

// TestStaleWhenTheReadsDeadlinePasses: a refresh that hangs (a slow or
// blackholed Vault) does not turn a read whose own deadline passes into a
// failure when a value within its stale window is held: the read gets it,
// marked stale, and the refresh goes on. Without a value, or when the read
// is cancelled (not timed out), the read ends with its context's error.
func TestStaleWhenTheReadsDeadlinePasses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustNew(t, deepClone, hintsOf, WithTTL(time.Minute), WithStaleOn(isTransient))
		src := &source{}
		get(t, c, "k", src)
		time.Sleep(2 * time.Minute) // expired, within the stale window
		block := make(chan struct{})
		src.set(func(s *source) { s.block = block })
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		v, r, err := c.Get(ctx, "k", src.fetch)
		cancel()
		if err != nil || !r.Stale || v["n"] != 1 || !errors.Is(r.RefreshErr, context.DeadlineExceeded) {
			t.Fatalf("got %v, %+v, %v; want the stale value", v, r, err)
		}
		ctx, cancel = context.WithCancel(t.Context())
		cancel()
		if _, _, err := c.Get(ctx, "k", src.fetch); !errors.Is(err, context.Canceled) {
			t.Fatalf("a cancelled read: %v, want context.Canceled", err)
		}
		close(block)
		synctest.Wait()
		if v, r, err := c.Get(t.Context(), "k", src.fetch); err != nil || r.Stale || v["n"] != 2 {
			t.Fatalf("after the refresh: %v, %+v, %v", v, r, err)
		}
		empty := mustNew(t, deepClone, hintsOf, WithStaleOn(isTransient))
		src.set(func(s *source) { s.block = make(chan struct{}) })
		ctx, cancel = context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, _, err := empty.Get(ctx, "other", src.fetch); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("nothing held: %v, want the deadline", err)
		}
		src.set(func(s *source) { close(s.block) })
	})
}

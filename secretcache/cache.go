package secretcache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gdsvault/gdsvault/internal/cfgerr"
	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/sync/singleflight"
)

// Cache caches values of type V by key. It is safe for concurrent use. The
// zero Cache is not usable; make one with [New].
type Cache[V any] struct {
	clone func(V) V
	hints func(V) Hints
	cfg   config

	// index holds the entries of lru, by key, for the hit path: a hit
	// reads it without taking mu, so concurrent readers never wait on each
	// other. It changes only under mu, in step with lru (onRemove).
	index sync.Map // string -> *entry[V]

	mu  sync.Mutex
	lru *simplelru.LRU[string, *entry[V]]
	// gen counts invalidations. A fetch stores its value only if no
	// invalidation happened since it started, and it is shared only with
	// reads of the same generation.
	gen uint64
	// tick counts the entries put at the front of lru (stored or
	// promoted). A hit promotes its entry only if promoteAfter or more
	// entries went to the front since it did: an entry promoted fewer ticks
	// ago is among the most recent promoteAfter entries, far from the end
	// that eviction takes, so most hits of a busy key write nothing and
	// take no lock.
	tick         atomic.Uint64
	promoteAfter uint64

	group singleflight.Group

	badMu        sync.Mutex
	badSchedules map[string]struct{}

	hits                                                   stripedCounter
	misses, stale, evictions, fetches, fetchErrors, shared atomic.Uint64
}

// entry is one cached value. key, value, fetched, expires, staleUntil and
// freshUntil never change once the entry is stored (so value can be read
// and cloned outside the lock); retryAt and lastErr change under Cache.mu.
type entry[V any] struct {
	key        string
	value      V
	fetched    time.Time
	expires    time.Time // fresh before this
	staleUntil time.Time // may be served stale before this
	// freshUntil is expires on monoNow's clock: the hit path compares one
	// integer instead of reading the wall clock too.
	freshUntil int64
	// tick is Cache.tick when the entry last went to the front of lru.
	tick atomic.Uint64
	// removed is set when the entry leaves the cache (evicted, replaced,
	// invalidated): a Ref that still points at it looks the key up again.
	removed atomic.Bool

	retryAt time.Time // after a failed refresh: serve stale without fetching before this
	lastErr error     // the error of that failed refresh
}

// epoch is the origin of monoNow.
var epoch = time.Now()

// monoNow reads the monotonic clock only (time.Now reads the wall clock
// too, which costs as much again): nanoseconds since epoch. Inside a
// testing/synctest bubble it follows the bubble's clock, like time.Now.
func monoNow() int64 { return int64(time.Since(epoch)) }

// mono is t on monoNow's clock.
func mono(t time.Time) int64 { return int64(t.Sub(epoch)) }

// fresh reports whether e is fresh at now (monoNow).
func (e *entry[V]) fresh(now int64) bool { return now < e.freshUntil && !e.removed.Load() }

// stripedCounter is a counter that goroutines on different processors
// can increment at the same time without passing one cache line back and
// forth: each goroutine increments its own stripe (one of 64, padded to a
// cache-line pair each), picked by where its stack is. Stripes picked at
// random would not do: every processor would write every stripe, and each
// line would still move between processors on most increments.
type stripedCounter struct {
	s [1 << stripeBits]struct {
		// The counter last: no two counters, and no counter and a field
		// before the stripes, share a cache line (nor an adjacent-line
		// prefetch pair).
		_ [120]byte
		n atomic.Uint64
	}
}

// add increments the calling goroutine's stripe. A goroutine's stack is
// its own and stays put unless it grows: the stripe, a hash of where the
// stack is, sticks to the goroutine, and so, mostly, to one processor.
func (c *stripedCounter) add() {
	var onStack byte
	h := uint64(uintptr(unsafe.Pointer(&onStack))>>10) * 0x9e3779b97f4a7c15 // Fibonacci hashing: the top bits mix them all
	c.s[h>>(64-stripeBits)].n.Add(1)
}

// stripeBits: 64 stripes (8 KiB), enough that goroutines rarely share one.
const stripeBits = 6

func (c *stripedCounter) load() uint64 {
	var n uint64
	for i := range c.s {
		n += c.s[i].n.Load()
	}
	return n
}

// Result describes how a [Cache.Get] was answered.
type Result struct {
	// Hit: the value came from the cache, fresh, without a fetch.
	Hit bool
	// Stale: the value had expired (or was too old for the read), its
	// refresh failed, and the cache answered with the old value.
	Stale bool
	// Age is how long ago the value was fetched; 0 for a value fetched by
	// this read (or by the fetch it joined).
	Age time.Duration
	// Shared: this read joined a fetch another read started.
	Shared bool
	// RefreshErr is, for a stale answer, the error of the failed refresh.
	RefreshErr error
}

// Stats are the cache's counters since [New]. Every Get counts once in Hits
// or Misses; Stale and Shared count subsets of Misses.
type Stats struct {
	Hits        uint64 // answered with a fresh cached value
	Misses      uint64 // not answered from a fresh cached value (fetched, joined a fetch, stale, or failed)
	Stale       uint64 // answered with a stale value
	Evictions   uint64 // entries evicted to make room (not invalidations)
	Fetches     uint64 // calls of a fetch function
	FetchErrors uint64 // fetch calls that returned an error
	Shared      uint64 // reads that joined another read's fetch
	Entries     int    // entries held now (fresh or kept for stale fallback)
}

// New returns a cache of values of type V. clone must return a deep copy of
// its argument: every value handed out is a clone, so callers may modify
// what they get (for values that are immutable, pass a function that
// returns its argument). hints describes a value (nil: only the TTL
// applies); it is called once per fetched value. A nil clone or an option
// with a bad value makes New return a *gdsvault.ConfigError (one per
// problem, joined with errors.Join); New never panics.
func New[V any](clone func(V) V, hints func(V) Hints, opts ...Option) (*Cache[V], error) {
	cfg, errs := apply(opts)
	if clone == nil {
		errs = append([]error{&cfgerr.Error{Field: "cache clone function", Problem: "is nil",
			Hint: "pass a function that deep-copies a value, or returns it for immutable values"}}, errs...)
	}
	if len(errs) > 0 {
		return nil, join(errs)
	}
	if hints == nil {
		hints = func(V) Hints { return Hints{} }
	}
	c := &Cache[V]{clone: clone, hints: hints, cfg: cfg, promoteAfter: max(1, uint64(cfg.maxEntries)/4)}
	l, err := simplelru.NewLRU(cfg.maxEntries, c.onRemove)
	if err != nil { // unreachable: WithMaxEntries refuses sizes below 1
		return nil, &cfgerr.Error{Field: "cache max entries", Problem: err.Error()}
	}
	c.lru = l
	return c, nil
}

// onRemove is lru's callback for every entry it drops (evicted, removed,
// purged), called under mu: the entry leaves the index too.
func (c *Cache[V]) onRemove(key string, e *entry[V]) {
	e.removed.Store(true)
	c.index.CompareAndDelete(key, e)
}

// lookup finds the entry of key without taking the lock.
func (c *Cache[V]) lookup(key string) *entry[V] {
	if v, ok := c.index.Load(key); ok {
		return v.(*entry[V])
	}
	return nil
}

// touch records a hit on e for the LRU order: it moves e to the front of
// lru, unless e went there fewer than promoteAfter ticks ago (then it is
// among the most recent entries already, and nothing is written).
func (c *Cache[V]) touch(e *entry[V]) {
	if c.tick.Load()-e.tick.Load() < c.promoteAfter {
		return
	}
	c.mu.Lock()
	if !e.removed.Load() {
		c.lru.Get(e.key) // moves it to the front
		e.tick.Store(c.tick.Add(1))
	}
	c.mu.Unlock()
}

// Get returns a copy of the value cached for key if it is fresh, and
// otherwise calls fetch (once for all concurrent reads of key), caches its
// value and returns a copy. The cache owns a value fetch returns: fetch must
// not keep or modify it.
//
// ctx bounds only this read's wait: if it ends first, Get returns ctx's
// error while the fetch goes on for the others (and for the cache) — or,
// when ctx's deadline passed and a value within its stale window is held
// (stale fallback on), that value, marked Stale. A fetch
// error is returned as is (errors.Is and errors.As see it), unless the read
// is answered with a stale value as described in the package
// documentation. Errors are not cached.
func (c *Cache[V]) Get(ctx context.Context, key string, fetch func(context.Context) (V, error), opts ...ReadOption) (V, Result, error) {
	v, r, err := c.get(ctx, key, fetch, opts)
	if err != nil {
		return v, r, err
	}
	return c.clone(v), r, nil
}

// GetShared is Get without the copy: the value returned is the one the
// cache holds, shared with every other reader, and must not be modified
// (for a map, not even written to). It is for readers that look at a
// value and let it go, such as one field of a secret.
func (c *Cache[V]) GetShared(ctx context.Context, key string, fetch func(context.Context) (V, error), opts ...ReadOption) (V, Result, error) {
	return c.get(ctx, key, fetch, opts)
}

func (c *Cache[V]) get(ctx context.Context, key string, fetch func(context.Context) (V, error), opts []ReadOption) (V, Result, error) {
	var rc readConfig
	if len(opts) > 0 {
		rc = applyReadOptions(opts)
	}
	// The hit path: no lock.
	if !rc.bypass {
		if e := c.lookup(key); e != nil && !e.removed.Load() {
			now := time.Now()
			if now.Before(e.expires) && (!rc.hasTTL || now.Sub(e.fetched) < rc.ttl) {
				c.touch(e)
				c.hits.add()
				return e.value, Result{Hit: true, Age: now.Sub(e.fetched)}, nil
			}
		}
	}
	now := time.Now()

	c.mu.Lock()
	e, ok := c.lru.Get(key)
	if ok && !rc.bypass && now.Before(e.expires) && (!rc.hasTTL || now.Sub(e.fetched) < rc.ttl) {
		// Stored between the look without the lock and this one.
		v, age := e.value, now.Sub(e.fetched)
		e.tick.Store(c.tick.Add(1))
		c.mu.Unlock()
		c.hits.add()
		return v, Result{Hit: true, Age: age}, nil
	}
	if ok {
		e.tick.Store(c.tick.Add(1)) // lru.Get moved it to the front
	}
	if ok && !now.Before(e.staleUntil) {
		// Past its stale window (or its lease/rotation): useless.
		c.lru.Remove(key)
		ok = false
	}
	if ok && !rc.bypass && now.Before(e.retryAt) {
		// A refresh failed moments ago: answer stale without fetching.
		v, age, rerr := e.value, now.Sub(e.fetched), e.lastErr
		c.mu.Unlock()
		c.misses.Add(1)
		c.stale.Add(1)
		return v, Result{Stale: true, Age: age, RefreshErr: rerr}, nil
	}
	// What this read may fall back to if its own deadline passes while the
	// refresh is still under way (a slow or hanging Vault).
	var fallback V
	var fallbackFetched time.Time
	canFallBack := ok && c.cfg.maxStale > 0 && c.cfg.staleOn != nil
	if canFallBack {
		fallback, fallbackFetched = e.value, e.fetched
	}
	gen := c.gen
	c.mu.Unlock()
	c.misses.Add(1)

	if err := ctx.Err(); err != nil {
		var zero V
		return zero, Result{}, err
	}

	ttl := c.cfg.ttl
	if rc.hasTTL {
		ttl = rc.ttl
	}
	led := false
	ch := c.group.DoChan(flightKey(key, gen), func() (any, error) {
		led = true
		// A fetch may have finished between the check above and this
		// flight: use its value rather than fetching again.
		if !rc.bypass {
			if f := c.freshFlight(key, rc); f != nil {
				return f, nil
			}
		}
		return c.refresh(ctx, key, gen, ttl, fetch), nil
	})
	var res singleflight.Result
	select {
	case res = <-ch:
	case <-ctx.Done():
		if canFallBack && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// The refresh goes on for the next reads; this one ends with
			// the last good value rather than nothing.
			c.stale.Add(1)
			return fallback, Result{Stale: true, Age: time.Since(fallbackFetched), RefreshErr: ctx.Err()}, nil
		}
		var zero V
		return zero, Result{}, ctx.Err()
	}
	f, ok := res.Val.(*flight[V])
	if !ok { // the fetch called runtime.Goexit
		var zero V
		return zero, Result{}, fmt.Errorf("secretcache: fetch of %q did not return", key)
	}
	if f.panicked != nil {
		panic(f.panicked)
	}
	r := Result{Shared: !led}
	if r.Shared {
		c.shared.Add(1)
	}
	if f.err != nil && !f.stale {
		var zero V
		return zero, r, f.err
	}
	if f.stale {
		c.stale.Add(1)
		r.Stale, r.Age, r.RefreshErr = true, f.age, f.err
	}
	return f.value, r, nil
}

// freshFlight returns the entry for key as a flight when it is fresh for rc
// (an entry still cached after an invalidation was stored by a fetch that
// started after it), or nil.
func (c *Cache[V]) freshFlight(key string, rc readConfig) *flight[V] {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Peek(key)
	if ok && now.Before(e.expires) && (!rc.hasTTL || now.Sub(e.fetched) < rc.ttl) {
		return &flight[V]{value: e.value}
	}
	return nil
}

// flight is what one fetch produced, shared by the reads that waited on it.
type flight[V any] struct {
	value    V
	err      error
	stale    bool          // value is a stale fallback for err
	age      time.Duration // of the stale value
	panicked any           // fetch panicked with this; re-panicked in each read
}

func flightKey(key string, gen uint64) string {
	b := make([]byte, 0, len(key)+21)
	b = strconv.AppendUint(b, gen, 10)
	b = append(b, 0)
	b = append(b, key...)
	return string(b)
}

// refresh runs one fetch for key and stores its outcome.
func (c *Cache[V]) refresh(ctx context.Context, key string, gen uint64, ttl time.Duration, fetch func(context.Context) (V, error)) (f *flight[V]) {
	f = new(flight[V])
	fctx := context.WithoutCancel(ctx)
	if c.cfg.fetchTimeout > 0 {
		var cancel context.CancelFunc
		fctx, cancel = context.WithTimeout(fctx, c.cfg.fetchTimeout)
		defer cancel()
	}
	start := time.Now()
	c.fetches.Add(1)
	v, err := c.callFetch(fctx, fetch, f)
	if f.panicked != nil {
		c.fetchErrors.Add(1)
		return f
	}
	if err == nil {
		c.store(key, gen, start, ttl, v)
		f.value = v
		return f
	}
	c.fetchErrors.Add(1)
	f.err = err
	// Only the cache's own timeout can end fctx: a hung fetch is as
	// transient as errors get.
	timedOut := fctx.Err() != nil
	// definite: Vault answered, and the answer is not going away by itself.
	definite := c.cfg.staleOn != nil && !timedOut && !c.cfg.staleOn(err)
	staleOK := c.cfg.maxStale > 0 && c.cfg.staleOn != nil && !definite

	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Peek(key)
	if !ok {
		return f
	}
	if !staleOK {
		if definite && c.gen == gen {
			// A definite answer (denied, not found, ...): drop the old
			// value so that a later outage cannot bring it back.
			c.lru.Remove(key)
		}
		return f
	}
	if !now.Before(e.staleUntil) {
		c.lru.Remove(key)
		return f
	}
	e.retryAt = now.Add(c.cfg.refreshBackoff)
	e.lastErr = err
	f.value, f.stale, f.age = e.value, true, now.Sub(e.fetched)
	c.logger().LogAttrs(ctx, slog.LevelWarn, "secretcache: refresh failed, serving stale value",
		slog.String("key", key), slog.Duration("age", f.age))
	return f
}

func (c *Cache[V]) callFetch(ctx context.Context, fetch func(context.Context) (V, error), f *flight[V]) (v V, err error) {
	defer func() {
		if p := recover(); p != nil {
			f.panicked = fmt.Sprintf("secretcache: fetch panicked: %v\n\n%s", p, debug.Stack())
		}
	}()
	return fetch(ctx)
}

// store caches v, fetched at fetched, unless an invalidation happened since
// its fetch started.
func (c *Cache[V]) store(key string, gen uint64, fetched time.Time, ttl time.Duration, v V) {
	lt := computeLifetime(fetched, ttl, c.hints(v), c.cfg.leaseMargin, c.cfg.rotationBuffer)
	if lt.scheduleErr != nil {
		c.warnBadSchedule(key, lt.scheduleErr)
	}
	e := &entry[V]{key: key, value: v, fetched: fetched, expires: fetched.Add(max(lt.life, 0))}
	e.freshUntil = mono(e.expires)
	e.staleUntil = e.expires.Add(c.cfg.maxStale)
	if !lt.hardEnd.IsZero() && lt.hardEnd.Before(e.staleUntil) {
		e.staleUntil = lt.hardEnd
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if !e.staleUntil.After(e.expires) && !e.expires.After(fetched) {
		// Never fresh and never a fallback: do not keep it, nor the older
		// value it replaces.
		c.lru.Remove(key)
		return
	}
	if old, ok := c.lru.Peek(key); ok {
		old.removed.Store(true) // lru.Add replaces it without a callback
	}
	e.tick.Store(c.tick.Add(1))
	if c.lru.Add(key, e) {
		c.evictions.Add(1)
	}
	c.index.Store(key, e)
}

func (c *Cache[V]) warnBadSchedule(key string, err error) {
	msg := err.Error()
	c.badMu.Lock()
	_, seen := c.badSchedules[msg]
	if !seen && len(c.badSchedules) < 1024 {
		if c.badSchedules == nil {
			c.badSchedules = make(map[string]struct{})
		}
		c.badSchedules[msg] = struct{}{}
	}
	c.badMu.Unlock()
	if !seen {
		c.logger().LogAttrs(context.Background(), slog.LevelWarn, "secretcache: ignoring unusable rotation schedule",
			slog.String("key", key), slog.String("error", msg))
	}
}

func (c *Cache[V]) logger() *slog.Logger {
	if c.cfg.logger != nil {
		return c.cfg.logger
	}
	return slog.Default()
}

// Invalidate drops the value cached for key. No later read gets a value
// whose fetch started before Invalidate: call it after writing a secret.
func (c *Cache[V]) Invalidate(key string) {
	c.mu.Lock()
	c.lru.Remove(key)
	c.gen++
	c.mu.Unlock()
}

// InvalidatePrefix drops every value whose key starts with prefix and
// returns how many it dropped. Like [Cache.Invalidate], it also keeps fetches
// already under way (for any key) from storing their values.
func (c *Cache[V]) InvalidatePrefix(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.lru.Keys() {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			c.lru.Remove(k)
			n++
		}
	}
	c.gen++
	return n
}

// Clear drops every cached value.
func (c *Cache[V]) Clear() {
	c.mu.Lock()
	c.lru.Purge()
	c.gen++
	c.mu.Unlock()
}

// Len returns the number of entries, including expired ones kept for stale
// fallback.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Stats returns the counters. Each is read atomically; the set is not a
// snapshot of one instant.
func (c *Cache[V]) Stats() Stats {
	return Stats{
		Hits:        c.hits.load(),
		Misses:      c.misses.Load(),
		Stale:       c.stale.Load(),
		Evictions:   c.evictions.Load(),
		Fetches:     c.fetches.Load(),
		FetchErrors: c.fetchErrors.Load(),
		Shared:      c.shared.Load(),
		Entries:     c.Len(),
	}
}

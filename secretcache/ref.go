package secretcache

import "sync/atomic"

// Ref is a handle on one key of a [Cache], for a caller that reads the same
// key again and again: it remembers where the key's entry is, so that
// [Ref.Peek] finds a fresh value without looking the key up, taking a lock
// or writing to memory that other readers share. Make one with [Cache.Ref]
// and keep it; it is safe for concurrent use.
//
// A Ref holds no value of its own: it follows the cache (a refresh, an
// invalidation, an eviction).
type Ref[V any] struct {
	c   *Cache[V]
	key string
	// e is the entry last found for key; when it has left the cache
	// (entry.removed), Peek looks the key up again.
	e atomic.Pointer[entry[V]]
}

// Ref returns a handle on key.
func (c *Cache[V]) Ref(key string) *Ref[V] { return &Ref[V]{c: c, key: key} }

// Key is the key the Ref reads.
func (r *Ref[V]) Key() string { return r.key }

// Peek returns the value cached for the key if it is fresh (as [Cache.Get]
// would answer without fetching: a hit), without a copy: the value is the
// one the cache holds, shared with every reader, and must not be modified.
// ok is false when there is no fresh value (never fetched, expired,
// invalidated, evicted): then read through [Cache.Get] or
// [Cache.GetShared], which fetch, share fetches and fall back on stale
// values. A hit counts in [Stats].Hits; a Peek that finds nothing counts
// nowhere (the read that follows it does).
func (r *Ref[V]) Peek() (v V, ok bool) {
	now := monoNow()
	e := r.e.Load()
	if e == nil || !e.fresh(now) {
		old := e
		if e = r.c.lookup(r.key); e == nil || !e.fresh(now) {
			if old != nil && old.removed.Load() {
				r.e.CompareAndSwap(old, nil) // let the dropped entry go
			}
			return v, false
		}
		r.e.Store(e)
	}
	r.c.touch(e)
	r.c.hits.add()
	return e.value, true
}

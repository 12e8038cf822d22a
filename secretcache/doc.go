// Package secretcache caches secret reads: time-to-live, lease- and
// rotation-aware expiry, stale fallback, shared fetches, bounded size.
//
// A [Cache] maps a key (a secret's path) to a value of any type V. It is a
// leaf package, generic over the cached value, so the root gdsvault package
// can use it for *gdsvault.KVSecret without an import cycle. [New] takes two
// functions that describe V: clone deep-copies a value (callers always get
// copies, so mutating a result never changes the cache) and hints reports
// what the cache needs to know to decide how long a value may live
// ([Hints]: its lease, its rotation schedule, ...).
//
// # How long a value lives
//
// A value fetched at time f is fresh until
//
//	f + min(TTL, lease bound, rotation bound)
//
// where TTL is [WithTTL] (5 minutes by default) or the read's [ReadTTL] option,
// and the bounds come from the value's [Hints]:
//
//   - A leased secret (Hints.LeaseTTL > 0) lives max(LeaseTTL - margin,
//     LeaseTTL/2), margin being [WithLeaseMargin] (60 s by default). The
//     floor of half the lease matters for short leases: without it a 60 s
//     lease with a 60 s margin would never be cached, and every read of a
//     dynamic secret would create a new lease and a new credential in the
//     backend. With it, a caller that gets the value at the last fresh
//     moment still holds at least min(margin, LeaseTTL/2) of its lease.
//   - A KV secret with a rotation schedule (Hints.RotationSchedule, a cron
//     expression in Hints.TimeZone, UTC by default) lives until
//     [WithRotationBuffer] (10 minutes by default) before its next rotation.
//     See [Hints] for how Hints.LastRotation is used and how clock changes
//     (DST) are handled.
//   - A database static role (Hints.NextRotationIn > 0) lives until
//     RotationBuffer before f + NextRotationIn.
//
// The lease and rotation bounds have no floor besides the lease one: reading
// a static role or a KV secret again is only load, not a new credential. A
// value whose life comes out at zero or less is returned to the caller but
// is never fresh in the cache; it is kept (when stale fallback is on) only
// as a fallback for a failing refresh, so every read of it fetches again.
//
// # Stale values
//
// When a value has expired and its refresh fails, the cache may answer with
// the old value (a copy, with [Result].Stale set) instead of the error, if
// all of these hold:
//
//   - the error is one [WithStaleOn] accepts (the root package passes
//     gdsvault.IsTransient: no answer from Vault, 429, 5xx), or the fetch ran
//     out of the cache's own [WithFetchTimeout];
//   - the value expired less than [WithMaxStale] ago (1 hour by default;
//     0 disables stale answers);
//   - its lease has not ended and its rotation instant has not come: after
//     that the old credential no longer works, and serving it would turn a
//     Vault outage into a confusing authentication failure downstream.
//
// An error that WithStaleOn rejects (permission denied, not found, ...) is
// returned and also drops the cached value: Vault has answered that the
// secret is gone or no longer ours, and a later outage must not bring it
// back. Errors are never cached: the next read fetches again. To spare a
// failing Vault a stream of sequential retries, a refresh that failed and
// fell back to a stale value is not retried for [WithRefreshBackoff] (1 s by
// default): reads in that window get the stale value without fetching.
// Concurrent reads of one key always share one fetch.
//
// A read whose own deadline passes while a refresh is still under way (a
// slow or hanging Vault) gets the value held in the same conditions, marked
// Stale with the deadline as its RefreshErr; the refresh goes on.
//
// Each failed refresh that falls back to a stale value logs one Warn record
// with the key and the value's age, never the value.
//
// # Concurrency
//
// Concurrent misses for one key make one fetch. It runs on a context the
// callers cannot cancel ([context.WithoutCancel] of the first caller's
// context, bounded by [WithFetchTimeout]); each caller's own context bounds
// only its own wait, and a fetch whose callers all gave up still stores its
// value for the next read. After [Cache.Invalidate], [Cache.InvalidatePrefix]
// or [Cache.Clear], no read sees a value whose fetch started before the call.
//
// A hit takes no lock and writes no memory that other readers share: the
// entry is found in a concurrent index ([sync.Map]), its freshness is one
// comparison with the monotonic clock, and the hit counter is striped, so
// goroutines on several processors read at once without queueing. A
// [Ref] skips even the index lookup, for a key read again and again, and
// [Ref.Peek] and [Cache.GetShared] skip the copy, for readers that only
// look at a value (such as one field of a secret): the value they return
// is shared and must not be modified.
//
// The cache holds at most [WithMaxEntries] entries (10 000 by default) and
// evicts the least recently used. A hit on an entry that is among the most
// recent quarter of them already does not move it (which would take the
// lock): the order inside that quarter is approximate, the entries evicted
// are still the least recently used. Expired entries stay (for stale
// fallback) until they are evicted, replaced, or found past their stale
// window.
package secretcache

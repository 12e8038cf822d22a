package gdsvault

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gdsvault/gdsvault/secretcache"
)

// WithCache caches secret reads: KV reads (GetSecret, KV().Get) and generic
// GET reads (Read). Entries live for the cache's TTL (default 5 min), a
// leased secret for its lease minus a margin, a secret with a rotation
// schedule in its KV v2 custom metadata (rotation_schedule,
// rotation_timezone, last_rotation) or a database static role's next
// rotation until a buffer before it. Concurrent misses for one secret make
// one request. When Vault fails transiently (unreachable, sealed, 5xx,
// circuit open), the last good value is served, marked Stale, up to the
// cache's max staleness (default 1 h). GetSecret and Read hand out copies;
// Field and View read the cached secret itself, without a copy, a lock or
// an allocation (nothing they return can change the cache). A read after
// Close fails with ErrClosed, cached or not. See package secretcache for
// the options; a bad value (a negative duration, a size below 1, a nil
// logger) makes New fail with a *ConfigError naming it.
func WithCache(opts ...secretcache.Option) Option {
	return func(s *settings) error {
		if err := secretcache.Validate(opts...); err != nil {
			return err
		}
		s.cache = append([]secretcache.Option{secretcache.WithStaleOn(IsTransient)}, opts...)
		return nil
	}
}

// ReadTTL overrides the cache's TTL for one read (secretcache.ReadTTL).
func ReadTTL(d time.Duration) KVOption {
	return func(o *kvOptions) { o.readTTL, o.hasReadTTL = d, true }
}

// NoCache makes one read skip the cached value and fetch (the fresh value
// is stored; a transient failure may still be answered stale).
func NoCache() KVOption { return func(o *kvOptions) { o.noCache = true } }

// caches are the client's caches, shared by its copies.
type caches struct {
	kv   *secretcache.Cache[*KVSecret]
	read *secretcache.Cache[*Secret]
}

// newCaches builds the caches from options WithCache has already validated
// (in New, which reports a bad one as a *ConfigError), with non-nil clone
// functions: secretcache.New cannot fail here.
func newCaches(opts []secretcache.Option) (*caches, error) {
	kv, err := secretcache.New((*KVSecret).Clone, kvHints, opts...)
	if err != nil {
		return nil, err
	}
	read, err := secretcache.New((*Secret).Clone, secretHints, opts...)
	if err != nil {
		return nil, err
	}
	return &caches{kv: kv, read: read}, nil
}

func kvHints(s *KVSecret) secretcache.Hints {
	h := secretcache.Hints{LeaseTTL: s.LeaseDuration}
	if md := s.CustomMetadata; md != nil {
		h.RotationSchedule, h.TimeZone = md["rotation_schedule"], md["rotation_timezone"]
		h.LastRotation = parseTime(md["last_rotation"])
	}
	return h
}

func secretHints(s *Secret) secretcache.Hints {
	h := secretcache.Hints{LeaseTTL: s.LeaseTTL()}
	// A database static role: {"last_vault_rotation", "rotation_period", "ttl"}.
	if _, ok := s.Data["last_vault_rotation"]; ok {
		if ttl, ok := number(s.Data["ttl"]); ok && ttl > 0 {
			h.NextRotationIn = clampSeconds(int(min(ttl, float64(MaxSaneTTL/time.Second))), 0)
		}
	}
	return h
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

func (o kvOptions) readOpts() []secretcache.ReadOption {
	var ro []secretcache.ReadOption
	if o.hasReadTTL {
		ro = append(ro, secretcache.ReadTTL(o.readTTL))
	}
	if o.noCache {
		ro = append(ro, secretcache.Bypass())
	}
	return ro
}

// cacheKey names a read: namespace, path, version.
func (c *Client) cacheKey(p string, version int) string {
	var b strings.Builder
	b.Grow(len(c.namespace) + len(p) + 8)
	b.WriteString(c.namespace)
	b.WriteByte('|')
	b.WriteString(p)
	if version > 0 {
		b.WriteByte('@')
		b.WriteString(strconv.Itoa(version))
	}
	return b.String()
}

// InvalidateCache drops the cached reads of path (every version, both path
// forms). The client does it by itself after its own writes and deletes.
func (c *Client) InvalidateCache(path string) {
	cs := c.shared.caches
	if cs == nil {
		return
	}
	p, err := NormalizePath(path)
	if err != nil {
		return
	}
	dropRead := func(p string) {
		key := c.cacheKey(p, 0)
		cs.read.Invalidate(key)
		cs.read.InvalidatePrefix(key + "?")
	}
	dropRead(p)
	// Only a mount already known can hold cached KV reads: no request here.
	if m, ok := c.shared.mounts.lookup(c.namespace, p); ok {
		t := m.target(p)
		key := c.cacheKey(t.mount+"/"+t.rest, 0)
		cs.kv.Invalidate(key)
		cs.kv.InvalidatePrefix(key + "@")
		dropRead(t.api("data")) // a generic Read of the API form
		dropRead(t.api(""))
	}
}

// ClearCache empties the client's caches.
func (c *Client) ClearCache() {
	if cs := c.shared.caches; cs != nil {
		cs.kv.Clear()
		cs.read.Clear()
	}
}

// CacheStats returns the counters of the KV cache and of the generic-read
// cache (zero without WithCache).
func (c *Client) CacheStats() (kv, read secretcache.Stats) {
	if cs := c.shared.caches; cs != nil {
		return cs.kv.Stats(), cs.read.Stats()
	}
	return
}

// cachedRead is Read through the cache (GET only).
func (c *Client) cachedRead(ctx context.Context, p string, r *request) (*Secret, error) {
	fetch := func(ctx context.Context) (*Secret, error) {
		var s Secret
		if err := c.do(ctx, r, &s); err != nil {
			return nil, err
		}
		return &s, nil
	}
	if c.shared.caches == nil || r.method != http.MethodGet {
		return fetch(ctx)
	}
	if c.shared.closed.Load() {
		return nil, ErrClosed // not from the cache either
	}
	key := c.cacheKey(p, 0)
	if len(r.query) > 0 {
		key += "?" + r.query.Encode()
	}
	s, res, err := c.shared.caches.read.Get(ctx, key, fetch)
	if err != nil {
		return nil, err
	}
	if res.Stale {
		s.Stale = true
	}
	return s, nil
}

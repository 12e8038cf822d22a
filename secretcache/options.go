package secretcache

import (
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/gdsvault/gdsvault/internal/cfgerr"
)

// Defaults of the options.
const (
	DefaultTTL            = 5 * time.Minute
	DefaultMaxEntries     = 10_000
	DefaultLeaseMargin    = 60 * time.Second
	DefaultRotationBuffer = 10 * time.Minute
	DefaultMaxStale       = time.Hour
	DefaultRefreshBackoff = time.Second
	DefaultFetchTimeout   = time.Minute
)

// Option configures a [Cache]. An option given a bad value (a negative
// duration, a size below 1, a nil logger) makes [New] return a
// *gdsvault.ConfigError naming it; several bad options come back joined
// (errors.Join). Nothing panics on a bad value.
type Option func(*config) error

type config struct {
	ttl            time.Duration
	maxEntries     int
	leaseMargin    time.Duration
	rotationBuffer time.Duration
	maxStale       time.Duration
	refreshBackoff time.Duration
	fetchTimeout   time.Duration
	staleOn        func(error) bool
	logger         *slog.Logger
}

func defaultConfig() config {
	return config{
		ttl:            DefaultTTL,
		maxEntries:     DefaultMaxEntries,
		leaseMargin:    DefaultLeaseMargin,
		rotationBuffer: DefaultRotationBuffer,
		maxStale:       DefaultMaxStale,
		refreshBackoff: DefaultRefreshBackoff,
		fetchTimeout:   DefaultFetchTimeout,
	}
}

// apply applies opts to the defaults and returns the errors of the bad
// ones. Nil options are skipped.
func apply(opts []Option) (config, []error) {
	cfg := defaultConfig()
	var errs []error
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			errs = append(errs, err)
		}
	}
	return cfg, errs
}

// join is errors.Join, except that one error is returned as is (the
// *ConfigError itself, not a join of one).
func join(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// Validate reports what [New] would say of opts: nil when they are all
// valid, otherwise the *gdsvault.ConfigError of each bad one, joined. The
// root package calls it in gdsvault.New for gdsvault.WithCache.
func Validate(opts ...Option) error {
	_, errs := apply(opts)
	return join(errs)
}

// duration is an option that sets a non-negative duration.
func duration(field, option string, d time.Duration, set func(*config, time.Duration)) Option {
	return func(c *config) error {
		if d < 0 {
			return &cfgerr.Error{Field: field, Problem: "must not be negative, got " + d.String(),
				Hint: "give secretcache." + option + " zero or a positive duration"}
		}
		set(c, d)
		return nil
	}
}

// WithTTL sets how long a value stays fresh when nothing about the value
// asks for less (default 5 minutes). 0 means values are never fresh: every
// read fetches, and the cache only serves stale fallbacks and shares
// concurrent fetches. A negative d is a configuration error.
func WithTTL(d time.Duration) Option {
	return duration("cache ttl", "WithTTL", d, func(c *config, d time.Duration) { c.ttl = d })
}

// WithMaxEntries bounds the number of entries (default 10 000); the least
// recently used entry is evicted first (the order among the most recent
// quarter is approximate: see the package documentation). n below 1 is a
// configuration error.
func WithMaxEntries(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return &cfgerr.Error{Field: "cache max entries", Problem: "must be at least 1, got " + strconv.Itoa(n),
				Hint: "leave secretcache.WithMaxEntries out for the default of " + strconv.Itoa(DefaultMaxEntries)}
		}
		c.maxEntries = n
		return nil
	}
}

// WithLeaseMargin sets how long before the end of its lease a leased value
// stops being fresh (default 60 s). A leased value always lives at least
// half its lease: its life is max(lease - margin, lease/2).
func WithLeaseMargin(d time.Duration) Option {
	return duration("cache lease margin", "WithLeaseMargin", d, func(c *config, d time.Duration) { c.leaseMargin = d })
}

// WithRotationBuffer sets how long before a scheduled rotation (a cron
// schedule or a static role's next rotation) a value stops being fresh
// (default 10 minutes).
func WithRotationBuffer(d time.Duration) Option {
	return duration("cache rotation buffer", "WithRotationBuffer", d, func(c *config, d time.Duration) { c.rotationBuffer = d })
}

// WithMaxStale sets how long after its expiry a value may still be served
// when its refresh fails with an error [WithStaleOn] accepts (default
// 1 hour). 0 disables stale answers.
func WithMaxStale(d time.Duration) Option {
	return duration("cache max stale", "WithMaxStale", d, func(c *config, d time.Duration) { c.maxStale = d })
}

// WithStaleOn sets which fetch errors allow a stale answer. The default,
// nil, allows none (so nil is a valid value). The root package passes
// gdsvault.IsTransient.
func WithStaleOn(f func(error) bool) Option {
	return func(c *config) error { c.staleOn = f; return nil }
}

// WithLogger sets where stale answers and unusable rotation schedules are
// logged (at Warn; keys, ages and schedules, never values). The default is
// [slog.Default] at the time of logging. A nil logger is a configuration
// error: to silence the cache, pass slog.New(slog.DiscardHandler).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return &cfgerr.Error{Field: "cache logger", Problem: "is nil",
				Hint: "use slog.New(slog.DiscardHandler) to silence the cache, or leave secretcache.WithLogger out for slog.Default"}
		}
		c.logger = l
		return nil
	}
}

// WithRefreshBackoff sets how long, after a refresh failed and the read was
// answered with a stale value, further reads of that key get the stale value
// without fetching again (default 1 s; 0: every read retries). It keeps a
// stream of sequential reads from hammering a Vault that is down or rate
// limiting; [Bypass] reads always fetch.
func WithRefreshBackoff(d time.Duration) Option {
	return duration("cache refresh backoff", "WithRefreshBackoff", d, func(c *config, d time.Duration) { c.refreshBackoff = d })
}

// WithFetchTimeout bounds each fetch (default 1 minute; 0: no bound besides
// the fetch function's own). The fetch runs on a context its callers cannot
// cancel, so without a bound a hung fetch would hold every later read of its
// key. A fetch that runs out of this time may be answered with a stale value
// whatever [WithStaleOn] says of its error.
func WithFetchTimeout(d time.Duration) Option {
	return duration("cache fetch timeout", "WithFetchTimeout", d, func(c *config, d time.Duration) { c.fetchTimeout = d })
}

// ReadOption changes one [Cache.Get].
type ReadOption func(*readConfig)

type readConfig struct {
	ttl    time.Duration
	hasTTL bool
	bypass bool
}

// ReadTTL overrides the cache's TTL (WithTTL) for one read, still capped by the value's
// lease and rotation bounds. A cached value older than d is not fresh for
// this read (so a read can ask for fresher data than other reads), and a
// value this read fetches is stored with this TTL. A read cannot make a
// value fetched by another read live longer than it was stored for.
// A zero or negative d always fetches.
func ReadTTL(d time.Duration) ReadOption {
	return func(r *readConfig) { r.ttl, r.hasTTL = max(d, 0), true }
}

// Bypass makes a read skip the cached value: it always fetches (or joins a
// fetch of its key already under way, which started after the last
// invalidation) and stores the fresh value. A failed fetch may still be
// answered with a stale value under the usual rules.
func Bypass() ReadOption { return func(r *readConfig) { r.bypass = true } }

// applyReadOptions is kept out of Get so that the readConfig escapes to the
// heap only for reads that pass options.
//
//go:noinline
func applyReadOptions(opts []ReadOption) readConfig {
	rc := new(readConfig)
	for _, o := range opts {
		if o != nil {
			o(rc)
		}
	}
	return *rc
}

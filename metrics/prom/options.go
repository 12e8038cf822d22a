package prom

import (
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/gdsvault/gdsvault"
)

// DefaultMaxMounts bounds the distinct values of the mount label unless
// WithMaxMounts says otherwise; further mounts are counted as "other".
const DefaultMaxMounts = 200

// DefaultBuckets are the upper bounds, in seconds, of the request and
// operation latency histograms unless WithBuckets says otherwise: from half a
// millisecond (a read on the same host) to 30 s (a request that waited for
// its timeout).
var DefaultBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Option configures a Collector. An option given a bad value makes
// NewCollector fail with a *gdsvault.ConfigError naming it.
type Option func(*config) error

type config struct {
	clientName string
	maxMounts  int
	buckets    []float64
}

// WithClientName adds the constant label client="name" to every series, so
// that the collectors of several clients (one collector per client) can be
// registered in one registry and told apart. Without it the series carry no
// client label.
func WithClientName(name string) Option {
	return func(c *config) error {
		if name == "" || !utf8.ValidString(name) {
			return &gdsvault.ConfigError{Field: "metrics client name", Problem: "must be a non-empty UTF-8 string",
				Hint: "name the client the way your dashboards do (\"payments\")"}
		}
		c.clientName = name
		return nil
	}
}

// WithMaxMounts bounds the distinct values of the mount label (default
// DefaultMaxMounts): the first n mounts seen keep their name, later ones are
// counted as "other". A path on a mount the client does not know is labelled
// by its first segment, which a caller chooses: this bound keeps such paths
// from growing the series without end.
func WithMaxMounts(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return &gdsvault.ConfigError{Field: "metrics max mounts", Problem: "must be at least 1, got " + strconv.Itoa(n)}
		}
		c.maxMounts = n
		return nil
	}
}

// WithBuckets sets the upper bounds, in seconds, of the latency histograms
// (default DefaultBuckets). They must be positive and strictly increasing.
func WithBuckets(bounds ...float64) Option {
	return func(c *config) error {
		if len(bounds) == 0 {
			return &gdsvault.ConfigError{Field: "metrics buckets", Problem: "are empty"}
		}
		for i, b := range bounds {
			if b <= 0 || i > 0 && b <= bounds[i-1] {
				return &gdsvault.ConfigError{Field: "metrics buckets", Problem: "must be positive and strictly increasing",
					Hint: "for example 0.001, 0.01, 0.1, 1, 10"}
			}
		}
		c.buckets = append([]float64(nil), bounds...)
		return nil
	}
}

func apply(opts []Option) (config, error) {
	cfg := config{maxMounts: DefaultMaxMounts, buckets: DefaultBuckets}
	var errs []error
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			errs = append(errs, err)
		}
	}
	return cfg, errors.Join(errs...)
}

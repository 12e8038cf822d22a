package secretcache

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/internal/cfgerr"
)

// TestNewRejectsBadOptions feeds every option a bad value: New returns a
// *cfgerr.Error (gdsvault's *ConfigError) naming the setting, never panics,
// and several bad options come back joined, each named.
func TestNewRejectsBadOptions(t *testing.T) {
	id := func(s string) string { return s }
	tests := []struct {
		name  string
		clone func(string) string
		opt   Option
		field string
	}{
		{"nil clone", nil, nil, "cache clone function"},
		{"max entries 0", id, WithMaxEntries(0), "cache max entries"},
		{"max entries negative", id, WithMaxEntries(-5), "cache max entries"},
		{"negative ttl", id, WithTTL(-time.Second), "cache ttl"},
		{"negative margin", id, WithLeaseMargin(-1), "cache lease margin"},
		{"negative buffer", id, WithRotationBuffer(-1), "cache rotation buffer"},
		{"negative max stale", id, WithMaxStale(-1), "cache max stale"},
		{"negative backoff", id, WithRefreshBackoff(-1), "cache refresh backoff"},
		{"negative fetch timeout", id, WithFetchTimeout(-1), "cache fetch timeout"},
		{"nil logger", id, WithLogger(nil), "cache logger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := noPanic(t, func() (*Cache[string], error) { return New(tt.clone, nil, tt.opt) })
			var ce *cfgerr.Error
			if c != nil || !errors.As(err, &ce) || !errors.Is(err, cfgerr.ErrConfig) || ce.Field != tt.field {
				t.Fatalf("New = %v, %v; want a *cfgerr.Error for %q", c, err, tt.field)
			}
			if tt.opt != nil {
				if verr := Validate(tt.opt); verr == nil || verr.Error() != err.Error() {
					t.Fatalf("Validate = %v, New = %v", verr, err)
				}
			}
		})
	}

	t.Run("joined", func(t *testing.T) {
		opts := []Option{WithTTL(-1), WithMaxEntries(0), WithLogger(nil), nil, WithMaxStale(time.Hour)}
		_, err := noPanic(t, func() (*Cache[string], error) { return New[string](nil, nil, opts...) })
		if !errors.Is(err, cfgerr.ErrConfig) {
			t.Fatalf("err = %v", err)
		}
		joined, ok := err.(interface{ Unwrap() []error })
		if !ok || len(joined.Unwrap()) != 4 {
			t.Fatalf("want 4 joined errors, got %v", err)
		}
		for _, f := range []string{"cache clone function", "cache ttl", "cache max entries", "cache logger"} {
			if !strings.Contains(err.Error(), "gdsvault: "+f+":") {
				t.Errorf("%q not named in %v", f, err)
			}
		}
		if verr := Validate(opts...); verr == nil || len(verr.(interface{ Unwrap() []error }).Unwrap()) != 3 {
			t.Fatalf("Validate = %v", verr)
		}
	})

	t.Run("valid", func(t *testing.T) {
		opts := []Option{WithTTL(0), WithMaxEntries(1), WithLeaseMargin(0), WithRotationBuffer(0), WithMaxStale(0),
			WithRefreshBackoff(0), WithFetchTimeout(0), WithStaleOn(nil), nil}
		if c, err := New(id, nil, opts...); c == nil || err != nil {
			t.Fatalf("New = %v, %v", c, err)
		}
		if err := Validate(opts...); err != nil {
			t.Fatal(err)
		}
	})
}

func noPanic[T any](t *testing.T, f func() (T, error)) (v T, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("panicked: %v", p)
		}
	}()
	return f()
}

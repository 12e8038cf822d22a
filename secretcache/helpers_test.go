package secretcache

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"
)

type secret = map[string]any

func deepClone(m secret) secret {
	if m == nil {
		return nil
	}
	out := make(secret, len(m))
	for k, v := range m {
		out[k] = cloneAny(v)
	}
	return out
}

func cloneAny(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return deepClone(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneAny(e)
		}
		return out
	default:
		return v
	}
}

// hintsOf reads the hints a test source puts in its values.
func hintsOf(m secret) Hints {
	h, _ := m["_hints"].(Hints)
	return h
}

var (
	errTransient = errors.New("vault: 503 service unavailable")
	errDenied    = errors.New("vault: 403 permission denied")
)

func isTransient(err error) bool { return errors.Is(err, errTransient) }

// source is a fake Vault: each successful fetch returns
// {"n": <fetch number>, "password": "s3cr3t-<n>", ...}.
type source struct {
	mu    sync.Mutex
	calls int
	hints Hints
	err   error         // returned by fetches while set
	delay time.Duration // each fetch takes this long (fake time in a bubble)
	block chan struct{} // if set, each fetch waits for it to close
	ctxs  []error       // the fetch context's Err() at the end of each fetch
}

func (s *source) fetch(ctx context.Context) (secret, error) {
	s.mu.Lock()
	s.calls++
	n, h, err, delay, block := s.calls, s.hints, s.err, s.delay, s.block
	s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if block != nil {
		<-block
	}
	s.mu.Lock()
	s.ctxs = append(s.ctxs, ctx.Err())
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return secret{
		"n":        n,
		"password": "s3cr3t-" + string(rune('0'+n%10)),
		"nested":   map[string]any{"k": "v"},
		"list":     []any{"a", "b"},
		"_hints":   h,
	}, nil
}

func (s *source) set(f func(s *source)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *source) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// recorder is a slog.Handler that keeps the records it gets.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec.Clone())
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func (r *recorder) all() []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]slog.Record(nil), r.records...)
}

func attrsOf(rec slog.Record) map[string]slog.Value {
	m := map[string]slog.Value{}
	rec.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value; return true })
	return m
}

// get reads key through src and fails the test on an error.
func get(t *testing.T, c *Cache[secret], key string, src *source, opts ...ReadOption) (secret, Result) {
	t.Helper()
	v, r, err := c.Get(t.Context(), key, src.fetch, opts...)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v, r
}

// sleepUntil advances a bubble's fake clock to at.
func sleepUntil(t *testing.T, at string) {
	t.Helper()
	if at != "" {
		time.Sleep(time.Until(mustTime(t, at)))
	}
}

// mustNew is New for options a test knows to be valid.
func mustNew[V any](t testing.TB, clone func(V) V, hints func(V) Hints, opts ...Option) *Cache[V] {
	t.Helper()
	c, err := New(clone, hints, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

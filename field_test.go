package gdsvault_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/secretcache"
)

// kvFake is an in-memory KV server for the field and read tests, used
// inside testing/synctest bubbles: KV v2 mounts "secret" and "team/kv", a
// KV v1 mount "kv1", one secret in each. Every data read answers the
// secret's current data (set with put) with a read counter; a read of
// another path under "team/" is denied (403), elsewhere not found; down
// makes every request fail with a 503. paths counts the requests by
// method and path.
type kvFake struct {
	mu    sync.Mutex
	data  map[string]map[string]any // API path -> data
	down  bool
	reads atomic.Int64
	paths map[string]int
}

func newKVFake() *kvFake {
	return &kvFake{data: map[string]map[string]any{
		"secret/data/app":  {"db_host": "h1", "db_pass": "pw-1", "port": 5432.0, "nested": map[string]any{"a": "b"}, "none": nil},
		"kv1/app":          {"db_host": "v1-host"},
		"team/kv/data/app": {"db_host": "team-host"},
	}, paths: map[string]int{}}
}

// count is how many requests reached the fake for "METHOD path".
func (f *kvFake) count(req string) int { f.mu.Lock(); defer f.mu.Unlock(); return f.paths[req] }

func (f *kvFake) put(api string, d map[string]any) { f.mu.Lock(); f.data[api] = d; f.mu.Unlock() }
func (f *kvFake) setDown(d bool)                   { f.mu.Lock(); f.down = d; f.mu.Unlock() }

func (f *kvFake) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reply := func(status int, body any) (*http.Response, error) {
		b, _ := json.Marshal(body)
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader(b)), ContentLength: int64(len(b)), Request: req}, nil
	}
	if f.down {
		return reply(503, map[string]any{"errors": []string{"Vault is sealed"}})
	}
	p := strings.TrimPrefix(req.URL.Path, "/v1/")
	f.paths[req.Method+" "+p]++
	if m, ok := strings.CutPrefix(p, "sys/internal/ui/mounts/"); ok {
		mount, version := "secret/", "2"
		switch {
		case strings.HasPrefix(m, "kv1/"):
			mount, version = "kv1/", "1"
		case strings.HasPrefix(m, "team/"):
			mount = "team/kv/"
		}
		return reply(200, map[string]any{"data": map[string]any{"path": mount, "type": "kv", "options": map[string]any{"version": version}}})
	}
	d, ok := f.data[p]
	switch {
	case !ok && strings.HasPrefix(p, "team/"):
		return reply(403, map[string]any{"errors": []string{"1 error occurred:\n\t* permission denied\n\n"}})
	case !ok:
		return reply(404, map[string]any{"errors": []string{}})
	}
	f.reads.Add(1)
	if strings.HasPrefix(p, "kv1/") {
		return reply(200, map[string]any{"data": d})
	}
	return reply(200, map[string]any{"data": map[string]any{"data": d,
		"metadata": map[string]any{"version": f.reads.Load(), "created_time": "2026-01-02T03:04:05Z", "deletion_time": ""}}})
}

// fakeClient is a client of f built WithCache(opts...), closed when the
// test ends.
func fakeClient(t *testing.T, f *kvFake, opts ...secretcache.Option) *gdsvault.Client {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	c, err := gdsvault.New(gdsvault.WithAddress("http://vault.test:8200"), gdsvault.WithToken("t"), gdsvault.WithTransport(f),
		gdsvault.WithLogger(quiet), gdsvault.WithMaxRetries(0),
		gdsvault.WithCache(append([]secretcache.Option{secretcache.WithLogger(quiet)}, opts...)...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func TestField(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newKVFake()
		c := fakeClient(t, f)
		ctx := context.Background()
		tests := []struct {
			path, key string
			want      any
		}{
			{"secret/data/app", "db_host", "h1"},
			{"secret/app", "db_host", "h1"}, // the CLI form: the same secret, the same cache entry
			{"secret/app", "port", 5432.0},
			{"secret/app", "none", nil},
			{"kv1/app", "db_host", "v1-host"},
		}
		for _, tt := range tests {
			got, err := c.Field(ctx, tt.path, tt.key)
			if err != nil || got != tt.want {
				t.Errorf("Field(%s, %s) = %v, %v; want %v", tt.path, tt.key, got, err, tt.want)
			}
		}
		if n := f.reads.Load(); n != 2 {
			t.Errorf("%d reads reached Vault, want 2 (one per secret)", n)
		}
		kv, _ := c.CacheStats()
		if kv.Hits != 3 || kv.Misses != 2 {
			t.Errorf("cache stats %+v, want 3 hits and 2 misses", kv)
		}
	})
}

func TestFieldMissingKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := fakeClient(t, newKVFake())
		_, err := c.Field(context.Background(), "secret/app", "db_user")
		var fe *gdsvault.FieldError
		if !errors.As(err, &fe) || !errors.Is(err, gdsvault.ErrKeyNotFound) || !errors.Is(err, gdsvault.ErrNotFound) {
			t.Fatalf("err = %v, want a *FieldError matching ErrKeyNotFound and ErrNotFound", err)
		}
		msg := err.Error()
		if !strings.Contains(msg, `"db_user"`) || !strings.Contains(msg, "db_host, db_pass, nested, none, port") {
			t.Errorf("message %q should name the key and the secret's keys", msg)
		}
		if strings.Contains(msg, "pw-1") || strings.Contains(msg, "h1") {
			t.Errorf("message %q shows a value", msg)
		}
		// A missing secret is ErrNotFound, not a missing key.
		_, err = c.Field(context.Background(), "secret/nothing", "db_host")
		if !errors.Is(err, gdsvault.ErrNotFound) || errors.Is(err, gdsvault.ErrKeyNotFound) {
			t.Errorf("missing secret: %v", err)
		}
	})
}

// TestFieldNestedIsCopied: a nested value is the caller's copy; the cached
// secret does not change.
func TestFieldNestedIsCopied(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := fakeClient(t, newKVFake())
		ctx := context.Background()
		v, err := c.Field(ctx, "secret/app", "nested")
		if err != nil {
			t.Fatal(err)
		}
		v.(map[string]any)["a"] = "changed"
		view, _ := c.View(ctx, "secret/app")
		n, _ := view.Get("nested")
		n.(map[string]any)["a"] = "changed too"
		s, _ := c.GetSecret(ctx, "secret/app")
		s.Data["db_host"] = "changed as well"
		if again, _ := c.Field(ctx, "secret/app", "nested"); again.(map[string]any)["a"] != "b" {
			t.Errorf("the cached nested value changed: %v", again)
		}
		if h, _ := c.Field(ctx, "secret/app", "db_host"); h != "h1" {
			t.Errorf("the cached secret changed: %v", h)
		}
	})
}

// TestFieldExpiry: a field read honours the cache's TTL like GetSecret.
func TestFieldExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newKVFake()
		c := fakeClient(t, f, secretcache.WithTTL(time.Minute))
		ctx := context.Background()
		field := func() any {
			t.Helper()
			v, err := c.Field(ctx, "secret/app", "db_host")
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		field()
		f.put("secret/data/app", map[string]any{"db_host": "h2"})
		time.Sleep(time.Minute - time.Nanosecond)
		if v := field(); v != "h1" || f.reads.Load() != 1 {
			t.Fatalf("before expiry: %v after %d reads, want h1 after 1", v, f.reads.Load())
		}
		time.Sleep(time.Nanosecond)
		if v := field(); v != "h2" || f.reads.Load() != 2 {
			t.Fatalf("at expiry: %v after %d reads, want h2 after 2", v, f.reads.Load())
		}
	})
}

// TestFieldStale: an expired secret whose refresh fails transiently is
// served stale (View says so), within the cache's max staleness.
func TestFieldStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newKVFake()
		c := fakeClient(t, f, secretcache.WithTTL(time.Minute), secretcache.WithMaxStale(time.Hour))
		ctx := context.Background()
		if _, err := c.Field(ctx, "secret/app", "db_host"); err != nil {
			t.Fatal(err)
		}
		f.setDown(true)
		time.Sleep(2 * time.Minute)
		v, err := c.Field(ctx, "secret/app", "db_host")
		if err != nil || v != "h1" {
			t.Fatalf("stale field: %v, %v", v, err)
		}
		view, err := c.View(ctx, "secret/app")
		if err != nil || !view.Stale() || !view.Secret().Stale {
			t.Fatalf("view: stale %v, %v", view.Stale(), err)
		}
		time.Sleep(2 * time.Hour) // past the max staleness: the error
		if _, err := c.Field(ctx, "secret/app", "db_host"); !errors.Is(err, gdsvault.ErrSealed) {
			t.Fatalf("past max staleness: %v, want ErrSealed", err)
		}
	})
}

// TestFieldFollowsWrites: a write through the client invalidates what a
// field read returns.
func TestFieldFollowsWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newKVFake()
		c := fakeClient(t, f)
		ctx := context.Background()
		if v, _ := c.Field(ctx, "secret/app", "db_host"); v != "h1" {
			t.Fatal(v)
		}
		f.put("secret/data/app", map[string]any{"db_host": "h2"})
		c.InvalidateCache("secret/data/app")
		if v, _ := c.Field(ctx, "secret/app", "db_host"); v != "h2" {
			t.Fatalf("after the invalidation: %v", v)
		}
		f.put("secret/data/app", map[string]any{"db_host": "h3"})
		c.ClearCache()
		if v, _ := c.Field(ctx, "secret/app", "db_host"); v != "h3" {
			t.Fatalf("after ClearCache: %v", v)
		}
	})
}

func TestFieldClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := fakeClient(t, newKVFake())
		ctx := context.Background()
		if _, err := c.Field(ctx, "secret/app", "db_host"); err != nil {
			t.Fatal(err)
		}
		c.Close(ctx)
		if _, err := c.Field(ctx, "secret/app", "db_host"); !errors.Is(err, gdsvault.ErrClosed) {
			t.Errorf("Field after Close: %v", err)
		}
		if _, err := c.View(ctx, "secret/app"); !errors.Is(err, gdsvault.ErrClosed) {
			t.Errorf("View after Close: %v", err)
		}
		if _, err := c.GetSecret(ctx, "secret/app"); !errors.Is(err, gdsvault.ErrClosed) {
			t.Errorf("GetSecret after Close: %v", err)
		}
	})
}

// TestFieldConcurrent reads fields from many goroutines while the secret is
// rewritten and the cache invalidated (run it with -race): every read
// sees one whole version of the secret.
func TestFieldConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newKVFake()
		c := fakeClient(t, f)
		ctx := context.Background()
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Go(func() {
				for i := range 200 {
					v, err := c.View(ctx, "secret/app")
					if err != nil {
						t.Error(err)
						return
					}
					h, _ := v.GetString("db_host")
					p, _ := v.GetString("db_pass")
					if "pw-"+strings.TrimPrefix(h, "h") != p {
						t.Errorf("goroutine %d read %d: db_host %q with db_pass %q", g, i, h, p)
						return
					}
					if _, err := c.Field(ctx, "secret/data/app", "db_host"); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		for n := 2; n < 50; n++ {
			f.put("secret/data/app", map[string]any{"db_host": fmt.Sprint("h", n), "db_pass": fmt.Sprint("pw-", n)})
			c.InvalidateCache("secret/app")
			time.Sleep(time.Millisecond)
		}
		wg.Wait()
	})
}

// TestSecretViewNeverPrints: a view shows its path and keys through fmt,
// slog and encoding/json, never a value; the values come out only through
// the accessors.
func TestSecretViewNeverPrints(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := fakeClient(t, newKVFake())
		v, err := c.View(context.Background(), "secret/app")
		if err != nil {
			t.Fatal(err)
		}
		var logged bytes.Buffer
		slog.New(slog.NewTextHandler(&logged, nil)).Info("read", "view", v, "ptr", &v)
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("read", "view", v, slog.Any("views", []gdsvault.SecretView{v}))
		j1, _ := json.Marshal(v)
		j2, _ := json.Marshal(map[string]any{"v": v, "in": struct{ V gdsvault.SecretView }{v}})
		outs := []string{fmt.Sprint(v), fmt.Sprintf("%v %+v %#v %s %q %x", v, v, v, v, v, v), fmt.Sprintf("%v %+v", &v, []gdsvault.SecretView{v}),
			fmt.Sprintf("%+v", struct{ V gdsvault.SecretView }{v}), fmt.Sprintf("%v", map[string]gdsvault.SecretView{"k": v}),
			logged.String(), string(j1), string(j2), v.String()}
		for _, o := range outs {
			if strings.Contains(o, "pw-1") || strings.Contains(o, "h1") || strings.Contains(o, "5432") {
				t.Errorf("a value printed: %s", o)
			}
			if !strings.Contains(o, "db_pass") {
				t.Errorf("the printed form should name the keys: %s", o)
			}
		}
		if s, ok := v.GetString("db_pass"); !ok || s != "pw-1" {
			t.Errorf("GetString = %q, %v", s, ok)
		}
		if v.Len() != 5 || !v.Has("port") || v.Has("nope") || v.Version() != 1 || v.Mount() != "secret" || v.Path() != "app" {
			t.Errorf("view %v: len %d version %d mount %q path %q", v, v.Len(), v.Version(), v.Mount(), v.Path())
		}
		if _, ok := v.GetString("port"); ok {
			t.Error("GetString of a number")
		}
		var zero gdsvault.SecretView
		if zero.Len() != 0 || zero.Has("x") || zero.Secret() != nil || zero.String() != "SecretView{}" {
			t.Errorf("zero view: %v", zero)
		}
	})
}

// TestFieldUncached: without WithCache, Field and View read Vault each time.
func TestFieldUncached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newKVFake()
		c, err := gdsvault.New(gdsvault.WithAddress("http://vault.test:8200"), gdsvault.WithToken("t"), gdsvault.WithTransport(f),
			gdsvault.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.Background())
		for range 3 {
			if v, err := c.Field(context.Background(), "kv1/app", "db_host"); err != nil || v != "v1-host" {
				t.Fatal(v, err)
			}
		}
		if f.reads.Load() != 3 {
			t.Errorf("%d reads, want 3", f.reads.Load())
		}
	})
}

// TestFieldRealVault reads fields of KV v1 and v2 secrets on the real
// server, cached and not.
func TestFieldRealVault(t *testing.T) {
	vault.Require(t)
	v1 := vault.UniqueName("kv1")
	vault.EnableSecrets(t, v1, "kv", map[string]any{"version": "1"})
	if _, err := vault.Do(ctx(t), "POST", v1+"/app", map[string]any{"db_host": "v1-host"}); err != nil {
		t.Fatal(err)
	}
	for _, opts := range [][]gdsvault.Option{nil, {gdsvault.WithCache()}} {
		c := newClient(t, vault.RootToken, opts...)
		for _, tt := range []struct{ path, key, want string }{
			{"secret/myapp/config", "db_host", "postgres.example.com"},
			{"secret/data/myapp/config", "db_pass", "secret123"},
			{v1 + "/app", "db_host", "v1-host"},
		} {
			for range 2 {
				if v, err := c.Field(ctx(t), tt.path, tt.key); err != nil || v != tt.want {
					t.Errorf("Field(%s, %s) = %v, %v", tt.path, tt.key, v, err)
				}
			}
		}
		if _, err := c.Field(ctx(t), "secret/myapp/config", "nope"); !errors.Is(err, gdsvault.ErrKeyNotFound) {
			t.Errorf("missing key: %v", err)
		}
	}
}

// cachedLab returns a client built WithCache that has read the lab secret
// once (so that the benchmarks below measure hits).
func cachedLab(b *testing.B) *gdsvault.Client {
	b.Helper()
	vault.Require(b)
	c := newClient(b, vault.RootToken, gdsvault.WithCache())
	if _, err := c.GetSecret(context.Background(), "secret/data/myapp/config"); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkFieldCached is a cached field read: no copy, no lock, no
// allocation.
func BenchmarkFieldCached(b *testing.B) {
	c := cachedLab(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		v, err := c.Field(ctx, "secret/data/myapp/config", "db_host")
		if err != nil || v != "postgres.example.com" {
			b.Fatal(v, err)
		}
	}
}

// BenchmarkFieldCachedParallel is the same from 16 goroutines.
func BenchmarkFieldCachedParallel(b *testing.B) {
	c := cachedLab(b)
	ctx := context.Background()
	b.SetParallelism(8)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			v, err := c.Field(ctx, "secret/data/myapp/config", "db_host")
			if err != nil || v != "postgres.example.com" {
				b.Error(v, err)
				return
			}
		}
	})
}

// BenchmarkViewCached takes a view and reads two fields through it.
func BenchmarkViewCached(b *testing.B) {
	c := cachedLab(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		v, err := c.View(ctx, "secret/data/myapp/config")
		if err != nil {
			b.Fatal(err)
		}
		h, _ := v.GetString("db_host")
		u, _ := v.GetString("db_user")
		if h != "postgres.example.com" || u != "myapp" {
			b.Fatal(h, u)
		}
	}
}

// BenchmarkGetSecretCached is a cached GetSecret, which copies the secret.
func BenchmarkGetSecretCached(b *testing.B) {
	c := cachedLab(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s, err := c.GetSecret(ctx, "secret/data/myapp/config")
		if err != nil || s.Data["db_host"] != "postgres.example.com" {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetSecretUncached is one read from Vault.
func BenchmarkGetSecretUncached(b *testing.B) {
	vault.Require(b)
	c := newClient(b, vault.RootToken)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetSecret(ctx, "secret/data/myapp/config"); err != nil {
			b.Fatal(err)
		}
	}
}

// Reading one field of a cached secret, again and again: no copy of the
// secret, no lock, no allocation. The value is what was asked for: it is
// not redacted, unlike every printed form of the secret or of a view.
func ExampleClient_Field() {
	ctx := context.Background()
	client, err := gdsvault.New(gdsvault.WithAddress(os.Getenv("VAULT_ADDR")), gdsvault.WithToken(os.Getenv("VAULT_TOKEN")),
		gdsvault.WithCache())
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(ctx)

	host, err := client.Field(ctx, "secret/myapp/config", "db_host")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(host)

	view, err := client.View(ctx, "secret/myapp/config")
	if err != nil {
		log.Fatal(err)
	}
	user, _ := view.GetString("db_user")
	fmt.Println(user, view.Keys())

	_, err = client.Field(ctx, "secret/myapp/config", "db_port")
	fmt.Println(errors.Is(err, gdsvault.ErrKeyNotFound), err)
	// Output:
	// postgres.example.com
	// myapp [db_host db_pass db_user]
	// true gdsvault: no key "db_port" in "secret/myapp/config" (its keys: db_host, db_pass, db_user)
}

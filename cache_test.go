package gdsvault_test

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/secretcache"
)

// counting counts requests per path and forwards them.
type counting struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counting) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[req.Method+" "+strings.TrimPrefix(req.URL.Path, "/v1/")]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (c *counting) get(key string) int { c.mu.Lock(); defer c.mu.Unlock(); return c.n[key] }

func TestCacheAgainstRealVault(t *testing.T) {
	vault.Require(t)
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	vault.PutKV(t, mount, "app/config", map[string]any{"db_host": "h1", "nested": map[string]any{"a": "b"}})
	rec := &counting{}
	c := newClient(t, vault.RootToken, gdsvault.WithTransport(rec), gdsvault.WithCache())
	read := "GET " + mount + "/data/app/config"

	s1, err := c.GetSecret(ctx(t), mount+"/data/app/config")
	if err != nil {
		t.Fatal(err)
	}
	// The other path form is the same entry; mutating a result changes nothing.
	s1.Data["db_host"] = "mutated"
	s1.Data["nested"].(map[string]any)["a"] = "mutated"
	s2, err := c.GetSecret(ctx(t), mount+"/app/config")
	if err != nil || s2.Data["db_host"] != "h1" || s2.Data["nested"].(map[string]any)["a"] != "b" || s2.Stale {
		t.Fatalf("second read %v %v", s2.Data, err)
	}
	if rec.get(read) != 1 {
		t.Errorf("%d requests for two reads, want 1", rec.get(read))
	}
	kvStats, _ := c.CacheStats()
	if kvStats.Hits != 1 || kvStats.Misses != 1 {
		t.Errorf("stats %+v", kvStats)
	}
	// Per-read bypass and a write through the client refresh the entry.
	if _, err := c.GetSecret(ctx(t), mount+"/app/config", gdsvault.NoCache()); err != nil || rec.get(read) != 2 {
		t.Errorf("NoCache: %v, %d requests", err, rec.get(read))
	}
	if _, err := c.KV().Put(ctx(t), mount+"/app/config", map[string]any{"db_host": "h2"}); err != nil {
		t.Fatal(err)
	}
	if s, _ := c.GetSecret(ctx(t), mount+"/app/config"); s == nil || s.Data["db_host"] != "h2" {
		t.Errorf("read after write: %v", s)
	}
	// Versions are separate entries.
	if s, _ := c.GetSecret(ctx(t), mount+"/app/config", gdsvault.SecretVersion(1)); s == nil || s.Data["db_host"] != "h1" {
		t.Errorf("version 1: %v", s)
	}
	// A write from elsewhere is seen after InvalidateCache.
	vault.PutKV(t, mount, "app/config", map[string]any{"db_host": "h3"})
	c.InvalidateCache(mount + "/data/app/config")
	if s, _ := c.GetSecret(ctx(t), mount+"/app/config"); s == nil || s.Data["db_host"] != "h3" {
		t.Errorf("after InvalidateCache: %v", s)
	}
}

// TestCacheStampede: 1000 goroutines ask for one secret on a cold cache; the
// real Vault sees exactly one read.
func TestCacheStampede(t *testing.T) {
	vault.Require(t)
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	vault.PutKV(t, mount, "hot", map[string]any{"k": "v"})
	rec := &counting{}
	c := newClient(t, vault.RootToken, gdsvault.WithTransport(rec), gdsvault.WithCache())
	if _, err := c.KV().List(ctx(t), mount); err != nil { // resolve the mount first: only data reads are counted below
		t.Fatal(err)
	}
	var ok atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 1000 {
		wg.Go(func() {
			<-start
			if s, err := c.GetSecret(ctx(t), mount+"/hot"); err == nil && s.Data["k"] == "v" {
				ok.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := rec.get("GET " + mount + "/data/hot"); n != 1 || ok.Load() != 1000 {
		t.Fatalf("%d requests reached Vault for 1000 concurrent reads (want 1); %d succeeded", n, ok.Load())
	}
}

// TestCacheRotationSchedule: a KV v2 secret whose custom metadata says it
// rotates every minute is not cached across the rotation (with the default
// 10-minute buffer it is not cached at all), while a yearly one is.
func TestCacheRotationSchedule(t *testing.T) {
	vault.Require(t)
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	for name, sched := range map[string]string{"often": "* * * * *", "yearly": "0 0 1 1 *"} {
		vault.PutKV(t, mount, name, map[string]any{"k": "v"})
		vault.Must(t, http.MethodPost, mount+"/metadata/"+name, map[string]any{"custom_metadata": map[string]string{
			"rotation_schedule": sched, "rotation_timezone": "Europe/Berlin"}})
	}
	rec := &counting{}
	c := newClient(t, vault.RootToken, gdsvault.WithTransport(rec), gdsvault.WithCache(secretcache.WithTTL(secretcache.DefaultTTL)))
	for range 3 {
		for _, name := range []string{"often", "yearly"} {
			if _, err := c.GetSecret(ctx(t), mount+"/"+name); err != nil {
				t.Fatal(err)
			}
		}
	}
	if o, y := rec.get("GET "+mount+"/data/often"), rec.get("GET "+mount+"/data/yearly"); o != 3 || y != 1 {
		t.Errorf("requests: rotating every minute %d (want 3), yearly %d (want 1)", o, y)
	}
}

// ReadTTL overrides the cache's TTL for one read: a 0 TTL always fetches.
func TestReadTTL(t *testing.T) {
	vault.Require(t)
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	vault.PutKV(t, mount, "x", map[string]any{"k": "v"})
	rec := &counting{}
	c := newClient(t, vault.RootToken, gdsvault.WithTransport(rec), gdsvault.WithCache())
	for range 3 {
		if _, err := c.GetSecret(ctx(t), mount+"/x", gdsvault.ReadTTL(0)); err != nil {
			t.Fatal(err)
		}
	}
	// What a ReadTTL(0) read fetched is stored with that TTL (never
	// fresh): the next default read fetches once, the one after hits.
	c.GetSecret(ctx(t), mount+"/x")
	c.GetSecret(ctx(t), mount+"/x")
	if n := rec.get("GET " + mount + "/data/x"); n != 4 {
		t.Errorf("%d requests for 3 reads with ReadTTL(0) and two default reads, want 4", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A KV write through the client also refreshes a generic Read of the API
// form from the cache.
func TestKVWriteInvalidatesGenericRead(t *testing.T) {
	vault.Require(t)
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	c := newClient(t, vault.RootToken, gdsvault.WithCache())
	if _, err := c.KV().Put(ctx(t), mount+"/app", map[string]any{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	if s, err := c.Read(ctx(t), mount+"/data/app"); err != nil || s.Data["data"].(map[string]any)["v"] != "1" {
		t.Fatalf("first read %v %v", s, err)
	}
	if _, err := c.KV().Put(ctx(t), mount+"/app", map[string]any{"v": "2"}); err != nil {
		t.Fatal(err)
	}
	if s, err := c.Read(ctx(t), mount+"/data/app"); err != nil || s.Data["data"].(map[string]any)["v"] != "2" {
		t.Fatalf("read after the write: %v %v (served from the cache)", s.Data, err)
	}
}

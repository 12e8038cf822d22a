package gdsvault_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/approle"
	"github.com/gdsvault/gdsvault/retry"
	"github.com/gdsvault/gdsvault/vaulttest"
)

// tally counts the outcome of reads.
type tally struct {
	reads, failed, stale atomic.Int64
	mu                   sync.Mutex
	failLatency          []time.Duration
	kinds                map[string]int
	lastFresh            atomic.Int64 // unix nanos of the last fresh (not stale) success
	firstErr             error
}

func (t *tally) record(s *gdsvault.KVSecret, err error, took time.Duration) {
	t.reads.Add(1)
	switch {
	case err != nil:
		t.failed.Add(1)
		t.mu.Lock()
		if t.firstErr == nil {
			t.firstErr = err
		}
		t.failLatency = append(t.failLatency, took)
		if t.kinds == nil {
			t.kinds = map[string]int{}
		}
		for _, k := range []error{gdsvault.ErrCircuitOpen, gdsvault.ErrSealed, gdsvault.ErrRateLimited, gdsvault.ErrUnavailable, gdsvault.ErrConnection, gdsvault.ErrInvalidToken} {
			if errors.Is(err, k) {
				t.kinds[k.Error()]++
				break
			}
		}
		t.mu.Unlock()
	case s.Stale:
		t.stale.Add(1)
	default:
		t.lastFresh.Store(time.Now().UnixNano())
	}
}

func (t *tally) p50Fail() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.failLatency) == 0 {
		return 0
	}
	s := slices.Clone(t.failLatency)
	slices.Sort(s)
	return s[len(s)/2]
}

// readers runs n goroutines that read path every interval until stop is
// closed (and at most maxReads each).
func readers(c *gdsvault.Client, path string, n int, interval time.Duration, maxReads int, stop <-chan struct{}, t *tally) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for i := 0; i < maxReads; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				start := time.Now()
				s, err := c.GetSecret(ctx, path)
				cancel()
				t.record(s, err, time.Since(start))
				time.Sleep(interval) // pacing the load generator, not waiting for logic
			}
		})
	}
	return &wg
}

// TestFaultsThroughProxy puts each network fault between 32 readers and the
// real Vault, once with the stale cache and once without, and reports the
// figures.
func TestFaultsThroughProxy(t *testing.T) {
	vault.Require(t)
	if testing.Short() {
		t.Skip("fault figures")
	}
	vault.PutKV(t, "secret", "faults/config", map[string]any{"db_host": "postgres.example.com"})
	path := "secret/data/faults/config"
	onlyData := func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/faults/config") }
	for _, tc := range []struct {
		name  string
		fault vaulttest.Fault
		opts  []gdsvault.Option
	}{
		{"latency 200ms", vaulttest.Fault{Latency: 200 * time.Millisecond, Only: onlyData}, nil},
		{"connection reset x40", vaulttest.Fault{Reset: true, Count: 40, Only: onlyData}, nil},
		{"truncated body x40", vaulttest.Fault{Truncate: true, Count: 40, Only: onlyData}, nil},
		{"HTML 502 from a load balancer x40", vaulttest.Fault{HTML502: true, Count: 40, Only: onlyData}, nil},
		{"429 Retry-After 1s x40", vaulttest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second, Count: 40,
			Errors: []string{"rate limit quota exceeded"}, Only: onlyData}, nil},
		{"blackhole 2s", vaulttest.Fault{Blackhole: true, Only: onlyData}, []gdsvault.Option{gdsvault.WithTimeout(300 * time.Millisecond),
			gdsvault.WithCircuitBreaker(retry.BreakerConfig{Failures: 5, Cooldown: time.Second, Successes: 2})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := vaulttest.NewProxy(t, vault.Addr)
			withStale := quietClient(t, p.Addr, vault.RootToken, append([]gdsvault.Option{staleCache()}, tc.opts...)...)
			plain := quietClient(t, p.Addr, vault.RootToken, tc.opts...)
			for _, c := range []*gdsvault.Client{withStale, plain} { // warm: mount lookup, first value
				if _, err := c.GetSecret(ctx(t), path); err != nil {
					t.Fatal(err)
				}
			}
			p.Set(tc.fault)
			var a, b tally
			stop := make(chan struct{})
			wa := readers(withStale, path, 16, 20*time.Millisecond, 1000, stop, &a)
			wb := readers(plain, path, 16, 20*time.Millisecond, 1000, stop, &b)
			time.Sleep(2 * time.Second) // the fault's window
			p.Set(vaulttest.Fault{})
			time.Sleep(500 * time.Millisecond) // and a little after
			close(stop)
			wa.Wait()
			wb.Wait()
			t.Logf("FIGURE %s, 32 readers for 2.5 s: with stale fallback %d reads, %d failed, %d stale; without %d reads, %d failed %v (p50 of a failure %v); proxy %+v",
				tc.name, a.reads.Load(), a.failed.Load(), a.stale.Load(), b.reads.Load(), b.failed.Load(), b.kinds, b.p50Fail().Round(time.Millisecond), p.Stats().Faults)
			if a.failed.Load() != 0 {
				t.Errorf("%d reads failed with stale fallback on", a.failed.Load())
			}
			if a.reads.Load() < 100 {
				t.Errorf("only %d reads", a.reads.Load())
			}
		})
	}
}

// TestSealedUnderLoad: Vault sealed for 10 s under 32 readers.
func TestSealedUnderLoad(t *testing.T) {
	vault.Require(t)
	if testing.Short() {
		t.Skip("fault figures")
	}
	t.Parallel()
	s := vaulttest.Start(t, vaulttest.Options{})
	s.PutKV(t, "secret", "myapp/config", map[string]any{"db_host": "postgres.example.com"})
	path := "secret/data/myapp/config"
	withStale := quietClient(t, s.Addr, s.RootToken, staleCache(), gdsvault.WithCircuitBreaker(retry.BreakerConfig{Failures: 5, Cooldown: 2 * time.Second, Successes: 2}))
	plain := quietClient(t, s.Addr, s.RootToken)
	for _, c := range []*gdsvault.Client{withStale, plain} {
		if _, err := c.GetSecret(ctx(t), path); err != nil {
			t.Fatal(err)
		}
	}
	var a, b tally
	stop := make(chan struct{})
	wa := readers(withStale, path, 16, 20*time.Millisecond, 5000, stop, &a)
	wb := readers(plain, path, 16, 20*time.Millisecond, 5000, stop, &b)
	time.Sleep(time.Second)
	s.Seal(t)
	time.Sleep(10 * time.Second) // sealed for 10 s
	s.Unseal(t)
	unsealed := time.Now()
	// Fresh reads again: poll with a deadline.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && time.Unix(0, a.lastFresh.Load()).Before(unsealed) {
		time.Sleep(50 * time.Millisecond)
	}
	freshAfter := time.Unix(0, a.lastFresh.Load()).Sub(unsealed)
	close(stop)
	wa.Wait()
	wb.Wait()
	t.Logf("FIGURE sealed 10 s under 32 readers: with stale fallback %d reads, %d failed, %d stale, fresh again %v after unseal; without: %d reads, %d failed %v, p50 of a failure %v",
		a.reads.Load(), a.failed.Load(), a.stale.Load(), freshAfter.Round(10*time.Millisecond), b.reads.Load(), b.failed.Load(), b.kinds, b.p50Fail().Round(time.Millisecond))
	if a.failed.Load() != 0 || a.stale.Load() == 0 {
		t.Errorf("with stale fallback: %d failed, %d stale", a.failed.Load(), a.stale.Load())
	}
	if b.failed.Load() == 0 || b.kinds[gdsvault.ErrSealed.Error()] == 0 {
		t.Errorf("without stale fallback no ErrSealed was seen: %v", b.kinds)
	}
	if freshAfter <= 0 || freshAfter > 10*time.Second {
		t.Errorf("not fresh again after unseal (%v)", freshAfter)
	}
}

// TestKilledAndRestarted: the Vault process killed and restarted on its
// persistent storage (5 s down, longer than the client's 3 s token TTL):
// readers with stale fallback see no failure, and the client logs in again
// by itself.
func TestKilledAndRestarted(t *testing.T) {
	vault.Require(t)
	if testing.Short() {
		t.Skip("fault figures")
	}
	t.Parallel()
	s := vaulttest.StartPersistent(t, vaulttest.PersistentOptions{})
	s.PutKV(t, "secret", "myapp/config", map[string]any{"db_host": "postgres.example.com"})
	s.WritePolicy(t, "myapp-policy", `path "secret/data/myapp/*" { capabilities = ["read"] }`)
	s.EnableAuth(t, "approle", "approle")
	s.CreateAppRole(t, "approle", "myapp", map[string]any{"token_policies": "myapp-policy", "token_ttl": "3s", "token_max_ttl": "1h"})
	m, err := approle.New(gdsvault.CredentialValue(s.RoleID(t, "approle", "myapp")), gdsvault.CredentialValue(s.SecretID(t, "approle", "myapp")))
	if err != nil {
		t.Fatal(err)
	}
	var logins atomic.Int64
	withStale := quietClient(t, s.Addr, "", gdsvault.WithAuth(m), staleCache(),
		gdsvault.WithEvents(func(e gdsvault.Event) {
			if e.Kind == gdsvault.EventLogin {
				logins.Add(1)
			}
		}))
	plain := quietClient(t, s.Addr, s.RootToken)
	path := "secret/data/myapp/config"
	for _, c := range []*gdsvault.Client{withStale, plain} {
		if _, err := c.GetSecret(ctx(t), path); err != nil {
			t.Fatal(err)
		}
	}
	var a, b tally
	stop := make(chan struct{})
	wa := readers(withStale, path, 8, 20*time.Millisecond, 5000, stop, &a)
	wb := readers(plain, path, 8, 20*time.Millisecond, 5000, stop, &b)
	time.Sleep(time.Second)
	s.Kill()
	time.Sleep(5 * time.Second) // down for 5 s
	s.Restart(t)
	restarted := time.Now()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && time.Unix(0, a.lastFresh.Load()).Before(restarted) {
		time.Sleep(50 * time.Millisecond)
	}
	freshAfter := time.Unix(0, a.lastFresh.Load()).Sub(restarted)
	close(stop)
	wa.Wait()
	wb.Wait()
	t.Logf("FIGURE Vault killed, down 5 s, restarted (token TTL 3 s): with stale fallback %d reads, %d failed, %d stale, %d logins, fresh again %v after restart; without: %d reads, %d failed %v",
		a.reads.Load(), a.failed.Load(), a.stale.Load(), logins.Load(), freshAfter.Round(10*time.Millisecond), b.reads.Load(), b.failed.Load(), b.kinds)
	if a.failed.Load() != 0 {
		t.Errorf("with stale fallback: %d failed %v; first: %v", a.failed.Load(), a.kinds, a.firstErr)
	}
	if logins.Load() < 2 {
		t.Errorf("logins %d: the client did not log in again after its token expired during the outage", logins.Load())
	}
	if freshAfter <= 0 {
		t.Errorf("never fresh again after the restart")
	}
}

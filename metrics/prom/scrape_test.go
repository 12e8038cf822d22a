package prom_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/internal/observetest"
	"github.com/gdsvault/gdsvault/metrics/prom"
	"github.com/gdsvault/gdsvault/retry"
	"github.com/gdsvault/gdsvault/vaulttest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestScrapeAfterScriptedRun drives two clients observed by one collector
// against a real Vault — cached and uncached reads, a policy denial, a
// missing secret, a seal that opens the circuit breaker (with retries and a
// stale answer), an AppRole login with a wrapped secret ID, renewals of a
// 4-second token, a close that revokes it — then scrapes the collector and
// checks every series it exposes, and scans labels and the text exposition
// for tokens, accessors, secret values and the wrapping token.
func TestScrapeAfterScriptedRun(t *testing.T) {
	const secretValue = "pr0m-s3cret-value-never-a-label"
	lab := observetest.NewLab(t, secretValue) // its own Vault: the test seals it
	srv, limited, roleID, wrapped := lab.Server, lab.Limited, lab.RoleID, lab.Wrapped

	col, err := prom.NewCollector(prom.WithClientName("scripted"))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(col)
	quiet := gdsvault.WithLogger(slog.New(slog.DiscardHandler))

	var mu sync.Mutex
	var transitions []string
	reads, err := gdsvault.New(gdsvault.WithAddress(srv.Addr), gdsvault.WithToken(limited), quiet, gdsvault.WithCache(),
		gdsvault.WithRetry(retry.Policy{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond}),
		gdsvault.WithCircuitBreaker(retry.BreakerConfig{Failures: 1, Cooldown: 200 * time.Millisecond, Successes: 1,
			OnChange: func(from, to retry.State) {
				mu.Lock()
				transitions = append(transitions, from.String()+">"+to.String())
				mu.Unlock()
			}}),
		gdsvault.WithObserver(col))
	if err != nil {
		t.Fatal(err)
	}
	defer reads.Close(context.Background())
	ctx := vaulttest.Context(t)

	// Reads: a fetch, then a hit.
	for range 2 {
		if s, err := reads.GetSecret(ctx, "secret/data/app/config"); err != nil || s.Data["password"] != secretValue {
			t.Fatalf("read: %v", err)
		}
	}
	// A denial and a missing secret.
	if _, err := reads.GetSecret(ctx, "secret/data/other/config"); !errors.Is(err, gdsvault.ErrPermissionDenied) {
		t.Fatalf("read outside the policy: %v, want permission denied", err)
	}
	if _, err := reads.GetSecret(ctx, "secret/data/app/missing"); !errors.Is(err, gdsvault.ErrNotFound) {
		t.Fatalf("missing secret: %v, want not found", err)
	}

	// A seal: three attempts (two retries) answered 503, the breaker opens,
	// the cached value is served stale; the next read is refused by the
	// open breaker without reaching Vault.
	srv.Seal(t)
	s, err := reads.GetSecret(ctx, "secret/data/app/config", gdsvault.NoCache())
	if err != nil || !s.Stale {
		t.Fatalf("read while sealed: %v (stale %v), want the stale value", err, s != nil && s.Stale)
	}
	if _, err := reads.GetSecret(ctx, "secret/data/app/missing"); !errors.Is(err, gdsvault.ErrCircuitOpen) {
		t.Fatalf("read with the breaker open: %v, want circuit open", err)
	}
	during := series(t, reg)
	if during["gdsvault_breaker_state{state=open}"] != 1 || during["gdsvault_breaker_state{state=closed}"] != 0 {
		t.Errorf("breaker gauge while open: %v", filter(during, "gdsvault_breaker_state"))
	}
	srv.Unseal(t)
	srv.WaitActive(t)
	time.Sleep(300 * time.Millisecond) // past the breaker's 200 ms cool-down: the next read is its probe
	if s, err := reads.GetSecret(ctx, "secret/data/app/config", gdsvault.NoCache()); err != nil || s.Stale {
		t.Fatalf("read after unseal: %v", err)
	}

	// A login with a wrapped secret ID, renewals of a 4 s token, a close
	// that revokes it.
	method := lab.Login(t)
	events := map[string]int{}
	renewed := make(chan struct{}, 16)
	authed, err := gdsvault.New(gdsvault.WithAddress(srv.Addr), gdsvault.WithAuth(method), quiet, gdsvault.WithObserver(col),
		gdsvault.WithEvents(func(ev gdsvault.Event) {
			mu.Lock()
			events[ev.Kind.String()]++
			mu.Unlock()
			if ev.Kind == gdsvault.EventRenewed {
				select {
				case renewed <- struct{}{}:
				default:
				}
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	if err := authed.Authenticate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := authed.GetSecret(ctx, "secret/data/app/config"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		select {
		case <-renewed:
		case <-ctx.Done():
			t.Fatalf("renewal %d did not come", i+1)
		}
	}
	during = series(t, reg)
	if ttl, ok := during["gdsvault_token_ttl_seconds{}"]; !ok || ttl <= 0 || ttl > 4 {
		t.Errorf("token TTL gauge %v (exposed %v), want in (0, 4] s", ttl, ok)
	}
	if err := authed.Close(ctx); err != nil {
		t.Fatal(err)
	}

	got := series(t, reg)
	mu.Lock()
	ev := events
	tr := strings.Join(transitions, ",")
	mu.Unlock()
	if tr != "closed>open,open>half-open,half-open>closed" {
		t.Errorf("breaker transitions %s", tr)
	}
	// What the lifecycle did on its own clock: renewals (each a renew-self
	// exchange and a renewal operation), and any re-login a slow machine
	// made necessary.
	renewals, logins := ev["renewed"], ev["login"]
	if renewals < 2 || logins < 1 || ev["closed"] != 1 || len(ev) != 3 {
		t.Errorf("token events %v, want logins, at least 2 renewals, 1 close", ev)
	}
	want := map[string]float64{
		"gdsvault_request_duration_seconds_count{method=GET,mount=sys,status_class=2xx}":           2, // a mount lookup per client
		"gdsvault_request_duration_seconds_count{method=GET,mount=secret,status_class=2xx}":        3, // fetch, probe, authed's read
		"gdsvault_request_duration_seconds_count{method=GET,mount=secret,status_class=4xx}":        2, // denial, missing
		"gdsvault_request_duration_seconds_count{method=POST,mount=sys,status_class=2xx}":          3, // capabilities after the denial, wrapping lookup, unwrap
		"gdsvault_request_duration_seconds_count{method=GET,mount=secret,status_class=5xx}":        3, // sealed, three attempts
		"gdsvault_request_duration_seconds_count{method=POST,mount=auth/approle,status_class=2xx}": float64(logins),
		"gdsvault_request_duration_seconds_count{method=GET,mount=auth/token,status_class=2xx}":    1,                     // lookup-self after the denial
		"gdsvault_request_duration_seconds_count{method=POST,mount=auth/token,status_class=2xx}":   float64(renewals + 1), // renew-self, revoke-self at close
		"gdsvault_request_errors_total{kind=permission_denied,method=GET,mount=secret}":            1,
		"gdsvault_request_errors_total{kind=not_found,method=GET,mount=secret}":                    1,
		"gdsvault_request_errors_total{kind=sealed,method=GET,mount=secret}":                       3,
		"gdsvault_retries_total{reason=sealed}":                                                    2,
		"gdsvault_breaker_transitions_total{from=closed,to=open}":                                  1,
		"gdsvault_breaker_transitions_total{from=open,to=half-open}":                               1,
		"gdsvault_breaker_transitions_total{from=half-open,to=closed}":                             1,
		"gdsvault_breaker_state{state=closed}":                                                     1,
		"gdsvault_breaker_state{state=open}":                                                       0,
		"gdsvault_breaker_state{state=half-open}":                                                  0,
		"gdsvault_cache_hits_total{cache=kv}":                                                      1,
		"gdsvault_cache_misses_total{cache=kv}":                                                    6, // fetch, denial, missing, sealed (stale), probe, authed's read
		"gdsvault_cache_stale_total{cache=kv}":                                                     1,
		"gdsvault_cache_fetches_total{cache=kv}":                                                   6, // the circuit-open read's fetch made no exchange
		"gdsvault_cache_fetch_errors_total{cache=kv}":                                              4, // denial, missing, sealed, circuit open
		"gdsvault_cache_evictions_total{cache=kv}":                                                 0,
		"gdsvault_cache_shared_total{cache=kv}":                                                    0,
		"gdsvault_cache_entries{cache=kv}":                                                         1,
		"gdsvault_token_events_total{event=login}":                                                 float64(logins),
		"gdsvault_token_events_total{event=renewed}":                                               float64(renewals),
		"gdsvault_token_events_total{event=closed}":                                                1,
		"gdsvault_auth_operations_total{method=approle,operation=login,result=success}":            float64(logins),
		"gdsvault_auth_operations_total{method=approle,operation=renewal,result=success}":          float64(renewals),
		"gdsvault_auth_operation_duration_seconds_count{method=approle,operation=login}":           float64(logins),
		"gdsvault_auth_operation_duration_seconds_count{method=approle,operation=renewal}":         float64(renewals),
		"gdsvault_node_changes_total{}":                                                            0,
		"gdsvault_node_current{node=" + srv.Addr + "}":                                             2, // both clients
		"gdsvault_node_up{node=" + srv.Addr + "}":                                                  2,
		"gdsvault_clients{}": 2,
	}
	for _, m := range []string{"hits", "misses", "stale", "evictions", "fetches", "fetch_errors", "shared"} {
		want["gdsvault_cache_"+m+"_total{cache=read}"] = 0
	}
	want["gdsvault_cache_entries{cache=read}"] = 0
	compareSeries(t, got, want)
	if t.Failed() {
		t.Logf("exchanges seen:\n%s", strings.Join(keys(filter(got, "gdsvault_request_duration")), "\n"))
	}

	// The leak scan: label values and the full text exposition.
	secrets := append([]string{srv.RootToken, limited, roleID, wrapped, secretValue}, method.Issued()...)
	if len(method.Issued()) != 2 {
		t.Fatalf("the login recorded %d secrets, want a token and an accessor", len(method.Issued()))
	}
	for _, lv := range labelValues(t, reg) {
		vaulttest.AssertNoSecret(t, "a label", lv, secrets...)
	}
	text := exposition(t, reg)
	vaulttest.AssertNoSecret(t, "the /metrics text", text, secrets...)
	if !strings.Contains(text, `gdsvault_request_duration_seconds_bucket{client="scripted",method="GET",mount="secret",status_class="2xx",le="0.5"}`) {
		t.Errorf("the exposition lacks a request histogram bucket:\n%s", text)
	}
	if n := testutil.CollectAndCount(col); n != len(got) {
		t.Errorf("CollectAndCount = %d, gathered %d series", n, len(got))
	}
}

// exposition is what promhttp serves for g.
func exposition(t *testing.T, g prometheus.Gatherer) string {
	t.Helper()
	ts := httptest.NewServer(promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	defer ts.Close()
	resp, err := http.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func keys(m map[string]float64) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, fmt.Sprintf("%s %v", k, m[k]))
	}
	return out
}

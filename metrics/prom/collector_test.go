package prom_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/metrics/prom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newCollector(t testing.TB, opts ...prom.Option) *prom.Collector {
	t.Helper()
	c, err := prom.NewCollector(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewCollectorRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  prom.Option
	}{
		{"max mounts 0", prom.WithMaxMounts(0)},
		{"no buckets", prom.WithBuckets()},
		{"buckets not increasing", prom.WithBuckets(1, 1)},
		{"negative bucket", prom.WithBuckets(-1, 1)},
		{"empty client name", prom.WithClientName("")},
		{"client name not UTF-8", prom.WithClientName("\xff")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := prom.NewCollector(tc.opt)
			var ce *gdsvault.ConfigError
			if c != nil || !errors.As(err, &ce) || !errors.Is(err, gdsvault.ErrConfig) {
				t.Fatalf("NewCollector = %v, %v; want a *gdsvault.ConfigError", c, err)
			}
		})
	}
	_, err := prom.NewCollector(prom.WithMaxMounts(-1), prom.WithBuckets())
	if err == nil || !strings.Contains(err.Error(), "max mounts") || !strings.Contains(err.Error(), "buckets") {
		t.Errorf("two bad options: %v, want both named", err)
	}
}

// TestMetricsFollowPrometheusConventions lints names, units and help texts.
func TestMetricsFollowPrometheusConventions(t *testing.T) {
	col := newCollector(t)
	exercise(col)
	problems, err := testutil.CollectAndLint(col)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(col); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("a pedantic registry refuses what the collector sends: %v", err)
	}
}

// exercise feeds every hook once, without a client.
func exercise(col *prom.Collector) {
	_, done := col.StartRequest(context.Background(), gdsvault.RequestInfo{Method: "GET", Mount: "secret", Template: "secret/data/*", Attempt: 1})
	done(gdsvault.RequestOutcome{Status: 404, Err: gdsvault.ErrNotFound, Duration: time.Millisecond})
	_, end := col.StartOperation(context.Background(), gdsvault.OperationInfo{Kind: "login", Method: "approle"})
	end(nil)
	for _, n := range []gdsvault.Notice{
		{Kind: gdsvault.NoticeRetry, Reason: "sealed"},
		{Kind: gdsvault.NoticeBreaker, From: "closed", To: "open"},
		{Kind: gdsvault.NoticeToken, Event: &gdsvault.Event{Kind: gdsvault.EventLogin, Time: time.Now(), TTL: time.Hour}},
		{Kind: gdsvault.NoticeLease, Reason: "rotated"},
		{Kind: gdsvault.NoticeNode, From: "a", To: "b"},
	} {
		col.Notice(n)
	}
}

// TestNoticesAndOperations drives every hook by hand and compares the whole
// exposition (but the histogram buckets) with what they should give.
func TestNoticesAndOperations(t *testing.T) {
	col := newCollector(t)
	ctx := context.Background()
	for _, r := range []struct {
		method, mount string
		status        int
		err           error
	}{
		{"GET", "secret", 200, nil},
		{"GET", "secret", 200, nil},
		{"GET", "secret", 403, gdsvault.ErrPermissionDenied},
		{"LIST", "secret", 404, gdsvault.ErrNotFound},
		{"BREW", "secret", 405, errors.New("teapot")},
		{"POST", "auth/approle", 0, gdsvault.ErrConnection},
	} {
		_, done := col.StartRequest(ctx, gdsvault.RequestInfo{Method: r.method, Mount: r.mount, Attempt: 1, Node: "https://vault-a:8200"})
		done(gdsvault.RequestOutcome{Status: r.status, Err: r.err, Duration: 3 * time.Millisecond})
	}
	for _, op := range []struct {
		kind, method string
		err          error
	}{
		{"login", "approle", nil},
		{"login", "approle", fmt.Errorf("login: %w", gdsvault.ErrAuthFailed)},
		{"renewal", "", nil},
		{"renewal", "", gdsvault.ErrSealed},
	} {
		_, end := col.StartOperation(ctx, gdsvault.OperationInfo{Kind: op.kind, Method: op.method, Reason: "no valid token"})
		end(op.err)
	}
	now := time.Now()
	for _, n := range []gdsvault.Notice{
		{Kind: gdsvault.NoticeRetry, Reason: "sealed", Template: "secret/data/*"},
		{Kind: gdsvault.NoticeRetry, Reason: "sealed"},
		{Kind: gdsvault.NoticeRetry, Reason: "connection"},
		{Kind: gdsvault.NoticeBreaker, From: "closed", To: "open"},
		{Kind: gdsvault.NoticeBreaker, From: "open", To: "half-open"},
		{Kind: gdsvault.NoticeToken, Event: &gdsvault.Event{Kind: gdsvault.EventLogin, Time: now, TTL: time.Hour}},
		{Kind: gdsvault.NoticeToken, Event: &gdsvault.Event{Kind: gdsvault.EventRenewFailed, Time: now, Err: gdsvault.ErrSealed}},
		{Kind: gdsvault.NoticeToken}, // no event: ignored
		{Kind: gdsvault.NoticeLease, Reason: "renewed"},
		{Kind: gdsvault.NoticeLease, Reason: "renewed"},
		{Kind: gdsvault.NoticeLease, Reason: "rotated"},
		{Kind: gdsvault.NoticeLease, Reason: "something new"},
		{Kind: gdsvault.NoticeNode, From: "https://vault-a:8200", To: "https://vault-b:8200", Reason: "standby"},
	} {
		col.Notice(n)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(col)
	got := series(t, reg)
	ttl := got["gdsvault_token_ttl_seconds{}"]
	if ttl <= 3500 || ttl > 3600 {
		t.Errorf("token TTL %v s, want about an hour", ttl)
	}
	delete(got, "gdsvault_token_ttl_seconds{}")
	want := map[string]float64{
		"gdsvault_request_duration_seconds_count{method=GET,mount=secret,status_class=2xx}":         2,
		"gdsvault_request_duration_seconds_count{method=GET,mount=secret,status_class=4xx}":         1,
		"gdsvault_request_duration_seconds_count{method=LIST,mount=secret,status_class=4xx}":        1,
		"gdsvault_request_duration_seconds_count{method=other,mount=secret,status_class=4xx}":       1,
		"gdsvault_request_duration_seconds_count{method=POST,mount=auth/approle,status_class=none}": 1,
		"gdsvault_request_errors_total{kind=permission_denied,method=GET,mount=secret}":             1,
		"gdsvault_request_errors_total{kind=not_found,method=LIST,mount=secret}":                    1,
		"gdsvault_request_errors_total{kind=other,method=other,mount=secret}":                       1,
		"gdsvault_request_errors_total{kind=connection,method=POST,mount=auth/approle}":             1,
		"gdsvault_auth_operations_total{method=approle,operation=login,result=success}":             1,
		"gdsvault_auth_operations_total{method=approle,operation=login,result=auth_failed}":         1,
		"gdsvault_auth_operations_total{method=unknown,operation=renewal,result=success}":           1,
		"gdsvault_auth_operations_total{method=unknown,operation=renewal,result=sealed}":            1,
		"gdsvault_auth_operation_duration_seconds_count{method=approle,operation=login}":            2,
		"gdsvault_auth_operation_duration_seconds_count{method=unknown,operation=renewal}":          2,
		"gdsvault_retries_total{reason=sealed}":                                                     2,
		"gdsvault_retries_total{reason=connection}":                                                 1,
		"gdsvault_breaker_transitions_total{from=closed,to=open}":                                   1,
		"gdsvault_breaker_transitions_total{from=open,to=half-open}":                                1,
		"gdsvault_breaker_state{state=closed}":                                                      0,
		"gdsvault_breaker_state{state=open}":                                                        0,
		"gdsvault_breaker_state{state=half-open}":                                                   1,
		"gdsvault_token_events_total{event=login}":                                                  1,
		"gdsvault_token_events_total{event=renewal_failed}":                                         1,
		"gdsvault_lease_events_total{event=renewed}":                                                2,
		"gdsvault_lease_events_total{event=rotated}":                                                1,
		"gdsvault_lease_events_total{event=other}":                                                  1,
		"gdsvault_node_changes_total{}":                                                             1,
		"gdsvault_clients{}":                                                                        0,
	}
	for _, cache := range []string{"kv", "read"} {
		for _, m := range []string{"hits", "misses", "stale", "evictions", "fetches", "fetch_errors", "shared"} {
			want["gdsvault_cache_"+m+"_total{cache="+cache+"}"] = 0
		}
		want["gdsvault_cache_entries{cache="+cache+"}"] = 0
	}
	compareSeries(t, got, want)

	// Expiry and revocation leave 0 s; close removes the gauge.
	col.Notice(gdsvault.Notice{Kind: gdsvault.NoticeToken, Event: &gdsvault.Event{Kind: gdsvault.EventRevoked, Time: time.Now()}})
	if v := series(t, reg)["gdsvault_token_ttl_seconds{}"]; v != 0 {
		t.Errorf("token TTL after revocation %v, want 0", v)
	}
	col.Notice(gdsvault.Notice{Kind: gdsvault.NoticeToken, Event: &gdsvault.Event{Kind: gdsvault.EventClosed, Time: time.Now()}})
	if _, ok := series(t, reg)["gdsvault_token_ttl_seconds{}"]; ok {
		t.Errorf("token TTL still exposed after close")
	}
}

// compareSeries reports every series missing, unexpected or different.
func compareSeries(t *testing.T, got, want map[string]float64) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("missing %s (want %v)", k, want[k])
		case g != want[k]:
			t.Errorf("%s = %v, want %v", k, g, want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s = %v", k, got[k])
		}
	}
}

func filter(m map[string]float64, prefix string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

// TestMountLabelIsBounded: past the bound, new mounts are "other"; mounts
// already seen keep their name; a value that is not UTF-8 or is very long
// never becomes a label.
func TestMountLabelIsBounded(t *testing.T) {
	col := newCollector(t, prom.WithMaxMounts(3))
	ctx := context.Background()
	req := func(mount string) {
		_, done := col.StartRequest(ctx, gdsvault.RequestInfo{Method: "GET", Mount: mount})
		done(gdsvault.RequestOutcome{Status: 200})
	}
	for _, m := range []string{"secret", "kv", "\xff\xfe", strings.Repeat("x", 1000), "db", "fourth", "fifth", "secret"} {
		req(m)
	}
	got := filter(series(t, wrap(col)), "gdsvault_request_duration_seconds_count")
	want := map[string]float64{
		"gdsvault_request_duration_seconds_count{method=GET,mount=secret,status_class=2xx}": 2,
		"gdsvault_request_duration_seconds_count{method=GET,mount=kv,status_class=2xx}":     1,
		"gdsvault_request_duration_seconds_count{method=GET,mount=db,status_class=2xx}":     1,
		"gdsvault_request_duration_seconds_count{method=GET,mount=other,status_class=2xx}":  4,
	}
	compareSeries(t, got, want)
}

func wrap(c prometheus.Collector) prometheus.Gatherer {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	return reg
}

// TestSeveralNamedCollectorsInOneRegistry: one collector per client, told
// apart by the client label.
func TestSeveralNamedCollectorsInOneRegistry(t *testing.T) {
	a, b := newCollector(t, prom.WithClientName("payments")), newCollector(t, prom.WithClientName("billing"))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(a, b)
	a.Notice(gdsvault.Notice{Kind: gdsvault.NoticeRetry, Reason: "sealed"})
	const want = `
# HELP gdsvault_retries_total Requests retried, by the error kind of the failed attempt.
# TYPE gdsvault_retries_total counter
gdsvault_retries_total{client="payments",reason="sealed"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "gdsvault_retries_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(b, "gdsvault_clients"); n != 1 {
		t.Errorf("billing exposes %d gdsvault_clients series", n)
	}
	// A second collector with the same name clashes.
	if err := reg.Register(newCollector(t, prom.WithClientName("payments"))); err == nil {
		t.Error("a second collector named payments was accepted")
	}
}

// TestCollectorIsSafeForConcurrentUse runs every hook and scrapes at once
// (meaningful with -race).
func TestCollectorIsSafeForConcurrentUse(t *testing.T) {
	col := newCollector(t)
	reg := wrap(col)
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 200 {
				exercise(col)
				_, end := col.StartRequest(context.Background(), gdsvault.RequestInfo{Method: "GET", Mount: fmt.Sprintf("m%d-%d", g, i)})
				end(gdsvault.RequestOutcome{Status: 200})
				if i%50 == 0 {
					_, _ = reg.Gather()
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
	if n := testutil.CollectAndCount(col, "gdsvault_request_duration_seconds"); n > prom.DefaultMaxMounts+1 {
		t.Errorf("%d request series for 800 mounts, want at most %d", n, prom.DefaultMaxMounts+1)
	}
}

package gdsvault

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gdsvault/gdsvault/retry"
)

// recordingObserver keeps everything it is told.
type recordingObserver struct {
	mu       sync.Mutex
	attached int
	requests []RequestInfo
	outcomes []RequestOutcome
	ops      []OperationInfo
	opErrs   []error
	notices  []Notice
}

type ctxKey struct{}

func (o *recordingObserver) Attach(*Client) { o.mu.Lock(); o.attached++; o.mu.Unlock() }
func (o *recordingObserver) StartRequest(ctx context.Context, r RequestInfo) (context.Context, func(RequestOutcome)) {
	o.mu.Lock()
	o.requests = append(o.requests, r)
	o.mu.Unlock()
	return ctx, func(out RequestOutcome) { o.mu.Lock(); o.outcomes = append(o.outcomes, out); o.mu.Unlock() }
}
func (o *recordingObserver) StartOperation(ctx context.Context, op OperationInfo) (context.Context, func(error)) {
	o.mu.Lock()
	o.ops = append(o.ops, op)
	o.mu.Unlock()
	return context.WithValue(ctx, ctxKey{}, op.Kind), func(err error) { o.mu.Lock(); o.opErrs = append(o.opErrs, err); o.mu.Unlock() }
}
func (o *recordingObserver) Notice(n Notice) {
	o.mu.Lock()
	o.notices = append(o.notices, n)
	o.mu.Unlock()
}

func (o *recordingObserver) templates() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := map[string]int{}
	for _, r := range o.requests {
		m[r.Method+" "+r.Template]++
	}
	return m
}

func TestTemplate(t *testing.T) {
	c, _ := New()
	c.shared.mounts.store("", mountInfo{path: "kv1", typ: "kv", version: 1})
	c.shared.mounts.store("", mountInfo{path: "team/kv", typ: "kv", version: 2})
	for in, want := range map[string][2]string{
		"secret/data/myapp/config":          {"secret", "secret/data/*"},
		"secret/metadata/a":                 {"secret", "secret/metadata/*"},
		"team/kv/data/x/y":                  {"team/kv", "team/kv/data/*"},
		"kv1/anything/goes":                 {"kv1", "kv1/*"},
		"database/creds/app":                {"database", "database/creds/*"},
		"transit/encrypt/my-key":            {"transit", "transit/encrypt/*"},
		"sys/health":                        {"sys", "sys/health"},
		"sys/internal/ui/mounts/secret/x/y": {"sys", "sys/internal/ui/mounts/*"},
		"sys/policies/acl/mine":             {"sys", "sys/policies/acl/*"},
		"sys/wrapping/unwrap":               {"sys", "sys/wrapping/unwrap"},
		"auth/token/renew-self":             {"auth/token", "auth/token/renew-self"},
		"auth/token/lookup-self":            {"auth/token", "auth/token/lookup-self"},
		"auth/approle/login":                {"auth/approle", "auth/approle/login"},
		"auth/team/approle/login":           {"auth/team/approle", "auth/team/approle/login"},
		"auth/userpass/login/alice":         {"auth/userpass", "auth/userpass/login/*"},
		"auth/approle/role/myapp/secret-id": {"auth/approle", "auth/approle/role/*"},
		"mystery":                           {"mystery", "mystery"},
	} {
		m, tmpl := c.template(in)
		if m != want[0] || tmpl != want[1] {
			t.Errorf("template(%q) = %q, %q; want %q, %q", in, m, tmpl, want[0], want[1])
		}
	}
	// 10,000 distinct secrets of one mount: one template.
	seen := map[string]bool{}
	for i := range 10000 {
		_, tmpl := c.template(fmt.Sprintf("secret/data/app-%d/config", i))
		seen[tmpl] = true
		_, tmpl = c.template(fmt.Sprintf("kv1/app-%d", i))
		seen[tmpl] = true
	}
	if len(seen) != 2 {
		t.Errorf("10,000 paths gave %d templates", len(seen))
	}
}

func TestErrorKind(t *testing.T) {
	re := func(status int, msgs ...string) error {
		e := &ResponseError{StatusCode: status, Errors: msgs, fromVault: true, idempotent: true}
		e.classify()
		return e
	}
	c := &Client{}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{re(404), "not_found"},
		{re(403, "permission denied"), "permission_denied"},
		{re(403, "invalid token"), "invalid_token"},
		{re(503, "Vault is sealed"), "sealed"},
		{re(502), "unavailable"},
		{re(500, "x"), "internal"},
		{re(429, "quota"), "rate_limited"},
		{re(400, "check-and-set parameter did not match"), "cas_mismatch"},
		{c.connectionError(&request{method: "GET"}, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, ""), "connection"},
		{c.connectionError(&request{method: "GET"}, context.DeadlineExceeded, ""), "timeout"},
		{c.connectionError(&request{method: "POST"}, &net.OpError{Op: "read", Err: syscall.ECONNRESET}, ""), "outcome_unknown"},
		{&CircuitOpenError{}, "circuit_open"},
		{ErrClosed, "closed"},
		{&ConfigError{Field: "x"}, "config"},
		{context.Canceled, "canceled"},
		{errors.New("?"), "other"},
	} {
		if got := ErrorKind(tc.err); got != tc.want {
			t.Errorf("ErrorKind(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestObserverSeesTheLifecycle: logins and renewals are operations whose
// requests run in the context the observer returned; every exchange is
// reported with its template and outcome; token events come without the
// accessor; retries and breaker transitions are noticed.
func TestObserverSeesTheLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newFakeVault(time.Minute, time.Hour, true)
		o := &recordingObserver{}
		c := newFakeClient(t, fv, fakeLogin, nil, WithObserver(o))
		defer c.Close(context.Background())
		if _, err := c.Read(context.Background(), "secret/data/app"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Second) // simulated: one renewal at about 2/3 of the minute
		synctest.Wait()
		got := o.templates()
		if got["POST auth/approle/login"] != 1 || got["GET secret/data/*"] != 1 || got["POST auth/token/renew-self"] < 1 {
			t.Errorf("requests: %v", got)
		}
		o.mu.Lock()
		if o.attached != 1 || len(o.ops) < 2 || o.ops[0].Kind != "login" || o.ops[1].Kind != "renewal" || len(o.opErrs) != len(o.ops) {
			t.Errorf("attached %d, operations %+v, finished %d", o.attached, o.ops, len(o.opErrs))
		}
		var events []string
		for _, n := range o.notices {
			if n.Kind == NoticeToken {
				events = append(events, n.Event.Kind.String())
				if n.Event.Accessor != "" {
					t.Errorf("a notice carries an accessor")
				}
			}
		}
		o.mu.Unlock()
		if strings.Join(events, ",") != "login,renewed" {
			t.Errorf("token notices: %v", events)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		f := &flaky{n: 1 << 30, err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}
		o := &recordingObserver{}
		c, _ := New(WithTransport(f), WithToken("t"), WithObserver(o), WithCircuitBreaker(retry.BreakerConfig{Failures: 1}))
		_, err := c.Read(context.Background(), "secret/data/x")
		if !errors.Is(err, ErrConnection) {
			t.Fatal(err)
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		var retries, breaker int
		for _, n := range o.notices {
			switch n.Kind {
			case NoticeRetry:
				retries++
				if n.Reason != "connection" || n.Template != "secret/data/*" {
					t.Errorf("retry notice %+v", n)
				}
			case NoticeBreaker:
				breaker++
				if n.From != "closed" || n.To != "open" {
					t.Errorf("breaker notice %+v", n)
				}
			}
		}
		if retries != 2 || breaker != 1 || len(o.requests) != 3 || o.requests[2].Attempt != 3 || o.outcomes[0].Status != 0 {
			t.Errorf("retries %d, breaker %d, requests %+v, outcomes %+v", retries, breaker, o.requests, o.outcomes)
		}
	})
}

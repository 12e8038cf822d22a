package otel_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/internal/observetest"
	"github.com/gdsvault/gdsvault/retry"
	"github.com/gdsvault/gdsvault/vaulttest"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestSpansOfAScriptedRun traces two clients against a real Vault — a read,
// a policy denial, a seal (three attempts), an AppRole login with a wrapped
// secret ID caused by a caller's request, renewals of a 4-second token —
// with the SDK's in-memory exporter, and checks names, parents, attributes
// and recorded errors; then scans every name, attribute, event, link and
// status for tokens, accessors, secret values, the wrapping token and full
// paths.
func TestSpansOfAScriptedRun(t *testing.T) {
	const secretValue = "0tel-s3cret-value-never-an-attribute"
	lab := observetest.NewLab(t, secretValue) // its own Vault: the test seals it
	srv, limited, roleID, wrapped := lab.Server, lab.Limited, lab.RoleID, lab.Wrapped

	tr, exp, test := newTracer(t)
	quiet := gdsvault.WithLogger(slog.New(slog.DiscardHandler))
	reads, err := gdsvault.New(gdsvault.WithAddress(srv.Addr), gdsvault.WithToken(limited), quiet, gdsvault.WithObserver(tr),
		gdsvault.WithRetry(retry.Policy{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer reads.Close(context.Background())
	base := vaulttest.Context(t)

	// A read, a denial and a sealed read, each under a caller's span.
	step := func(name string, fn func(ctx context.Context) error) (trace.SpanContext, error) {
		ctx, span := test.Start(base, name)
		defer span.End()
		return span.SpanContext(), fn(ctx)
	}
	readSC, err := step("read", func(ctx context.Context) error {
		_, err := reads.GetSecret(ctx, "secret/data/app/config")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	deniedSC, err := step("denied", func(ctx context.Context) error {
		_, err := reads.GetSecret(ctx, "secret/data/other/config")
		return err
	})
	if !errors.Is(err, gdsvault.ErrPermissionDenied) {
		t.Fatalf("read outside the policy: %v", err)
	}
	srv.Seal(t)
	sealedSC, err := step("sealed", func(ctx context.Context) error {
		_, err := reads.GetSecret(ctx, "secret/data/app/config")
		return err
	})
	if !errors.Is(err, gdsvault.ErrSealed) {
		t.Fatalf("read while sealed: %v", err)
	}
	srv.Unseal(t)
	srv.WaitActive(t)

	// A login caused by a caller's read; renewals on the client's own clock.
	method := lab.Login(t)
	renewed := make(chan struct{}, 16)
	authed, err := gdsvault.New(gdsvault.WithAddress(srv.Addr), gdsvault.WithAuth(method), quiet, gdsvault.WithObserver(tr),
		gdsvault.WithEvents(func(ev gdsvault.Event) {
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
	loginSC, err := step("needs a login", func(ctx context.Context) error {
		_, err := authed.GetSecret(ctx, "secret/data/app/config")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-renewed:
	case <-base.Done():
		t.Fatal("no renewal")
	}
	if err := authed.Close(base); err != nil {
		t.Fatal(err)
	}

	spans := exp.GetSpans()
	children := func(parent trace.SpanContext) []tracetest.SpanStub {
		var out []tracetest.SpanStub
		for _, s := range spans {
			if s.Parent.SpanID() == parent.SpanID() && s.Parent.TraceID() == parent.TraceID() {
				out = append(out, s)
			}
		}
		return out
	}
	names := func(ss []tracetest.SpanStub) string {
		var out []string
		for _, s := range ss {
			out = append(out, s.Name)
		}
		return strings.Join(out, ", ")
	}
	sortedNames := func(ss []tracetest.SpanStub) string {
		return strings.Join(slices.Sorted(strings.SplitSeq(names(ss), ", ")), ", ")
	}

	// The read: the mount lookup and the read, children of the caller. A
	// client without a cache sends both at once: their spans end in either
	// order.
	if got := sortedNames(children(readSC)); got != "GET /v1/secret/data/*, GET /v1/sys/internal/ui/mounts/*" {
		t.Errorf("read's spans: %s", got)
	}
	for _, s := range children(readSC) {
		a := attrs(s)
		if a["http.response.status_code"] != "200" || s.Status.Code == codes.Error || a["vault.attempt"] != "1" ||
			a["server.address"] != "127.0.0.1" || a["server.port"] != srv.Addr[strings.LastIndex(srv.Addr, ":")+1:] || a["http.request.method"] != "GET" {
			t.Errorf("%s: status %+v, attributes %v", s.Name, s.Status, a)
		}
	}
	// The denial: 403 recorded as permission_denied; the lookup-self and
	// capabilities-self that refine it run inside the exchange: its children.
	denied := children(deniedSC)
	if got := names(denied); got != "GET /v1/secret/data/*" {
		t.Errorf("denial's spans: %s", got)
	} else if a := attrs(denied[0]); a["http.response.status_code"] != "403" || a["error.type"] != "permission_denied" ||
		denied[0].Status.Code != codes.Error || denied[0].Status.Description != "permission_denied" || len(denied[0].Events) != 1 {
		t.Errorf("denied read: attributes %v, status %+v, events %v", a, denied[0].Status, denied[0].Events)
	} else if got := names(children(denied[0].SpanContext)); got != "GET /v1/auth/token/lookup-self, POST /v1/sys/capabilities-self" {
		t.Errorf("refinement spans under the denied read: %s", got)
	}
	// The seal: three attempts, each its own span, 503, sealed.
	sealed := children(sealedSC)
	if len(sealed) != 3 {
		t.Fatalf("sealed read: %d spans (%s), want 3 attempts", len(sealed), names(sealed))
	}
	for i, s := range sealed {
		a := attrs(s)
		resend := ""
		if i > 0 {
			resend = fmt.Sprint(i)
		}
		if a["vault.attempt"] != fmt.Sprint(i+1) || a["http.request.resend_count"] != resend || a["http.response.status_code"] != "503" ||
			a["error.type"] != "sealed" || s.Status.Description != "sealed" {
			t.Errorf("sealed attempt %d: %v, status %+v", i+1, a, s.Status)
		}
	}
	// The login: a child of the caller whose read needed it, with the
	// wrapping lookup, the unwrap and the login as its children; the read
	// itself follows, a child of the caller.
	var login tracetest.SpanStub
	var afterLogin []string
	for _, s := range children(loginSC) {
		if s.Name == "vault login" {
			login = s
		} else {
			afterLogin = append(afterLogin, s.Name)
		}
	}
	if !login.SpanContext.IsValid() {
		t.Fatalf("no login span under the caller (its spans: %s)", names(children(loginSC)))
	}
	if a := attrs(login); a["vault.operation"] != "login" || a["vault.auth.method"] != "approle" || a["vault.reason"] == "" || login.Status.Code == codes.Error {
		t.Errorf("login span: %v, status %+v", a, login.Status)
	}
	if got := names(children(login.SpanContext)); got != "POST /v1/sys/wrapping/lookup, POST /v1/sys/wrapping/unwrap, POST /v1/auth/approle/login" {
		t.Errorf("login's spans: %s", got)
	}
	if got := strings.Join(slices.Sorted(slices.Values(afterLogin)), ", "); got != "GET /v1/secret/data/*, GET /v1/sys/internal/ui/mounts/*" {
		t.Errorf("the caller's other spans: %s", got)
	}
	// Renewals: roots (no caller), with renew-self as their child.
	var renewals int
	for _, s := range spans {
		if s.Name != "vault renewal" {
			continue
		}
		renewals++
		if s.Parent.IsValid() {
			t.Errorf("a scheduled renewal has a parent %v", s.Parent.SpanID())
		}
		if got := names(children(s.SpanContext)); got != "POST /v1/auth/token/renew-self" {
			t.Errorf("renewal's spans: %s", got)
		}
		if a := attrs(s); a["vault.operation"] != "renewal" || a["vault.auth.method"] != "approle" {
			t.Errorf("renewal span: %v", a)
		}
	}
	if renewals == 0 {
		t.Error("no renewal span")
	}
	// Every span ended; every request span is a client span with a template.
	for _, s := range spans {
		if s.EndTime.IsZero() {
			t.Errorf("%s never ended", s.Name)
		}
		if a := attrs(s); s.SpanKind == trace.SpanKindClient && (a["url.template"] == "" || a["vault.mount"] == "") {
			t.Errorf("%s: %v", s.Name, a)
		}
	}

	// The leak scan: every name, attribute, event, link and status.
	issued := method.Issued()
	if len(issued) != 2 {
		t.Fatalf("the login recorded %d secrets, want a token and an accessor", len(issued))
	}
	secrets := append([]string{srv.RootToken, limited, roleID, wrapped, secretValue, "app/config", "other/config"}, issued...)
	var texts int
	for _, s := range spans {
		scan := func(what, v string) {
			texts++
			vaulttest.AssertNoSecret(t, s.Name+" "+what, v, secrets...)
		}
		scan("name", s.Name)
		scan("status", s.Status.Description)
		for _, kv := range s.Attributes {
			scan(string(kv.Key), kv.Value.String())
		}
		for _, ev := range s.Events {
			scan("event", ev.Name)
			for _, kv := range ev.Attributes {
				scan(string(kv.Key), kv.Value.String())
			}
		}
		for _, l := range s.Links {
			for _, kv := range l.Attributes {
				scan(string(kv.Key), kv.Value.String())
			}
		}
	}
	if texts < 150 {
		t.Errorf("only %d texts scanned", texts)
	}
}

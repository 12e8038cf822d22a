package otel_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	gdsotel "github.com/gdsvault/gdsvault/trace/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// newTracer returns a Tracer on an SDK provider that exports every span,
// synchronously, to an in-memory exporter.
func newTracer(t testing.TB, opts ...gdsotel.Option) (*gdsotel.Tracer, *tracetest.InMemoryExporter, trace.Tracer) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tr, err := gdsotel.NewTracer(append([]gdsotel.Option{gdsotel.WithTracerProvider(tp)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return tr, exp, tp.Tracer("test")
}

// attrs maps a span's attributes to their values as strings.
func attrs(s tracetest.SpanStub) map[string]string {
	m := map[string]string{}
	for _, kv := range s.Attributes {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

func TestNewTracerRejectsANilProvider(t *testing.T) {
	tr, err := gdsotel.NewTracer(gdsotel.WithTracerProvider(nil))
	var ce *gdsvault.ConfigError
	if tr != nil || !errors.As(err, &ce) {
		t.Fatalf("NewTracer(nil provider) = %v, %v; want a *gdsvault.ConfigError", tr, err)
	}
	if tr, err := gdsotel.NewTracer(); err != nil || tr == nil {
		t.Fatalf("NewTracer() with the global provider: %v", err)
	}
}

// TestRequestSpan: names, kind, parent, attributes, and a failure recorded
// by kind, for a retried LIST to a node whose address holds user
// information.
func TestRequestSpan(t *testing.T) {
	tr, exp, test := newTracer(t)
	ctx, caller := test.Start(context.Background(), "caller")
	_, done := tr.StartRequest(ctx, gdsvault.RequestInfo{Method: "LIST", Mount: "secret", Template: "secret/metadata/*",
		Attempt: 2, Node: "https://user:hunter2@vault.example.com/ui?x=1", Namespace: "team-a"})
	done(gdsvault.RequestOutcome{Status: 503, Err: fmt.Errorf("list secret/metadata/app: %w", gdsvault.ErrSealed), Duration: time.Millisecond})
	_, done = tr.StartRequest(ctx, gdsvault.RequestInfo{Method: "GET", Mount: "sys", Template: "sys/health", Attempt: 1, Node: "http://127.0.0.1:8200"})
	done(gdsvault.RequestOutcome{Status: 200})
	caller.End()

	spans := exp.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans", len(spans))
	}
	list, health := spans[0], spans[1]
	if list.Name != "HTTP /v1/secret/metadata/*" || list.SpanKind != trace.SpanKindClient || list.Parent.SpanID() != caller.SpanContext().SpanID() {
		t.Errorf("LIST span %q kind %v parent %v", list.Name, list.SpanKind, list.Parent.SpanID())
	}
	want := map[string]string{
		"http.request.method": "_OTHER", "http.request.method_original": "LIST", "http.response.status_code": "503",
		"http.request.resend_count": "1", "url.template": "/v1/secret/metadata/*", "server.address": "vault.example.com",
		"server.port": "443", "url.scheme": "https", "vault.mount": "secret",
		"vault.attempt": "2", "vault.namespace": "team-a", "error.type": "sealed",
	}
	if got := attrs(list); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("LIST span attributes\n got %v\nwant %v", got, want)
	}
	if list.Status.Code != codes.Error || list.Status.Description != "sealed" || len(list.Events) != 1 || list.Events[0].Name != "exception" {
		t.Errorf("LIST span status %+v, events %+v", list.Status, list.Events)
	}
	ev := map[string]string{}
	for _, kv := range list.Events[0].Attributes {
		ev[string(kv.Key)] = kv.Value.String()
	}
	if ev["exception.type"] != "*fmt.wrapError" || ev["exception.message"] != "sealed" {
		t.Errorf("exception event %v", ev)
	}
	if health.Name != "GET /v1/sys/health" || health.Status.Code != codes.Unset || len(health.Events) != 0 {
		t.Errorf("health span %q status %+v", health.Name, health.Status)
	}
	h := attrs(health)
	if h["server.port"] != "8200" || h["http.response.status_code"] != "200" || h["error.type"] != "" || h["http.request.resend_count"] != "" || h["vault.namespace"] != "" {
		t.Errorf("health span attributes %v", h)
	}
	for _, s := range spans {
		for _, kv := range s.Attributes {
			if strings.Contains(kv.Value.String(), "hunter2") || strings.Contains(kv.Value.String(), "secret/metadata/app") {
				t.Errorf("%s: attribute %s = %s", s.Name, kv.Key, kv.Value.String())
			}
		}
	}
}

// TestOperationSpan: a login is the caller's child by default, the root of
// a new trace linked to the caller WithLinkedOperations; its requests are
// its children; a failure is recorded by kind.
func TestOperationSpan(t *testing.T) {
	for _, linked := range []bool{false, true} {
		t.Run(fmt.Sprintf("linked=%v", linked), func(t *testing.T) {
			var opts []gdsotel.Option
			if linked {
				opts = append(opts, gdsotel.WithLinkedOperations())
			}
			tr, exp, test := newTracer(t, opts...)
			ctx, caller := test.Start(context.Background(), "caller")
			octx, end := tr.StartOperation(context.WithoutCancel(ctx), gdsvault.OperationInfo{Kind: "login", Method: "approle", Reason: "no valid token"})
			_, done := tr.StartRequest(octx, gdsvault.RequestInfo{Method: "POST", Mount: "auth/approle", Template: "auth/approle/login", Attempt: 1})
			done(gdsvault.RequestOutcome{Status: 400, Err: gdsvault.ErrAuthFailed})
			end(fmt.Errorf("login: %w", gdsvault.ErrAuthFailed))
			caller.End()

			spans := exp.GetSpans()
			if len(spans) != 3 {
				t.Fatalf("%d spans", len(spans))
			}
			req, login := spans[0], spans[1]
			if login.Name != "vault login" || login.SpanKind != trace.SpanKindInternal {
				t.Errorf("login span %q kind %v", login.Name, login.SpanKind)
			}
			if got := attrs(login); got["vault.operation"] != "login" || got["vault.auth.method"] != "approle" ||
				got["vault.reason"] != "no valid token" || got["error.type"] != "auth_failed" {
				t.Errorf("login attributes %v", got)
			}
			if login.Status.Code != codes.Error || login.Status.Description != "auth_failed" {
				t.Errorf("login status %+v", login.Status)
			}
			if req.Parent.SpanID() != login.SpanContext.SpanID() {
				t.Errorf("the login request's parent is not the login span")
			}
			callerSC := caller.SpanContext()
			if !linked {
				if login.Parent.SpanID() != callerSC.SpanID() || login.SpanContext.TraceID() != callerSC.TraceID() || len(login.Links) != 0 {
					t.Errorf("login span: parent %v, links %v; want the caller as parent", login.Parent.SpanID(), login.Links)
				}
				return
			}
			if login.Parent.IsValid() || login.SpanContext.TraceID() == callerSC.TraceID() ||
				len(login.Links) != 1 || login.Links[0].SpanContext.SpanID() != callerSC.SpanID() {
				t.Errorf("linked login span: parent %v, trace %v, links %v; want a new root linked to the caller",
					login.Parent.SpanID(), login.SpanContext.TraceID(), login.Links)
			}
		})
	}
}

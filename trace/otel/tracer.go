package otel

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"

	"github.com/gdsvault/gdsvault"
	otelapi "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the spans.
const ScopeName = "github.com/gdsvault/gdsvault/trace/otel"

// The attributes of this package's own (not in the semantic conventions).
const (
	// AttrMount is the secrets engine or auth mount ("secret", "auth/approle").
	AttrMount = attribute.Key("vault.mount")
	// AttrAttempt counts the attempts of a request (1, 2, ...).
	AttrAttempt = attribute.Key("vault.attempt")
	// AttrNamespace is the Vault namespace (absent for none).
	AttrNamespace = attribute.Key("vault.namespace")
	// AttrOperation is "login" or "renewal".
	AttrOperation = attribute.Key("vault.operation")
	// AttrAuthMethod names the auth method ("approle"...), when it names itself.
	AttrAuthMethod = attribute.Key("vault.auth.method")
	// AttrReason says why a login or renewal happens ("no valid token"...).
	AttrReason = attribute.Key("vault.reason")
)

// Option configures a Tracer. An option given a bad value makes NewTracer
// fail with a *gdsvault.ConfigError naming it.
type Option func(*Tracer) error

// WithTracerProvider sets the provider of the tracer (default: the global
// one, otel.GetTracerProvider(), looked up by NewTracer).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(t *Tracer) error {
		if tp == nil {
			return &gdsvault.ConfigError{Field: "tracer provider", Problem: "is nil"}
		}
		t.provider = tp
		return nil
	}
}

// WithLinkedOperations starts each login and renewal span in a trace of its
// own, linked to the span of the caller that caused it, instead of as that
// span's child (the default). A login is shared by every caller waiting for
// it and outlives the one that started it: some backends show that better
// as a link.
func WithLinkedOperations() Option {
	return func(t *Tracer) error { t.linked = true; return nil }
}

// Tracer is a gdsvault.Observer that makes OpenTelemetry spans: one per
// HTTP exchange with Vault, one per login and token renewal. Attach it with
// gdsvault.WithObserver. It is safe for concurrent use.
type Tracer struct {
	provider trace.TracerProvider
	tracer   trace.Tracer
	linked   bool

	mu     sync.RWMutex
	starts map[gdsvault.RequestInfo]*requestStart
}

// NewTracer returns a Tracer; bad options make it fail with
// *gdsvault.ConfigError values joined with errors.Join.
func NewTracer(opts ...Option) (*Tracer, error) {
	t := &Tracer{starts: make(map[gdsvault.RequestInfo]*requestStart)}
	var errs []error
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(t); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if t.provider == nil {
		t.provider = otelapi.GetTracerProvider()
	}
	t.tracer = t.provider.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL))
	return t, nil
}

// Attach does nothing: spans need nothing from the client.
func (t *Tracer) Attach(*gdsvault.Client) {}

// Notice does nothing: a notice carries no context to put it in a span
// (retries show as request spans with vault.attempt > 1).
func (t *Tracer) Notice(gdsvault.Notice) {}

// StartRequest starts a client span for one HTTP exchange, a child of the
// span in ctx (the caller's, or a login's or renewal's). Its name is
// "{method} /v1/{template}" ("GET /v1/secret/data/*"), as the HTTP semantic
// conventions name a client span by method and URL template.
func (t *Tracer) StartRequest(ctx context.Context, r gdsvault.RequestInfo) (context.Context, func(gdsvault.RequestOutcome)) {
	st := t.start(r)
	ctx, span := t.tracer.Start(ctx, st.name, st.opts...)
	return ctx, func(out gdsvault.RequestOutcome) {
		if out.Status > 0 {
			span.SetAttributes(semconv.HTTPResponseStatusCode(out.Status))
		}
		recordError(span, out.Err)
		span.End()
	}
}

// requestStart is the name and start options of a request's span. They
// depend only on the RequestInfo: the Tracer keeps them for the first
// maxStarts distinct ones (the SDK copies the attributes it is given, so
// they are shared safely).
type requestStart struct {
	name string
	opts []trace.SpanStartOption
}

// maxStarts bounds the requestStart cache: RequestInfo values are bounded
// by the server's mounts and the client's configuration, but a path on an
// unknown mount brings a template of its own.
const maxStarts = 4096

func (t *Tracer) start(r gdsvault.RequestInfo) *requestStart {
	t.mu.RLock()
	st, ok := t.starts[r]
	t.mu.RUnlock()
	if ok {
		return st
	}
	st = t.newStart(r)
	t.mu.Lock()
	if len(t.starts) < maxStarts {
		t.starts[r] = st
	}
	t.mu.Unlock()
	return st
}

func (t *Tracer) newStart(r gdsvault.RequestInfo) *requestStart {
	method, original := httpMethod(r.Method)
	name := method.Value.AsString()
	if original.Valid() {
		name = "HTTP"
	}
	attrs := make([]attribute.KeyValue, 0, 10)
	attrs = append(attrs, method)
	if original.Valid() {
		attrs = append(attrs, original)
	}
	if r.Template != "" {
		tmpl := "/v1/" + r.Template
		name += " " + tmpl
		attrs = append(attrs, semconv.URLTemplate(tmpl))
	}
	if r.Mount != "" {
		attrs = append(attrs, AttrMount.String(r.Mount))
	}
	attrs = append(attrs, AttrAttempt.Int(r.Attempt))
	if r.Attempt > 1 {
		attrs = append(attrs, semconv.HTTPRequestResendCount(r.Attempt-1))
	}
	if r.Node != "" {
		attrs = append(attrs, server(r.Node)...)
	}
	if r.Namespace != "" {
		attrs = append(attrs, AttrNamespace.String(r.Namespace))
	}
	return &requestStart{name: name, opts: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...)}}
}

// StartOperation starts an internal span "vault login" or "vault renewal".
// ctx carries the span of the caller that caused it: the new span is its
// child, or (WithLinkedOperations) the root of a new trace linked to it.
// The operation's requests are children of the new span.
func (t *Tracer) StartOperation(ctx context.Context, op gdsvault.OperationInfo) (context.Context, func(error)) {
	kind := op.Kind
	if kind == "" {
		kind = "operation"
	}
	attrs := []attribute.KeyValue{AttrOperation.String(kind)}
	if op.Method != "" {
		attrs = append(attrs, AttrAuthMethod.String(op.Method))
	}
	if op.Reason != "" {
		attrs = append(attrs, AttrReason.String(op.Reason))
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...)}
	if t.linked {
		opts = append(opts, trace.WithNewRoot())
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
		}
	}
	ctx, span := t.tracer.Start(ctx, "vault "+kind, opts...)
	return ctx, func(err error) {
		recordError(span, err)
		span.End()
	}
}

// recordError marks the span failed with the error's kind: error.type and
// the status description are gdsvault.ErrorKind, and an exception event
// carries the kind and the Go type. The error's text is left out: it names
// the full path (and may quote Vault's answer), where spans keep only the
// mount and the bounded template.
func recordError(span trace.Span, err error) {
	if err == nil {
		return
	}
	kind := gdsvault.ErrorKind(err)
	span.SetAttributes(semconv.ErrorTypeKey.String(kind))
	span.AddEvent("exception", trace.WithAttributes(
		semconv.ExceptionTypeKey.String(typeName(err)),
		semconv.ExceptionMessageKey.String(kind),
	))
	span.SetStatus(codes.Error, kind)
}

// httpMethod gives http.request.method as the semantic conventions want it:
// a known method, or _OTHER with http.request.method_original (Vault's LIST).
func httpMethod(m string) (method, original attribute.KeyValue) {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE":
		return semconv.HTTPRequestMethodKey.String(m), attribute.KeyValue{}
	}
	return semconv.HTTPRequestMethodOther, semconv.HTTPRequestMethodOriginal(m)
}

// server returns server.address, server.port and url.scheme of a node's
// address (user information, a path or a query in it are left out).
func server(node string) []attribute.KeyValue {
	var attrs []attribute.KeyValue
	if u, err := url.Parse(node); err == nil && u.Hostname() != "" {
		attrs = append(attrs, semconv.ServerAddress(u.Hostname()))
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.ServerPort(p))
		}
		if u.Scheme != "" {
			attrs = append(attrs, semconv.URLSchemeKey.String(u.Scheme))
		}
	}
	return attrs
}

func typeName(err error) string { return fmt.Sprintf("%T", err) }

var _ gdsvault.Observer = (*Tracer)(nil)

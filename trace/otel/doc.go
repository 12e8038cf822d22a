// Package otel traces a gdsvault client with OpenTelemetry. It is a nested
// module (github.com/gdsvault/gdsvault/trace/otel) so that the gdsvault
// module itself does not depend on OpenTelemetry. Its name clashes with
// go.opentelemetry.io/otel: import it under another name.
//
//	import gdsotel "github.com/gdsvault/gdsvault/trace/otel"
//
//	tracer, err := gdsotel.NewTracer(gdsotel.WithTracerProvider(tp)) // default: the global provider
//	if err != nil { ... }
//	client, err := gdsvault.New(gdsvault.WithAddress(addr), gdsvault.WithAuth(m), gdsvault.WithObserver(tracer))
//
// With metrics too: gdsvault.WithObserver(collector), gdsvault.WithObserver(tracer)
// (or gdsvault.MultiObserver).
//
// # Spans
//
// One client span per HTTP exchange with Vault, named by method and URL
// template ("GET /v1/secret/data/*"; "HTTP /v1/..." for Vault's LIST), a
// child of the span in the caller's context: every attempt of a retried
// request is its own span. Attributes:
//
//	http.request.method          GET, POST, PUT, DELETE...; _OTHER for LIST (see below)
//	http.request.method_original LIST (only with _OTHER)
//	http.response.status_code    the HTTP status (absent when no answer came)
//	http.request.resend_count    attempt - 1 (only on retries)
//	url.template                 /v1/ + the bounded template: /v1/secret/data/*, /v1/auth/approle/login
//	server.address, server.port  the node's host and port (the node the exchange went to)
//	url.scheme                   http or https
//	vault.mount                  secret, auth/approle, sys...
//	vault.attempt                1, 2, 3...
//	vault.namespace              the namespace (absent for none)
//	error.type                   gdsvault.ErrorKind of a failure (not_found, permission_denied, sealed...)
//
// One internal span per login and per token renewal, "vault login" or
// "vault renewal", with vault.operation, vault.auth.method (the method's
// MethodName, when it has one), vault.reason and, on failure, error.type. The
// context handed to the observer carries the span of the caller that caused
// the login (a request that needed a token, Authenticate): the operation's
// span is its child, or with WithLinkedOperations the root of a new trace
// linked to it. A scheduled renewal has no caller: its span is a root. The
// login's own requests (wrapping lookup, unwrap, login) are children of the
// operation's span.
//
// A failed span has status Error with the error kind as description, the
// error.type attribute, and an "exception" event whose exception.type is
// the Go type of the error and exception.message its kind. The error's text
// is not recorded: it names the full path.
//
// No span holds a token, an accessor, a secret value, a wrapping token, a
// request or response body, or a full path: paths come reduced to their
// mount and bounded template (gdsvault.RequestInfo).
package otel

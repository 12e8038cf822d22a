// Package gdsvault is a client for HashiCorp Vault (and OpenBao) that logs
// in, keeps its token valid by itself and reads secrets safely.
//
//	client, err := auth.FromEnv(os.LookupEnv) // VAULT_ADDR, VAULT_AUTH_METHOD or the decision tree
//	if err != nil { ... }
//	defer client.Close(ctx)
//	secret, err := client.GetSecret(ctx, "secret/data/myapp/config") // or "secret/myapp/config"
//	fmt.Println(secret.Data["db_host"])
//
// A Client is built once with New and options (address, token or auth
// method, namespace, TLS, timeout, logger, cache, retries, circuit breaker)
// and never changes; it is safe for concurrent use. New never reads the
// environment: packages config and auth do, when asked.
//
// # Files of this package
//
// client.go (Client, New, Close), options.go (every Option), pipeline.go
// (the request path: retries, circuit breaker, token, one HTTP exchange),
// errors.go (every sentinel and error type, IsTransient), auth.go (the auth
// contract: TokenSource, AuthMethod, Auth, Credential, Login, TokenInfo),
// token.go (the redacting Token), lifecycle.go (the self-renewing token),
// kv.go (KV v1/v2), secret.go (generic secrets), cache.go (the read cache),
// wrapping.go (response wrapping), tls.go, health.go, path.go.
//
// # Authentication and the token's life
//
// WithToken for development; WithAuth with a method from auth/<method>
// (approle, kubernetes, jwt, userpass, cert, gcp, azure, and aws in its own
// module) for production. A client built WithAuth logs in at its first
// request, renews its token at about two thirds of the TTL (with jitter),
// stops handing the token out in its last fifth of life (at most 5 s) and
// renews or logs in again instead, logs in again before the max TTL, and
// reports every step through WithEvents. A token Vault refuses well before
// its expiry is reported as EventRevoked (revoked from outside), one refused
// at the end of its life as EventExpired; either way the request goes once
// more on a new token. A token refused right after its login (a server or
// proxy that refuses every token) makes logins back off from 1 s doubling to
// 5 min: callers then fail fast with the refusal instead of each causing a
// login. Client.TokenInfo shows the current token's accessor, policies and
// time left, never the token.
//
// Close stops the background work and revokes the token when the client
// logged in for it (any AuthMethod but a SuppliedToken such as auth/token);
// a token the user supplied is left alone. WithRevokeOnClose overrides
// both; batch tokens and tokens without a TTL are never revoked.
//
// # Retries, attempts and the circuit breaker
//
// An attempt is one try of a request, including the login it may need.
// retry.Policy.MaxAttempts counts attempts (1: no retry); WithMaxRetries(n)
// and VAULT_MAX_RETRIES=n set MaxAttempts to n+1. The default is 3 attempts
// with full-jitter backoff from 100 ms to 2 s and Retry-After honoured up to
// 30 s. Only transient failures (IsTransient: no answer, an answer cut off
// or stalled past the timeout, 412, 429, 500, 502, 503, 504) are retried, and
// a request that must not run twice (a login, an unwrap, issuing
// credentials, a write without check-and-set) only when it certainly did not
// reach Vault; when its answer was lost, it fails with ErrOutcomeUnknown.
// Logins and renewals make one attempt each: the request that needed the
// login retries, and renewals follow their own backoff.
//
// The circuit breaker (WithCircuitBreaker) counts consecutive transient
// failures of requests, after their retries: not 4xx answers (Vault
// answered), not 429 (Vault pushed back), not certificate errors, not a
// caller's own cancellation; logins and renewals bypass it.
//
// # Caching and stale answers
//
// WithCache caches KV and generic reads (package secretcache). When a
// refresh fails transiently — Vault unreachable, sealed, or answering 5xx —
// the last good value is returned with Stale set, up to the cache's max
// staleness; after such a failure the key is not fetched again for the
// refresh backoff (1 s by default): reads in that window get the stale value
// at once.
//
// # Errors
//
// Errors are typed: match ErrNotFound, ErrPermissionDenied, ErrInvalidToken,
// ErrAuthFailed, ErrSealed, ErrRateLimited, ErrConnection, ErrCertificate,
// ErrOutcomeUnknown, ErrResponseTooLarge, ErrConfig, ErrWrappingTampered,
// ErrCircuitOpen... with errors.Is, and reach Vault's answer with errors.As
// and *ResponseError. A 403 costs up to two more requests to explain itself:
// a lookup-self tells an invalid token from a policy denial (Vault 1.17+
// says "invalid token" itself; older servers and OpenBao do not), and for a
// denial sys/capabilities-self puts the token's capabilities on the path in
// the hint. No error, log line or printed value ever holds a token or a
// secret value: Token and Credential print "[redacted]", SecretData prints
// its keys only (through fmt, slog and json.Marshal alike).
package gdsvault

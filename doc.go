// Package gdsvault is a client for HashiCorp Vault (and OpenBao) that logs
// in, keeps its token valid by itself and reads secrets safely.
//
// The seed's "with VaultClient() as client: client.get_secret(...)":
//
//	client, err := auth.FromEnv(os.LookupEnv) // VAULT_ADDR, VAULT_AUTH_METHOD or the decision tree
//	if err != nil { ... }
//	defer client.Close(ctx)
//	secret, err := client.GetSecret(ctx, "secret/data/myapp/config")
//	fmt.Println(secret.Data["db_host"])
//
// A Client is built once with New and options (address, token or auth
// method, namespace, TLS, timeout, logger, cache, retries, circuit breaker)
// and never changes; it is safe for concurrent use. New never reads the
// environment: packages config and auth do, when asked.
//
// Authentication: WithToken for development; WithAuth with a method from
// auth/<method> (approle, kubernetes, jwt, userpass, cert, gcp, azure, and
// aws in its own module) for production. A client built WithAuth logs in at
// its first request, renews its token at about two thirds of the TTL, logs
// in again before the max TTL, recovers from a token revoked under it, and
// reports every step through WithEvents.
//
// Secrets: KV v1 and v2 through KV (mount and version detected once per
// mount, both the API form "secret/data/x" and the CLI form "secret/x"),
// any other engine through Read, Write, List, Delete and Do, dynamic
// secrets through package lease.
//
// Errors are typed: match ErrNotFound, ErrPermissionDenied, ErrInvalidToken,
// ErrAuthFailed, ErrSealed, ErrRateLimited, ErrConnection, ErrConfig,
// ErrWrappingTampered, ErrCircuitOpen... with errors.Is, and reach Vault's
// answer with errors.As and *ResponseError. No error, log line or printed
// value ever holds a token or a secret value: Token and Credential print
// "[redacted]", secrets print their keys only.
package gdsvault

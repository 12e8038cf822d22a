// Package prom exports a gdsvault client's metrics to Prometheus. It is a
// nested module (github.com/gdsvault/gdsvault/metrics/prom) so that the
// gdsvault module itself does not depend on client_golang.
//
// A Collector is both a prometheus.Collector and a gdsvault.Observer:
//
//	col, err := prom.NewCollector()
//	if err != nil { ... }
//	client, err := gdsvault.New(gdsvault.WithAddress(addr), gdsvault.WithAuth(m), gdsvault.WithObserver(col))
//	if err != nil { ... }
//	prometheus.MustRegister(col) // or your own registry
//	http.Handle("/metrics", promhttp.Handler())
//
// # Several clients
//
// One collector may observe several clients: their series are added up
// (the observer hooks do not say which client they come from), the token
// gauge shows the last token event of any of them, and the breaker gauge the
// last transition. To tell clients apart, give each its own collector with
// WithClientName, which adds a constant client label, and register them all
// in one registry. A collector keeps the clients it observes (to read their
// cache counters when scraped) for as long as it lives.
//
// # Metrics
//
// Every name starts with gdsvault_. Labels take their values from sets that
// the client's code or configuration bounds, never from the paths a program
// reads: no path, token, accessor, namespace or secret value is ever a label.
// The mount label holds at most WithMaxMounts values (default 200; later
// mounts are "other"), because a path on a mount the client does not know is
// labelled by its first segment.
//
//	name                                       type       labels                        meaning
//	gdsvault_request_duration_seconds          histogram  method, mount, status_class   each HTTP exchange with Vault (every attempt; logins and renewals included)
//	gdsvault_request_errors_total              counter    method, mount, kind           exchanges that failed, by gdsvault.ErrorKind
//	gdsvault_retries_total                     counter    reason                        requests retried, by the error kind of the failed attempt
//	gdsvault_breaker_state                     gauge      state                         1 for the circuit breaker's state (closed, open, half-open), 0 for the others
//	gdsvault_breaker_transitions_total         counter    from, to                      circuit breaker state changes
//	gdsvault_cache_hits_total                  counter    cache                         reads answered from a fresh cached value (cache: kv, read)
//	gdsvault_cache_misses_total                counter    cache                         reads not answered from a fresh cached value
//	gdsvault_cache_stale_total                 counter    cache                         reads answered with a stale value while Vault failed
//	gdsvault_cache_evictions_total             counter    cache                         entries evicted to make room
//	gdsvault_cache_fetches_total               counter    cache                         fetches from Vault made by the cache
//	gdsvault_cache_fetch_errors_total          counter    cache                         fetches that failed
//	gdsvault_cache_shared_total                counter    cache                         reads that joined another read's fetch
//	gdsvault_cache_entries                     gauge      cache                         entries held now
//	gdsvault_token_ttl_seconds                 gauge      -                             time left on the token, from the last login or renewal (0 once expired or revoked; absent without a TTL)
//	gdsvault_token_events_total                counter    event                         token events: login, login_failed, renewed, renewal_failed, expired, revoked, closed
//	gdsvault_auth_operations_total             counter    operation, method, result     logins and renewals by auth method; result is success or an error kind
//	gdsvault_auth_operation_duration_seconds   histogram  operation, method             duration of logins and renewals
//	gdsvault_lease_events_total                counter    event                         leases (package lease): renewed, renewal_failed, rotated, rotation_failed, revoked
//	gdsvault_node_changes_total                counter    -                             moves to another node of a cluster (WithAddresses)
//	gdsvault_node_current                      gauge      node                          1 for the node the client talks to now, 0 for its other nodes
//	gdsvault_node_up                           gauge      node                          1 for a node the client takes to be up, 0 for one marked down
//	gdsvault_clients                           gauge      -                             clients attached to the collector
//
// Label values: method is the HTTP method (GET, POST, PUT, DELETE, LIST...;
// "other" for anything else); mount is the secrets engine or auth mount
// ("secret", "auth/approle", "sys"); status_class is 2xx, 3xx, 4xx, 5xx, or
// none when no answer came; kind, reason and a failed result are
// gdsvault.ErrorKind values (not_found, permission_denied, sealed,
// connection, timeout...); operation is login or renewal; method on the
// operation metrics is the auth method's MethodName ("unknown" when it has
// none); node is one of the attached clients' addresses (Client.Nodes:
// WithAddress, or every node given to WithAddresses). With WithClientName
// every series also carries client="name". With several clients on one
// collector, node_current and node_up count the clients.
//
// Cache counters, the breaker state, the token TTL and the nodes are read
// when scraped (const metrics): they cost nothing on the request path. A
// cached hit makes no HTTP exchange and so costs nothing here either; the
// cache counters tell hits from misses.
package prom

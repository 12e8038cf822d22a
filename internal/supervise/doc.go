// Package supervise runs one child program on behalf of `gdsvault exec`:
// it starts the child with an environment it is handed, forwards signals,
// restarts the child when it is handed a new environment, stops it with a
// signal, a grace period and SIGKILL, restarts it after a failure when asked
// (with capped exponential backoff), and reports how the child ended, as a
// shell would (128+n for a signal).
//
// It knows nothing about Vault: the caller decides when the environment
// changed (and debounces), the supervisor only acts on it. It avoids the
// known faults of Vault Agent's supervisor: a restart is done only when asked,
// once per request however many requests queue up meanwhile, and the
// child's exit during a restart never ends the supervision.
//
// The child runs in its own process group, so that a terminal's Ctrl-C
// reaches it once (forwarded) rather than twice, and so that SIGKILL at the
// end of the grace period reaches what it started too.
//
// It needs a Unix system (process groups and signals).
package supervise

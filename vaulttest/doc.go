// Package vaulttest starts a real HashiCorp Vault (or OpenBao) dev server for
// Go tests and provisions what they need: auth methods, policies, AppRole
// roles and secret IDs (plain or response-wrapped), KV secrets.
//
// The server binary is found in this order: $VAULT_BIN; bin/vault in the
// enclosing gdsvault checkout (built by `make vault` from the pinned module in
// tools/vault); `vault` on $PATH. When none exists the test fails (it never
// skips) with a message that says how to get one.
//
// One server per test binary, shared through TestMain, is the usual shape:
//
//	var vault *vaulttest.Server
//
//	func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m, vaulttest.Options{}, &vault)) }
//
// Tests then isolate themselves with their own mounts (UniqueName). Tests
// that seal, stop or reconfigure the server start their own with Start.
//
// For resilience tests, NewProxy puts a fault-injecting HTTP proxy in front of
// a server: point the client at Proxy.Addr and switch faults with Set —
// latency, a TCP reset, a truncated body, a load balancer's HTML 502, a JSON
// 429/503 with Retry-After, a blackhole that never answers — optionally only
// for matching requests (Only) or the next few (Count). Stats counts what it
// saw and did; closing it releases every held connection.
//
// StartPersistent starts a non-dev server on file storage, initialised and
// unsealed by the harness (KV v2 at secret/, as on a dev server). Kill it with
// SIGKILL and Restart it on the same address and storage: secrets, policies
// and tokens survive; StartSealed, Seal and Unseal reach the sealed states. It
// embeds *Server, so the provisioning helpers work on it unchanged.
package vaulttest

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
package vaulttest

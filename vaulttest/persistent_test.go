package vaulttest_test

import (
	"errors"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/vaulttest"
)

func TestPersistentKillRestart(t *testing.T) {
	checkLeaks(t)
	s := vaulttest.StartPersistent(t, vaulttest.PersistentOptions{})
	if !strings.HasPrefix(s.Addr, "http://127.0.0.1:") || s.RootToken == "" || s.UnsealKey == "" || !s.Running() {
		t.Fatalf("server = %+v", s.Server)
	}
	if b, err := os.ReadFile(s.Config); err != nil || !strings.Contains(string(b), `storage "file"`) {
		t.Fatalf("config %s: %v\n%s", s.Config, err, b)
	}
	s.PutKV(t, "secret", "app/config", map[string]any{"k": "before"})
	s.WritePolicy(t, "reader", `path "secret/data/*" { capabilities = ["read"] }`)
	tok := s.CreateToken(t, map[string]any{"policies": []string{"reader"}, "ttl": "1h"})

	c := vaultClient(t, s.Addr, s.RootToken)
	mustRead(t, c, "app/config", "before")

	s.Kill()
	if s.Running() {
		t.Fatal("Running after Kill")
	}
	_, err := c.Read(vaulttest.Context(t), "secret/data/app/config")
	if !errors.Is(err, gdsvault.ErrConnection) || !errors.Is(err, syscall.ECONNREFUSED) || !gdsvault.IsTransient(err) {
		t.Fatalf("read from a killed server: err = %v, want a transient ErrConnection (refused)", err)
	}
	t.Logf("gdsvault on a killed server: %v", err)

	addr := s.Addr
	s.Restart(t)
	if s.Addr != addr {
		t.Fatalf("restart moved the server from %s to %s", addr, s.Addr)
	}
	// The same client, the same root token: the secret survived.
	mustRead(t, c, "app/config", "before")
	// A token created before the kill is still valid, with its policy.
	tc := vaultClient(t, s.Addr, tok)
	mustRead(t, tc, "app/config", "before")
	if _, err := tc.Read(vaulttest.Context(t), "sys/mounts"); !errors.Is(err, gdsvault.ErrPermissionDenied) {
		t.Fatalf("the reader token on sys/mounts: err = %v, want ErrPermissionDenied", err)
	}

	// Kill twice and Restart from a running server work too.
	s.Kill()
	s.Kill()
	s.Restart(t)
	s.Restart(t)
	mustRead(t, c, "app/config", "before")
}

func TestPersistentSealed(t *testing.T) {
	checkLeaks(t)
	s := vaulttest.StartPersistent(t, vaulttest.PersistentOptions{})
	s.PutKV(t, "secret", "x", map[string]any{"k": "v"})
	c := vaultClient(t, s.Addr, s.RootToken)

	s.Kill()
	s.StartSealed(t)
	if _, err := c.Read(vaulttest.Context(t), "secret/data/x"); !errors.Is(err, gdsvault.ErrSealed) || !errors.Is(err, gdsvault.ErrUnavailable) {
		t.Fatalf("read from a server started sealed: err = %v, want ErrSealed", err)
	}
	s.Unseal(t)
	mustRead(t, c, "x", "v")

	s.Seal(t)
	if _, err := c.Read(vaulttest.Context(t), "secret/data/x"); !errors.Is(err, gdsvault.ErrSealed) {
		t.Fatalf("read after Seal: err = %v, want ErrSealed", err)
	}
	s.Unseal(t)
	mustRead(t, c, "x", "v")
}

func TestPersistentHelpers(t *testing.T) {
	checkLeaks(t)
	s := vaulttest.StartPersistent(t, vaulttest.PersistentOptions{})
	// The dev server's helpers work on a persistent server, and what they
	// provision survives a restart.
	mount := s.UniqueName("kv1")
	s.EnableSecrets(t, mount, "kv", map[string]any{"version": "1"})
	s.Must(t, http.MethodPost, mount+"/a", map[string]any{"k": "v1"})
	s.WritePolicy(t, "p", `path "secret/data/*" { capabilities = ["read"] }`)
	s.EnableAuth(t, "approle", "approle")
	s.CreateAppRole(t, "approle", "r", map[string]any{"token_policies": "p"})
	roleID, secretID := s.RoleID(t, "approle", "r"), s.SecretID(t, "approle", "r")
	s.PutKV(t, "secret", "y", map[string]any{"k": "v"})

	s.Restart(t)
	if got := vaulttest.Data(s.Must(t, http.MethodGet, mount+"/a", nil))["k"]; got != "v1" {
		t.Fatalf("KV v1 after restart: k = %v", got)
	}
	out := s.Must(t, http.MethodPost, "auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID})
	auth, _ := out["auth"].(map[string]any)
	tok, _ := auth["client_token"].(string)
	if tok == "" {
		t.Fatalf("AppRole login after restart: %v", out)
	}
	mustRead(t, vaultClient(t, s.Addr, tok), "y", "v")

	dir := s.Dir
	s.Stop()
	s.Stop() // idempotent
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("server dir left behind: %v", err)
	}
}

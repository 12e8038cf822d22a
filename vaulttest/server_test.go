package vaulttest

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestServerHelpers(t *testing.T) {
	s := Start(t, Options{})
	if !strings.HasPrefix(s.Addr, "http://127.0.0.1:") || !strings.HasPrefix(s.RootToken, "root-") || s.UnsealKey == "" {
		t.Fatalf("server = %+v", s)
	}
	a, b := s.UniqueName("kv"), s.UniqueName("kv")
	if a == b {
		t.Fatalf("UniqueName repeated %q", a)
	}
	s.EnableSecrets(t, a, "kv", map[string]any{"version": "2"})
	s.PutKV(t, a, "x", map[string]any{"k": "v"})
	if got := Data(Data(s.Must(t, http.MethodGet, a+"/data/x", nil)))["k"]; got != "v" {
		t.Fatalf("PutKV then read = %v", got)
	}
	s.WritePolicy(t, "p", `path "`+a+`/data/*" { capabilities = ["read"] }`)
	s.EnableAuth(t, "approle", "approle")
	s.CreateAppRole(t, "approle", "r", map[string]any{"token_policies": "p"})
	roleID, secretID := s.RoleID(t, "approle", "r"), s.SecretID(t, "approle", "r")
	out := s.Must(t, http.MethodPost, "auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID})
	if out["auth"] == nil {
		t.Fatal("AppRole login with the helpers' IDs failed")
	}
	wrapped := s.WrappedSecretID(t, "approle", "r", time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	unwrapped, err := s.DoWithToken(ctx, http.MethodPost, "sys/wrapping/unwrap", nil, wrapped)
	if err != nil || Data(unwrapped)["secret_id"] == "" {
		t.Fatalf("unwrap: %v %v", unwrapped, err)
	}
	tok := s.CreateToken(t, map[string]any{"policies": []string{"p"}})
	if _, err := s.DoWithToken(ctx, http.MethodGet, "sys/mounts", nil, tok); err == nil {
		t.Fatal("a token with policy p read sys/mounts")
	}
	s.Seal(t)
	if _, err := s.Do(ctx, http.MethodGet, a+"/data/x", nil); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("read while sealed: %v", err)
	}
	s.Unseal(t)
	s.WaitActive(t)
	if _, err := s.Do(ctx, http.MethodGet, a+"/data/x", nil); err != nil {
		t.Fatalf("read after WaitActive: %v", err)
	}
	// The CLI environment works with the built binary.
	cmd := exec.Command(s.Bin, "kv", "get", "-field=k", a+"/x")
	cmd.Env = append(os.Environ(), s.Env()...)
	if b, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(b)) != "v" {
		t.Fatalf("vault kv get: %s %v", b, err)
	}
	s.Stop()
	s.Stop() // idempotent
	if _, err := os.Stat(s.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("server dir left behind: %v", err)
	}
}

func TestTLSServer(t *testing.T) {
	s := Start(t, Options{TLS: true})
	if !strings.HasPrefix(s.Addr, "https://") || s.CACert == "" {
		t.Fatalf("server = %+v", s)
	}
	s.PutKV(t, "secret", "x", map[string]any{"k": "v"})
}

func TestBinaryMissing(t *testing.T) {
	t.Setenv("VAULT_BIN", "/nonexistent/vault")
	_, err := NewServer(Options{})
	if !errors.Is(err, ErrNoBinary) || !strings.Contains(err.Error(), "make vault") {
		t.Fatalf("err = %v, want ErrNoBinary naming make vault", err)
	}
}

package gdsvault_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/vaulttest"
)

func TestPermissionDeniedByPolicy(t *testing.T) {
	vault.Require(t)
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	vault.PutKV(t, mount, "myapp/config", map[string]any{"db_host": "h"})
	vault.PutKV(t, mount, "other/config", map[string]any{"db_host": "h"})
	policy := vault.UniqueName("pol")
	vault.WritePolicy(t, policy, `path "`+mount+`/data/myapp/*" { capabilities = ["read"] }`)
	tok := vault.CreateToken(t, map[string]any{"policies": []string{policy}, "ttl": "1h"})
	c := newClient(t, tok)

	if _, err := c.GetSecret(ctx(t), mount+"/data/myapp/config"); err != nil {
		t.Fatalf("allowed read: %v", err)
	}
	_, err := c.GetSecret(ctx(t), mount+"/data/other/config")
	if !errors.Is(err, gdsvault.ErrPermissionDenied) || errors.Is(err, gdsvault.ErrInvalidToken) {
		t.Fatalf("read outside the policy: err = %v, want ErrPermissionDenied", err)
	}
	var re *gdsvault.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden || re.Path != mount+"/data/other/config" {
		t.Fatalf("ResponseError = %#v", re)
	}
	if !slices.Equal(re.Capabilities, []string{"deny"}) || !strings.Contains(re.Hint, "read on "+mount+"/data/other/config") {
		t.Errorf("hint = %q, capabilities = %v", re.Hint, re.Capabilities)
	}
	_, err = c.KV().Put(ctx(t), mount+"/myapp/config", map[string]any{"x": "y"})
	if !errors.Is(err, gdsvault.ErrPermissionDenied) || !errors.As(err, &re) || !slices.Equal(re.Capabilities, []string{"read"}) {
		t.Errorf("write with a read-only policy: %v (capabilities %v)", err, re.Capabilities)
	}
	assertNoSecret(t, "error", err.Error(), tok, vault.RootToken)
}

func TestInvalidToken(t *testing.T) {
	vault.Require(t)
	tok := vault.CreateToken(t, map[string]any{"policies": []string{"default"}, "ttl": "1h"})
	vault.Must(t, http.MethodPost, "auth/token/revoke", map[string]any{"token": tok})
	for name, tk := range map[string]string{"revoked": tok, "never existed": "hvs.not-a-real-token-at-all"} {
		c := newClient(t, tk)
		_, err := c.GetSecret(ctx(t), "secret/data/myapp/config")
		if !errors.Is(err, gdsvault.ErrInvalidToken) || errors.Is(err, gdsvault.ErrPermissionDenied) {
			t.Errorf("%s token: err = %v, want ErrInvalidToken", name, err)
			continue
		}
		assertNoSecret(t, "error", err.Error(), tk)
		var re *gdsvault.ResponseError
		if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden || !strings.Contains(re.Hint, "log in again") {
			t.Errorf("%s token: %#v", name, re)
		}
	}
}

func TestSealed(t *testing.T) {
	vault.Require(t)
	s := vaulttest.Start(t, vaulttest.Options{})
	c, err := gdsvault.New(gdsvault.WithAddress(s.Addr), gdsvault.WithToken(s.RootToken))
	if err != nil {
		t.Fatal(err)
	}
	s.PutKV(t, "secret", "myapp/config", map[string]any{"db_host": "h"})
	if _, err := c.GetSecret(ctx(t), "secret/myapp/config"); err != nil {
		t.Fatal(err)
	}
	s.Seal(t)
	_, err = c.GetSecret(ctx(t), "secret/myapp/config")
	if !errors.Is(err, gdsvault.ErrSealed) || !errors.Is(err, gdsvault.ErrUnavailable) {
		t.Fatalf("read while sealed: %v, want ErrSealed", err)
	}
	var re *gdsvault.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusServiceUnavailable || !strings.Contains(re.Hint, "unseal") {
		t.Errorf("%#v", re)
	}
	if h, err := c.Health(ctx(t)); err != nil || !h.Sealed || !h.Initialized {
		t.Errorf("Health while sealed: %+v, %v", h, err)
	}
	s.Unseal(t)
	if _, err := c.GetSecret(ctx(t), "secret/myapp/config"); err != nil {
		t.Fatalf("after unseal: %v", err)
	}
	if h, err := c.Health(ctx(t)); err != nil || h.Sealed || h.Version == "" {
		t.Errorf("Health after unseal: %+v, %v", h, err)
	}
}

func TestRateLimited(t *testing.T) {
	vault.Require(t)
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	vault.PutKV(t, mount, "x", map[string]any{"k": "v"})
	quota := vault.UniqueName("quota")
	vault.Must(t, http.MethodPost, "sys/quotas/config", map[string]any{"enable_rate_limit_response_headers": true})
	vault.Must(t, http.MethodPost, "sys/quotas/rate-limit/"+quota, map[string]any{"path": mount + "/", "rate": 1, "interval": "60s"})
	t.Cleanup(func() { vault.Must(t, http.MethodDelete, "sys/quotas/rate-limit/"+quota, nil) })
	c := newClient(t, vault.RootToken)
	var err error
	for i := 0; i < 5 && err == nil; i++ { // the quota allows one request a minute
		_, err = c.Read(ctx(t), mount+"/data/x")
	}
	if !errors.Is(err, gdsvault.ErrRateLimited) {
		t.Fatalf("err = %v, want ErrRateLimited", err)
	}
	var re *gdsvault.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusTooManyRequests || re.RetryAfter <= 0 {
		t.Errorf("%#v (RetryAfter %v)", re, re.RetryAfter)
	}
}

func TestConnectionRefused(t *testing.T) {
	vault.Require(t)
	s := vaulttest.Start(t, vaulttest.Options{})
	addr := s.Addr
	s.Stop()
	c, err := gdsvault.New(gdsvault.WithAddress(addr), gdsvault.WithToken("t"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetSecret(ctx(t), "secret/x")
	var ce *gdsvault.ConnectionError
	if !errors.Is(err, gdsvault.ErrConnection) || !errors.As(err, &ce) || ce.Address != addr {
		t.Fatalf("err = %v, want a ConnectionError for %s", err, addr)
	}
}

// A token without the default policy cannot look itself up: a denial by
// policy must stay ErrPermissionDenied and must not make the client log in
// again.
func TestDenialForTokenWithoutDefaultPolicy(t *testing.T) {
	vault.Require(t)
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	vault.PutKV(t, mount, "other", map[string]any{"k": "v"})
	pol := vault.UniqueName("pol")
	vault.WritePolicy(t, pol, `path "`+mount+`/data/mine" { capabilities = ["read"] }`)
	tok := vault.CreateToken(t, map[string]any{"policies": []string{pol}, "no_default_policy": true})
	c := newClient(t, tok)
	_, err := c.Read(ctx(t), mount+"/data/other")
	if !errors.Is(err, gdsvault.ErrPermissionDenied) || errors.Is(err, gdsvault.ErrInvalidToken) {
		t.Fatalf("err = %v, want ErrPermissionDenied", err)
	}
}

package gdsvault_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gdsvault/gdsvault"
)

// A token without the default policy cannot look itself up: a denial by
// policy must stay ErrPermissionDenied and must not make the client log in
// again.
func TestDenialForTokenWithoutDefaultPolicy(t *testing.T) {
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

// "secret/data/metadata/x" is the API form of the secret "metadata/x".
func TestKVPathStripsOnePrefix(t *testing.T) {
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	c := newClient(t, vault.RootToken)
	if _, err := c.KV().Put(ctx(t), mount+"/data/metadata/x", map[string]any{"k": "nested"}); err != nil {
		t.Fatal(err)
	}
	out := vault.Must(t, http.MethodGet, mount+"/data/metadata/x", nil)
	if vaultData(out)["k"] != "nested" {
		t.Fatalf("the write did not land at metadata/x: %v", out)
	}
	if _, err := c.GetSecret(ctx(t), mount+"/x"); !errors.Is(err, gdsvault.ErrNotFound) {
		t.Errorf("a secret appeared at x: %v", err)
	}
}

func vaultData(out map[string]any) map[string]any {
	d, _ := out["data"].(map[string]any)
	inner, _ := d["data"].(map[string]any)
	return inner
}

// A KV write through the client also refreshes a generic Read of the API
// form from the cache.
func TestKVWriteInvalidatesGenericRead(t *testing.T) {
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	c := newClient(t, vault.RootToken, gdsvault.WithCache())
	if _, err := c.KV().Put(ctx(t), mount+"/app", map[string]any{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	if s, err := c.Read(ctx(t), mount+"/data/app"); err != nil || s.Data["data"].(map[string]any)["v"] != "1" {
		t.Fatalf("first read %v %v", s, err)
	}
	if _, err := c.KV().Put(ctx(t), mount+"/app", map[string]any{"v": "2"}); err != nil {
		t.Fatal(err)
	}
	if s, err := c.Read(ctx(t), mount+"/data/app"); err != nil || s.Data["data"].(map[string]any)["v"] != "2" {
		t.Fatalf("read after the write: %v %v (served from the cache)", s.Data, err)
	}
}

// An http.Client without a Timeout: the client's own deadline must cover
// reading the body, not end when the headers arrive.
func TestHTTPClientWithoutTimeoutReadsWholeBodies(t *testing.T) {
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	vault.PutKV(t, mount, "big", map[string]any{"blob": strings.Repeat("x", 200_000)})
	c := newClient(t, vault.RootToken, gdsvault.WithHTTPClient(&http.Client{}))
	for i := range 30 {
		if s, err := c.GetSecret(ctx(t), mount+"/big"); err != nil || len(s.Data["blob"].(string)) != 200_000 {
			t.Fatalf("read %d: %v", i, err)
		}
	}
}

// The token never follows a redirect to another host over plain http.
func TestTokenDoesNotFollowRedirects(t *testing.T) {
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Vault-Token") != "" {
			leaked.Store(true)
		}
		w.Write([]byte(`{"data":{}}`))
	}))
	defer other.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	c := newClient(t, "hvs.must-not-travel", gdsvault.WithAddress(redirector.URL), gdsvault.WithMaxRetries(0))
	_, err := c.Read(context.Background(), "secret/data/x")
	if err == nil || !strings.Contains(err.Error(), "redirect") || leaked.Load() {
		t.Fatalf("err = %v, token leaked = %v", err, leaked.Load())
	}
}

package gdsvault_test

import (
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/approle"
	"go.uber.org/goleak"
)

// lifecycleLab provisions a KV secret, a policy and an AppRole role with the
// given token TTLs on fresh mounts, and returns the KV path and a method.
func lifecycleLab(t *testing.T, roleParams map[string]any) (string, *approle.Method) {
	t.Helper()
	kv, ar := vault.UniqueName("kv"), vault.UniqueName("approle")
	vault.EnableSecrets(t, kv, "kv", map[string]any{"version": "2"})
	vault.PutKV(t, kv, "myapp/config", map[string]any{"db_host": "postgres.example.com"})
	pol := vault.UniqueName("pol")
	vault.WritePolicy(t, pol, `path "`+kv+`/data/myapp/*" { capabilities = ["read"] }`)
	vault.EnableAuth(t, ar, "approle")
	params := map[string]any{"token_policies": pol}
	for k, v := range roleParams {
		params[k] = v
	}
	vault.CreateAppRole(t, ar, "myapp", params)
	m, err := approle.New(gdsvault.CredentialValue(vault.RoleID(t, ar, "myapp")), gdsvault.CredentialValue(vault.SecretID(t, ar, "myapp")),
		approle.WithMountPath(ar))
	if err != nil {
		t.Fatal(err)
	}
	return kv + "/data/myapp/config", m
}

// TestLifecycleRealVault: token_ttl=2s, token_max_ttl=6s; 64 goroutines read
// for 30 s while the client renews and logs in again by itself, with a CPU
// hog on every core; halfway the token is revoked from outside. No read may
// fail. (make soak runs it 10 times, and 10 more with GOMAXPROCS=1.)
func TestLifecycleRealVault(t *testing.T) {
	vault.Require(t)
	if testing.Short() {
		t.Skip("30 s soak; run without -short")
	}
	t.Parallel()
	cpuHog(t)
	path, m := lifecycleLab(t, map[string]any{"token_ttl": "2s", "token_max_ttl": "6s"})
	var cnt counter
	c := newClient(t, "", gdsvault.WithAuth(m), gdsvault.WithEvents(cnt.event))
	if err := c.Authenticate(ctx(t)); err != nil {
		t.Fatal(err)
	}
	revoked := false
	reads, failed, err := hammer(c, path, 64, 30*time.Second, 5_000_000, func() {
		time.Sleep(15 * time.Second) // let the soak run; this is the moment of the outside revocation, not a wait for logic
		cnt.mu.Lock()
		acc := cnt.accessor
		cnt.mu.Unlock()
		vault.Must(t, http.MethodPost, "auth/token/revoke-accessor", map[string]any{"accessor": acc})
		revoked = true
	})
	cnt.mu.Lock()
	logins, renewals := cnt.logins, cnt.renewals
	cnt.mu.Unlock()
	t.Logf("FIGURE soak 30 s, 64 readers, CPU hog x%d, GOMAXPROCS=%d: %d reads, %d failed, %d logins, %d renewals (token revoked from outside at 15 s: %t)",
		2*runtime.NumCPU(), runtime.GOMAXPROCS(0), reads, failed, logins, renewals, revoked)
	if failed != 0 {
		t.Fatalf("%d of %d reads failed; first: %v", failed, reads, err)
	}
	// 30 s of a 6 s max TTL: at least 5 re-logins, and renewals in between
	// (no floor on reads: the machine may be slow).
	if logins < 6 || renewals < 10 || reads == 0 {
		t.Errorf("logins %d (want >= 6), renewals %d (want >= 10), reads %d", logins, renewals, reads)
	}
	if err := c.Close(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

// TestSingleUseSecretIDRealVault: a secret ID that works once. The client
// logs in once and keeps its token alive by renewals; when the max TTL
// forces a new login, reads fail with an error that says the secret ID is
// used up.
func TestSingleUseSecretIDRealVault(t *testing.T) {
	vault.Require(t)
	if testing.Short() {
		t.Skip("20 s soak; run without -short")
	}
	t.Parallel()
	path, m := lifecycleLab(t, map[string]any{"token_ttl": "2s", "token_max_ttl": "12s", "secret_id_num_uses": 1})
	var cnt counter
	c := newClient(t, "", gdsvault.WithAuth(m), gdsvault.WithEvents(cnt.event))
	start := time.Now()
	reads, failed, err := hammer(c, path, 4, 10*time.Second, 1_000_000, nil)
	cnt.mu.Lock()
	logins, renewals := cnt.logins, cnt.renewals
	cnt.mu.Unlock()
	t.Logf("single-use secret ID, first 10 s: %d reads, %d failed, %d logins, %d renewals", reads, failed, logins, renewals)
	if failed != 0 || logins != 1 || renewals < 4 {
		t.Fatalf("before max TTL: %d failed (%v), %d logins (want 1), %d renewals", failed, err, logins, renewals)
	}
	// Past the max TTL (12 s) a new login is unavoidable, and it must fail clearly.
	var lastErr error
	for time.Since(start) < 20*time.Second {
		_, lastErr = c.GetSecret(ctx(t), path)
		if lastErr != nil {
			break
		}
		time.Sleep(100 * time.Millisecond) // polling the real server with a deadline
	}
	if !errors.Is(lastErr, gdsvault.ErrAuthFailed) || !strings.Contains(lastErr.Error(), "used up") {
		t.Fatalf("after max TTL: err = %v, want ErrAuthFailed saying the secret ID is used up", lastErr)
	}
	t.Logf("failed at %v with: %v", time.Since(start).Round(100*time.Millisecond), lastErr)
	c.Close(ctx(t))
}

// TestCloseLeavesNoGoroutines: a client that logged in, renewed and was
// closed leaves no goroutine behind, and its token is revoked.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	vault.Require(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	path, m := lifecycleLab(t, map[string]any{"token_ttl": "1h"})
	var cnt counter
	c, err := gdsvault.New(gdsvault.WithAddress(vault.Addr), gdsvault.WithAuth(m), gdsvault.WithEvents(cnt.event))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSecret(ctx(t), path); err != nil {
		t.Fatal(err)
	}
	cnt.mu.Lock()
	acc := cnt.accessor
	cnt.mu.Unlock()
	if err := c.Close(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := vault.Do(ctx(t), http.MethodPost, "auth/token/lookup-accessor", map[string]any{"accessor": acc}); err == nil {
		t.Error("the token is still valid after Close: not revoked")
	}
}

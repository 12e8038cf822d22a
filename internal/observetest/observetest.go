// Package observetest holds what the tests of gdsvault's observers
// (metrics/prom, trace/otel) share: a real Vault of the test's own, set up
// for their scripted run, and the AppRole login of that run, which keeps
// the tokens Vault issued for the leak scans.
package observetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/approle"
	"github.com/gdsvault/gdsvault/vaulttest"
)

// Lab is a Vault started for one test (the scripted run seals it) with the
// secret secret/app/config {"password": value}, a policy app-read that reads
// it, a token with that policy, and an AppRole role "app" with the policy
// and tokens of 4 s, renewable up to 1 h.
type Lab struct {
	Server *vaulttest.Server
	// Limited is a token with the policy app-read.
	Limited string
	// RoleID and Wrapped, a wrapping token of a secret ID (1 min), log in
	// as "app".
	RoleID, Wrapped string
}

// NewLab starts and sets up the lab; value is the secret's password.
func NewLab(tb testing.TB, value string) *Lab {
	tb.Helper()
	srv := vaulttest.Start(tb, vaulttest.Options{})
	srv.PutKV(tb, "secret", "app/config", map[string]any{"password": value})
	srv.WritePolicy(tb, "app-read", `path "secret/data/app/*" { capabilities = ["read"] }`)
	limited := srv.CreateToken(tb, map[string]any{"policies": []string{"app-read"}})
	srv.EnableAuth(tb, "approle", "approle")
	srv.CreateAppRole(tb, "approle", "app", map[string]any{"token_policies": "app-read", "token_ttl": "4s", "token_max_ttl": "1h"})
	return &Lab{Server: srv, Limited: limited, RoleID: srv.RoleID(tb, "approle", "app"), Wrapped: srv.WrappedSecretID(tb, "approle", "app", time.Minute)}
}

// Login returns the lab's AppRole login with the wrapped secret ID.
func (l *Lab) Login(tb testing.TB) *RecordingLogin {
	tb.Helper()
	m, err := approle.New(gdsvault.CredentialValue(l.RoleID), gdsvault.Credential{},
		approle.WithWrappedSecretID(gdsvault.CredentialValue(l.Wrapped)), approle.WithRoleName("app"))
	if err != nil {
		tb.Fatal(err)
	}
	return &RecordingLogin{method: m}
}

// RecordingLogin is an AppRole login that keeps the token and the accessor
// of every login. It names itself "approle" (gdsvault.MethodNamer).
type RecordingLogin struct {
	method gdsvault.AuthMethod

	mu     sync.Mutex
	issued []string
}

// Login logs in and keeps what Vault issued.
func (r *RecordingLogin) Login(ctx context.Context, c *gdsvault.Client) (*gdsvault.Auth, error) {
	a, err := r.method.Login(ctx, c)
	if a != nil {
		r.mu.Lock()
		r.issued = append(r.issued, a.ClientToken.Reveal(), a.Accessor)
		r.mu.Unlock()
	}
	return a, err
}

// MethodName is "approle".
func (r *RecordingLogin) MethodName() string { return "approle" }

// Issued returns the tokens and accessors of the logins so far.
func (r *RecordingLogin) Issued() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.issued)
}

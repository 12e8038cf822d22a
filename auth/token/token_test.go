package token_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/token"
	"github.com/gdsvault/gdsvault/vaulttest"
)

var vault *vaulttest.Server

func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m, vaulttest.Options{}, &vault)) }

func TestTokenLogin(t *testing.T) {
	vault.Require(t)
	ctx := vaulttest.Context(t)
	tok := vault.CreateToken(t, map[string]any{"policies": []string{"default"}, "ttl": "2h", "renewable": true})
	c, _ := gdsvault.New(gdsvault.WithAddress(vault.Addr))

	m, err := token.New(gdsvault.CredentialValue(tok))
	if err != nil {
		t.Fatal(err)
	}
	a, err := m.Login(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if a.ClientToken.Reveal() != tok || !a.Renewable || a.TTL() <= time.Hour || a.TTL() > 2*time.Hour || a.TokenType != "service" || m.Reobtainable() {
		t.Errorf("lookup = %+v", a)
	}
	if s := fmt.Sprintf("%v %+v %#v", m, m, a); strings.Contains(s, tok) {
		t.Errorf("prints the token: %s", s)
	}

	// A token file is re-read at every login.
	next := vault.CreateToken(t, map[string]any{"policies": []string{"default"}, "ttl": "1h"})
	file := vaulttest.WriteFile(t, ".vault-token", []byte(tok))
	fm, _ := token.New(gdsvault.CredentialFile(file))
	if a, err := fm.Login(ctx, c); err != nil || a.ClientToken.Reveal() != tok || !fm.Reobtainable() {
		t.Fatalf("file login: %v", err)
	}
	os.WriteFile(file, []byte(next+"\n"), 0o600)
	if a, err := fm.Login(ctx, c); err != nil || a.ClientToken.Reveal() != next {
		t.Fatalf("file not re-read: %v", err)
	}

	// A token without the default policy cannot look itself up, and still works.
	pol := vault.UniqueName("pol")
	vault.WritePolicy(t, pol, `path "secret/data/*" { capabilities = ["read"] }`)
	bare := vault.CreateToken(t, map[string]any{"policies": []string{pol}, "no_default_policy": true})
	bm, _ := token.New(gdsvault.CredentialValue(bare))
	if a, err := bm.Login(ctx, c); err != nil || a.ClientToken.Reveal() != bare || a.LeaseDuration != 0 {
		t.Errorf("token without lookup-self: %+v, %v", a, err)
	}

	// A revoked token fails as invalid, without showing itself.
	vault.Must(t, http.MethodPost, "auth/token/revoke", map[string]any{"token": tok})
	_, err = m.Login(ctx, c)
	if !errors.Is(err, gdsvault.ErrInvalidToken) || !errors.Is(err, gdsvault.ErrAuthFailed) || strings.Contains(err.Error(), tok) {
		t.Errorf("revoked: %v", err)
	}
	if _, err := token.New(gdsvault.Credential{}); !errors.Is(err, gdsvault.ErrConfig) {
		t.Errorf("empty: %v", err)
	}
}

package userpass_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/userpass"
	"github.com/gdsvault/gdsvault/vaulttest"
)

var vault *vaulttest.Server

func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m, vaulttest.Options{}, &vault)) }

func TestUserpass(t *testing.T) {
	vault.Require(t)
	ctx := vaulttest.Context(t)
	mount := vault.UniqueName("up")
	vault.EnableAuth(t, mount, "userpass")
	const pw = "correct horse battery staple"
	vault.Must(t, "POST", "auth/"+mount+"/users/alice", map[string]any{"password": pw, "token_policies": "default"})

	m, err := userpass.New("alice", gdsvault.CredentialFile(vaulttest.WriteFile(t, "pw", []byte(pw))), userpass.WithMountPath(mount))
	if err != nil {
		t.Fatal(err)
	}
	c, err := gdsvault.New(gdsvault.WithAddress(vault.Addr), gdsvault.WithAuth(m))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.LookupToken(ctx, gdsvault.Token{}); !errors.Is(err, gdsvault.ErrConfig) {
		t.Errorf("LookupToken(empty) = %v", err)
	}
	// A request makes the client log in.
	s, err := c.Read(ctx, "auth/token/lookup-self")
	if err != nil || s.Data["display_name"] != mount+"-alice" {
		t.Fatalf("lookup-self after login: %v %v", s, err)
	}

	bad, _ := userpass.New("alice", gdsvault.CredentialValue("wrong password"), userpass.WithMountPath(mount))
	c2, _ := gdsvault.New(gdsvault.WithAddress(vault.Addr))
	_, err = bad.Login(ctx, c2)
	if !errors.Is(err, gdsvault.ErrAuthFailed) || strings.Contains(err.Error(), "wrong password") {
		t.Errorf("wrong password: %v", err)
	}
	if s := fmt.Sprintf("%v %+v %#v", m, bad, bad); strings.Contains(s, "wrong password") || strings.Contains(s, pw) {
		t.Errorf("method prints the password: %s", s)
	}
	if _, err := userpass.New("", gdsvault.Credential{}); err == nil || !strings.Contains(err.Error(), "VAULT_USERNAME") || !strings.Contains(err.Error(), "VAULT_PASSWORD") {
		t.Errorf("validation: %v", err)
	}
}

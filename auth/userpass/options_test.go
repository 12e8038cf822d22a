package userpass_test

import (
	"context"
	"testing"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/internal/optiontest"
	"github.com/gdsvault/gdsvault/auth/userpass"
)

// TestNewRejectsBadOptions feeds every option of New a bad value: each is a
// *gdsvault.ConfigError naming it, several come back joined, nothing panics.
func TestNewRejectsBadOptions(t *testing.T) {
	pw := gdsvault.CredentialValue("pw")
	newM := func(user string, pw gdsvault.Credential, opts ...userpass.Option) func() (any, error) {
		return func() (any, error) { return userpass.New(user, pw, opts...) }
	}
	optiontest.Run(t, []optiontest.Case{
		optiontest.Bad("no username", newM(" ", pw), "username"),
		optiontest.Bad("no password", newM("alice", gdsvault.Credential{}), "password"),
		optiontest.Bad("empty mount", newM("alice", pw, userpass.WithMountPath("auth/")), "userpass mount path"),
		optiontest.Bad("bad mount", newM("alice", pw, userpass.WithMountPath("a#b")), "userpass mount path"),
		optiontest.Bad("joined", newM("", gdsvault.Credential{}, nil, userpass.WithMountPath("..")), "username", "password", "userpass mount path"),
	})
	m, err := userpass.New("alice", pw, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Login(context.Background(), nil)
	optiontest.Check(t, err, "client")
}

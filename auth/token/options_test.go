package token_test

import (
	"context"
	"testing"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/internal/optiontest"
	"github.com/gdsvault/gdsvault/auth/token"
)

// TestNewRejectsBadValues: New has no options, only its credential; a
// missing one is a *gdsvault.ConfigError, and Login with no client is one
// too, not a panic.
func TestNewRejectsBadValues(t *testing.T) {
	optiontest.Run(t, []optiontest.Case{
		optiontest.Bad("no token", func() (any, error) { return token.New(gdsvault.Credential{}) }, "token"),
		optiontest.Bad("blank token", func() (any, error) { return token.New(gdsvault.CredentialValue(" \n")) }, "token"),
	})
	m, err := token.New(gdsvault.CredentialValue("t"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Login(context.Background(), nil)
	optiontest.Check(t, err, "client")
}

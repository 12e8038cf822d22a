package jwt_test

import (
	"context"
	"testing"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/internal/optiontest"
	"github.com/gdsvault/gdsvault/auth/jwt"
)

// TestNewRejectsBadOptions feeds every option of New a bad value: each is a
// *gdsvault.ConfigError naming it, several come back joined, nothing panics.
func TestNewRejectsBadOptions(t *testing.T) {
	tok := jwt.WithToken(gdsvault.CredentialValue("a.b.c"))
	newM := func(role string, opts ...jwt.Option) func() (any, error) {
		return func() (any, error) { return jwt.New(role, opts...) }
	}
	optiontest.Run(t, []optiontest.Case{
		optiontest.Bad("no role", newM("", tok), "jwt role"),
		optiontest.Bad("no token", newM("ci"), "jwt token"),
		optiontest.Bad("empty token", newM("ci", jwt.WithToken(gdsvault.Credential{})), "jwt token"),
		optiontest.Bad("empty mount", newM("ci", tok, jwt.WithMountPath("/")), "jwt mount path"),
		optiontest.Bad("bad mount", newM("ci", tok, jwt.WithMountPath("ci/ gitlab")), "jwt mount path"),
		optiontest.Bad("joined", newM(" ", nil, jwt.WithToken(gdsvault.Credential{}), jwt.WithMountPath("")), "jwt role", "jwt token", "jwt mount path"),
	})
	m, err := jwt.New("ci", nil, tok)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Login(context.Background(), nil)
	optiontest.Check(t, err, "client")
}

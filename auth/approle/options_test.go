package approle_test

import (
	"context"
	"testing"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/approle"
	"github.com/gdsvault/gdsvault/auth/internal/optiontest"
)

// TestNewRejectsBadOptions feeds every option of New a bad value: each is a
// *gdsvault.ConfigError naming it, several come back joined, nothing panics.
func TestNewRejectsBadOptions(t *testing.T) {
	v := gdsvault.CredentialValue("x")
	newM := func(role, secret gdsvault.Credential, opts ...approle.Option) func() (any, error) {
		return func() (any, error) { return approle.New(role, secret, opts...) }
	}
	optiontest.Run(t, []optiontest.Case{
		optiontest.Bad("no role id", newM(gdsvault.Credential{}, v), "role ID"),
		optiontest.Bad("no secret id", newM(v, gdsvault.Credential{}), "secret ID"),
		optiontest.Bad("two secret ids", newM(v, v, approle.WithWrappedSecretID(v)), "secret ID"),
		optiontest.Bad("empty mount", newM(v, v, approle.WithMountPath(" / ")), "approle mount path"),
		optiontest.Bad("bad mount", newM(v, v, approle.WithMountPath("a/../b")), "approle mount path"),
		optiontest.Bad("empty wrapped secret id", newM(v, gdsvault.Credential{}, approle.WithWrappedSecretID(gdsvault.Credential{})),
			"wrapped secret ID", "secret ID"),
		optiontest.Bad("empty role name", newM(v, v, approle.WithRoleName(" ")), "approle role name"),
		optiontest.Bad("bad role name", newM(v, v, approle.WithRoleName("my role/*")), "approle role name"),
		optiontest.Bad("empty wrapping path", newM(v, v, approle.WithWrappingPath("")), "approle wrapping path"),
		optiontest.Bad("bad wrapping path", newM(v, v, approle.WithWrappingPath("auth/approle/role/[a-/secret-id")), "approle wrapping path"),
		optiontest.Bad("joined", newM(gdsvault.Credential{}, v, nil, approle.WithMountPath(""), approle.WithRoleName("a b"), approle.WithWrappingPath("[")),
			"role ID", "approle mount path", "approle role name", "approle wrapping path"),
	})

	t.Run("valid, nil options skipped", func(t *testing.T) {
		_, err := approle.New(v, gdsvault.Credential{}, nil, approle.WithWrappedSecretID(v), approle.WithRoleName("my-app.v2"),
			approle.WithWrappingPath("/auth/approle/role/*/secret-id"), approle.WithoutSecretID(), approle.WithMountPath("approle"))
		optiontest.Check(t, err, "secret ID") // wrapped and WithoutSecretID together
		m, err := approle.New(v, v, nil, approle.WithRoleName("my-app.v2"), approle.WithWrappingPath("/auth/approle/role/*/secret-id"))
		if err != nil || m == nil {
			t.Fatalf("New = %v, %v", m, err)
		}
		_, err = m.Login(context.Background(), nil)
		optiontest.Check(t, err, "client")
	})
}

package kubernetes_test

import (
	"context"
	"testing"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/internal/optiontest"
	"github.com/gdsvault/gdsvault/auth/kubernetes"
)

// TestNewRejectsBadOptions feeds every option of New a bad value: each is a
// *gdsvault.ConfigError naming it, several come back joined, nothing panics.
func TestNewRejectsBadOptions(t *testing.T) {
	newM := func(role string, opts ...kubernetes.Option) func() (any, error) {
		return func() (any, error) { return kubernetes.New(role, opts...) }
	}
	optiontest.Run(t, []optiontest.Case{
		optiontest.Bad("no role", newM(" "), "kubernetes role"),
		optiontest.Bad("empty token", newM("app", kubernetes.WithToken(gdsvault.Credential{})), "kubernetes token"),
		optiontest.Bad("empty mount", newM("app", kubernetes.WithMountPath("")), "kubernetes mount path"),
		optiontest.Bad("bad mount", newM("app", kubernetes.WithMountPath("clusters/%2e%2e")), "kubernetes mount path"),
		optiontest.Bad("joined", newM("", nil, kubernetes.WithToken(gdsvault.Credential{}), kubernetes.WithMountPath("/auth/")),
			"kubernetes role", "kubernetes token", "kubernetes mount path"),
	})
	m, err := kubernetes.New("app", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Login(context.Background(), nil)
	optiontest.Check(t, err, "client")
}

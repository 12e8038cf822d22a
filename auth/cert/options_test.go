package cert_test

import (
	"context"
	"testing"

	"github.com/gdsvault/gdsvault/auth/cert"
	"github.com/gdsvault/gdsvault/auth/internal/optiontest"
)

// TestNewRejectsBadOptions feeds every option of New a bad value: each is a
// *gdsvault.ConfigError naming it, several come back joined, nothing panics.
func TestNewRejectsBadOptions(t *testing.T) {
	newM := func(opts ...cert.Option) func() (any, error) { return func() (any, error) { return cert.New(opts...) } }
	optiontest.Run(t, []optiontest.Case{
		optiontest.Bad("empty mount", newM(cert.WithMountPath("")), "cert mount path"),
		optiontest.Bad("bad mount", newM(cert.WithMountPath("a b")), "cert mount path"),
		optiontest.Bad("bad name", newM(cert.WithName("web/*")), "cert role name"),
		optiontest.Bad("joined", newM(cert.WithMountPath("?"), nil, cert.WithName("a b")), "cert mount path", "cert role name"),
	})
	m, err := cert.New(nil, cert.WithName(""), cert.WithName(" web-1 "), cert.WithMountPath("/auth/team/cert/"))
	if err != nil || m == nil {
		t.Fatalf("New = %v, %v", m, err)
	}
	_, err = m.Login(context.Background(), nil)
	optiontest.Check(t, err, "client")
}

package gcp_test

import (
	"context"
	"testing"

	"github.com/gdsvault/gdsvault/auth/gcp"
	"github.com/gdsvault/gdsvault/auth/internal/optiontest"
)

// TestNewRejectsBadOptions feeds every option of New a bad value: each is a
// *gdsvault.ConfigError naming it, several come back joined, nothing panics.
func TestNewRejectsBadOptions(t *testing.T) {
	newM := func(role string, opts ...gcp.Option) func() (any, error) {
		return func() (any, error) { return gcp.New(role, opts...) }
	}
	optiontest.Run(t, []optiontest.Case{
		optiontest.Bad("no role", newM(""), "gcp role"),
		optiontest.Bad("bad role", newM("web app"), "gcp role"),
		optiontest.Bad("empty mount", newM("web", gcp.WithMountPath("")), "gcp mount path"),
		optiontest.Bad("bad mount", newM("web", gcp.WithMountPath("a?b")), "gcp mount path"),
		optiontest.Bad("empty metadata host", newM("web", gcp.WithMetadataHost(" ")), "gcp metadata host"),
		optiontest.Bad("bad metadata host", newM("web", gcp.WithMetadataHost("http://host/path")), "gcp metadata host"),
		optiontest.Bad("metadata host with user", newM("web", gcp.WithMetadataHost("user@host")), "gcp metadata host"),
		optiontest.Bad("empty service account", newM("web", gcp.WithIAMServiceAccount("")), "gcp service account"),
		optiontest.Bad("bad service account", newM("web", gcp.WithIAMServiceAccount("a b@c")), "gcp service account"),
		optiontest.Bad("bad IAM endpoint", newM("web", gcp.WithIAMEndpoint("ftp://iam")), "gcp IAM endpoint"),
		optiontest.Bad("IAM endpoint with query", newM("web", gcp.WithIAMEndpoint("https://iam?x=1")), "gcp IAM endpoint"),
		optiontest.Bad("nil http client", newM("web", gcp.WithHTTPClient(nil)), "gcp http client"),
		optiontest.Bad("joined", newM("", nil, gcp.WithMountPath(""), gcp.WithMetadataHost(""), gcp.WithIAMServiceAccount(""),
			gcp.WithIAMEndpoint(""), gcp.WithHTTPClient(nil)),
			"gcp role", "gcp mount path", "gcp metadata host", "gcp service account", "gcp IAM endpoint", "gcp http client"),
	})
	m, err := gcp.New("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Login(context.Background(), nil)
	optiontest.Check(t, err, "client")
}

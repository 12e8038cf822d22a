package azure_test

import (
	"context"
	"testing"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/azure"
	"github.com/gdsvault/gdsvault/auth/internal/optiontest"
)

// TestNewRejectsBadOptions feeds every option of New a bad value: each is a
// *gdsvault.ConfigError naming it, several come back joined, nothing panics.
func TestNewRejectsBadOptions(t *testing.T) {
	newM := func(role string, opts ...azure.Option) func() (any, error) {
		return func() (any, error) { return azure.New(role, opts...) }
	}
	file := gdsvault.CredentialFile("/var/run/secrets/azure/tokens/azure-identity-token")
	optiontest.Run(t, []optiontest.Case{
		optiontest.Bad("no role", newM(""), "azure role"),
		optiontest.Bad("bad role", newM("-web"), "azure role"),
		optiontest.Bad("empty mount", newM("web", azure.WithMountPath("")), "azure mount path"),
		optiontest.Bad("bad mount", newM("web", azure.WithMountPath("a\\b")), "azure mount path"),
		optiontest.Bad("empty resource", newM("web", azure.WithResource("")), "azure resource"),
		optiontest.Bad("bad resource", newM("web", azure.WithResource("https://x y")), "azure resource"),
		optiontest.Bad("bad IMDS endpoint", newM("web", azure.WithIMDSEndpoint("169.254.169.254")), "azure IMDS endpoint"),
		optiontest.Bad("bad authority host", newM("web", azure.WithAuthorityHost("https://user@login")), "azure authority host"),
		optiontest.Bad("empty client id", newM("web", azure.WithClientID("")), "azure client id"),
		optiontest.Bad("bad client id", newM("web", azure.WithClientID("a/b")), "azure client id"),
		optiontest.Bad("empty workload identity", newM("web", azure.WithWorkloadIdentity("", "", gdsvault.Credential{})),
			"azure tenant id", "azure client id", "azure federated token file"),
		optiontest.Bad("bad tenant", newM("web", azure.WithWorkloadIdentity("-tenant-", "cid", file)), "azure tenant id"),
		optiontest.Bad("client id with workload identity", newM("web", azure.WithClientID("c1"), azure.WithWorkloadIdentity("t", "c2", file)),
			"azure client id"),
		optiontest.Bad("empty vm", newM("web", azure.WithVM("", "", "", "")), "azure vm"),
		optiontest.Bad("bad vm name", newM("web", azure.WithVM("sub", "rg", "vm/1", "")), "azure vm"),
		optiontest.Bad("nil http client", newM("web", azure.WithHTTPClient(nil)), "azure http client"),
		optiontest.Bad("joined", newM("", nil, azure.WithMountPath(""), azure.WithResource(""), azure.WithIMDSEndpoint(""), azure.WithAuthorityHost(""),
			azure.WithClientID(""), azure.WithVM("", "", "", ""), azure.WithHTTPClient(nil)),
			"azure role", "azure mount path", "azure resource", "azure IMDS endpoint", "azure authority host",
			"azure client id", "azure vm", "azure http client"),
	})
	m, err := azure.New("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Login(context.Background(), nil)
	optiontest.Check(t, err, "client")
}

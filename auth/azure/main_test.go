package azure_test

import (
	"net/http"
	"os"
	"testing"

	"github.com/gdsvault/gdsvault/vaulttest"
)

// vault is the real dev server shared by this package's tests; each test
// enables its own azure mount.
var vault *vaulttest.Server

func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m, vaulttest.Options{}, &vault)) }

const (
	tenantID       = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	subscriptionID = "0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0"
	resourceGroup  = "rg-vault-test"
)

// azureMount enables the azure auth method on a fresh mount, configured with
// a tenant and the default resource (Vault accepts both without asking
// Azure), and creates role there.
func azureMount(t testing.TB, role map[string]any) (mount, roleName string) {
	t.Helper()
	mount = vault.UniqueName("azure")
	vault.EnableAuth(t, mount, "azure")
	vault.Must(t, http.MethodPost, "auth/"+mount+"/config", map[string]any{"tenant_id": tenantID, "resource": "https://management.azure.com/"})
	roleName = vault.UniqueName("role")
	vault.Must(t, http.MethodPost, "auth/"+mount+"/role/"+roleName, role)
	return mount, roleName
}

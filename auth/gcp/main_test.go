package gcp_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/gdsvault/gdsvault/vaulttest"
)

// vault is the real dev server shared by this package's tests; each test
// enables its own gcp mount.
var vault *vaulttest.Server

// google stands in for the Google APIs the real Vault calls when a mount's
// custom_endpoint points at it (only TestIAMLoginAcceptedByVault does).
var google *googleAPIs

// testKey signs the stand-ins' tokens (one RSA key for the whole binary).
var testKey *signingKey

func TestMain(m *testing.M) {
	var err error
	if testKey, err = newSigningKey(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	google = newGoogleAPIs()
	// The Vault server's gcp auth method takes the credentials of its own
	// IAM client from the "metadata server" named by GCE_METADATA_HOST, as
	// on a GCE instance: the stand-in. vaulttest passes the environment to
	// the server; the variable is removed again before the tests run (the
	// package under test never reads it anyway).
	os.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(google.URL, "http://"))
	code := vaulttest.Main(m, vaulttest.Options{}, &vault, func(*vaulttest.Server) { os.Unsetenv("GCE_METADATA_HOST") })
	google.Close()
	os.Exit(code)
}

// gcpMount enables the gcp auth method on a fresh mount, with config when
// given, and creates role there.
func gcpMount(t testing.TB, config, role map[string]any) (mount, roleName string) {
	t.Helper()
	mount = vault.UniqueName("gcp")
	vault.EnableAuth(t, mount, "gcp")
	if config != nil {
		vault.Must(t, http.MethodPost, "auth/"+mount+"/config", config)
	}
	roleName = vault.UniqueName("role")
	vault.Must(t, http.MethodPost, "auth/"+mount+"/role/"+roleName, role)
	return mount, roleName
}

package approle_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/approle"
)

// A role ID from the environment and a secret ID from a file that is read
// again at every login (so a rotated secret ID is picked up), on a custom
// mount. The client logs in at its first request and keeps its token valid.
func Example() {
	m, err := approle.New(
		gdsvault.CredentialValue(os.Getenv("VAULT_ROLE_ID")),
		gdsvault.CredentialFile("/run/secrets/secret-id"),
		approle.WithMountPath("team-a/approle"),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	client, err := gdsvault.New(gdsvault.WithAddress("https://vault.example.com:8200"), gdsvault.WithAuth(m))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close(context.Background()) // stops renewing, revokes the token it logged in for
	// secret, err := client.GetSecret(ctx, "secret/data/myapp/config")
}

// A response-wrapped secret ID is checked (it must have been created for
// this role's secret-id path) and unwrapped once; a wrapping token that is
// unknown, used or created elsewhere is ErrWrappingTampered and is never
// tried again.
func Example_wrappedSecretID() {
	wrapped := gdsvault.CredentialFile("/run/secrets/wrapped-secret-id") // or CredentialValue(os.Getenv("VAULT_WRAPPED_SECRET_ID"))
	m, err := approle.New(gdsvault.CredentialValue("role-id"), gdsvault.Credential{},
		approle.WithWrappedSecretID(wrapped), approle.WithRoleName("myapp"))
	fmt.Println(m != nil, err)
	// Output:
	// true <nil>
}

// Bad options come back together, as one *gdsvault.ConfigError each.
func ExampleNew_badOptions() {
	_, err := approle.New(gdsvault.Credential{}, gdsvault.CredentialValue("s"), approle.WithMountPath("a/../b"))
	var ce *gdsvault.ConfigError
	fmt.Println(errors.As(err, &ce), errors.Is(err, gdsvault.ErrConfig))
	// Output:
	// true true
}

// Command wrapped_secret_id is the seed's "Secure Secret ID delivery": the
// orchestrator hands the application a response-wrapping token
// (VAULT_WRAPPED_SECRET_ID) instead of the secret ID. gdsvault checks that the
// token exists and was created for the AppRole secret-id path, unwraps it on
// its own request, and logs in. A token someone else already unwrapped is
// refused as possible interception (exit code 5).
//
//	VAULT_ROLE_ID=... VAULT_WRAPPED_SECRET_ID=... go run ./examples/wrapped_secret_id
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/approle"
)

func main() {
	err := run()
	switch {
	case errors.Is(err, gdsvault.ErrWrappingTampered):
		fmt.Fprintln(os.Stderr, "SECURITY:", err)
		os.Exit(5)
	case err != nil:
		fmt.Fprintln(os.Stderr, "wrapped_secret_id:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	method, err := approle.New(
		gdsvault.CredentialValue(os.Getenv("VAULT_ROLE_ID")),
		gdsvault.Credential{},
		approle.WithWrappedSecretID(gdsvault.CredentialValue(os.Getenv("VAULT_WRAPPED_SECRET_ID"))),
		approle.WithRoleName("myapp"), // the token must come from auth/approle/role/myapp/secret-id
	)
	if err != nil {
		return err
	}
	client, err := gdsvault.New(gdsvault.WithAddress(os.Getenv("VAULT_ADDR")), gdsvault.WithAuth(method))
	if err != nil {
		return err
	}
	defer client.Close(ctx)

	secret, err := client.GetSecret(ctx, "secret/data/myapp/config")
	if err != nil {
		return err
	}
	fmt.Printf("Unwrapped the secret ID, logged in with AppRole. Database: %v\n", secret.Data["db_host"])
	return nil
}

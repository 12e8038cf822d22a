// Command approle_auth is exercise 2 of the seed's hands-on lab: log in with
// the role ID and secret ID the lab exported (ROLE_ID, SECRET_ID) and read
// secret/data/myapp/config with the role's policy.
//
//	ROLE_ID=... SECRET_ID=... VAULT_ADDR=http://127.0.0.1:8200 go run ./examples/approle_auth
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/approle"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "approle_auth:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	vaultAddr := os.Getenv("VAULT_ADDR")
	if vaultAddr == "" {
		vaultAddr = gdsvault.DefaultAddress
	}
	method, err := approle.New(
		gdsvault.CredentialValue(os.Getenv("ROLE_ID")),
		gdsvault.CredentialValue(os.Getenv("SECRET_ID")),
		approle.WithMountPath("approle"), // the seed's auth_mount_path
	)
	if err != nil {
		return err // names ROLE_ID / SECRET_ID problems, never their values
	}
	client, err := gdsvault.New(gdsvault.WithAddress(vaultAddr), gdsvault.WithAuth(method))
	if err != nil {
		return err
	}
	defer client.Close(ctx) // the seed's `with ... as client:`

	secret, err := client.GetSecret(ctx, "secret/data/myapp/config")
	if err != nil {
		return err
	}
	fmt.Printf("Database: %v\n", secret.Data["db_host"])
	return nil
}

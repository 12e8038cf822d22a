// Command token_auth is exercise 1 of the seed's hands-on lab ("Token
// authentication"): read VAULT_ADDR and VAULT_TOKEN from the environment,
// read secret/data/myapp/config and print the database host and user.
//
//	VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=root go run ./examples/token_auth
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/gdsvault/gdsvault/auth"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "token_auth:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The seed's `with VaultClient() as client:` — the environment is read
	// here, explicitly, and Close runs when we are done.
	client, err := auth.FromEnv(os.LookupEnv)
	if err != nil {
		return err
	}
	defer client.Close(ctx)

	secret, err := client.GetSecret(ctx, "secret/data/myapp/config")
	if err != nil {
		return err
	}
	fmt.Printf("Database: %v\n", secret.Data["db_host"])
	fmt.Printf("Username: %v\n", secret.Data["db_user"])
	return nil
}

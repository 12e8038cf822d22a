// Command vault_config is exercise 3 of the seed's hands-on lab: the same
// program logs in with whatever the environment says (VAULT_AUTH_METHOD, or
// the decision tree of package auth) and reads secret/data/myapp/config.
//
//	VAULT_AUTH_METHOD=token VAULT_TOKEN=root go run ./examples/vault_config
//	VAULT_AUTH_METHOD=approle VAULT_ROLE_ID=... VAULT_SECRET_ID=... go run ./examples/vault_config
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/gdsvault/gdsvault/auth"
	"github.com/gdsvault/gdsvault/config"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "vault_config:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cfg, err := config.Load(config.Source{Lookup: os.LookupEnv}) // env, and GDSVAULT_CONFIG's YAML section if set
	if err != nil {
		return err
	}
	client, decision, err := auth.NewClient(cfg, nil)
	if err != nil {
		return err
	}
	defer client.Close(ctx)

	secret, err := client.GetSecret(ctx, "secret/data/myapp/config")
	if err != nil {
		return err
	}
	fmt.Printf("Auth method: %s (%s)\n", decision.Method, decision.Reason)
	fmt.Printf("Database: %v\n", secret.Data["db_host"])
	return nil
}

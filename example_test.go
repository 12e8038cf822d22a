package gdsvault_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth"
)

// The seed's "Using environment variables": VAULT_ADDR and VAULT_TOKEN are
// read by an explicit call, then the secret is read by its API path.
func Example() {
	ctx := context.Background()
	client, err := auth.FromEnv(os.LookupEnv)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(ctx)

	secret, err := client.GetSecret(ctx, "secret/data/myapp/config")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Database:", secret.Data["db_host"])
	fmt.Println("Username:", secret.Data["db_user"])
	// Output:
	// Database: postgres.example.com
	// Username: myapp
}

// The seed's "Basic token authentication": address and token given
// explicitly (load the token from a secure source, never from code).
func ExampleNew() {
	ctx := context.Background()
	token := os.Getenv("VAULT_TOKEN")
	if token == "" {
		log.Fatal("VAULT_TOKEN environment variable required")
	}
	client, err := gdsvault.New(
		gdsvault.WithAddress(os.Getenv("VAULT_ADDR")),
		gdsvault.WithToken(token),
		gdsvault.WithTimeout(5*time.Second),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(ctx)

	secret, err := client.GetSecret(ctx, "secret/myapp/config") // the CLI form works too
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(secret) // printing a secret shows its keys, never its values
	// Output: KVSecret{path=secret/myapp/config kv=v2 version=1 keys=[db_host db_pass db_user]}
}

// Errors are matched with errors.Is; a 404 is an error, never a nil secret.
func ExampleKV_Get_notFound() {
	ctx := context.Background()
	client, err := auth.FromEnv(os.LookupEnv)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(ctx)

	_, err = client.KV().Get(ctx, "secret/myapp/missing")
	switch {
	case errors.Is(err, gdsvault.ErrNotFound):
		fmt.Println("no such secret")
	case errors.Is(err, gdsvault.ErrPermissionDenied):
		fmt.Println("the token's policy does not allow this read")
	case err != nil:
		log.Fatal(err)
	}
	// Output: no such secret
}

// Write a new version with check-and-set, then read an older one.
func ExampleKV_Put() {
	ctx := context.Background()
	client, err := auth.FromEnv(os.LookupEnv)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(ctx)
	kv := client.KV()

	if _, err := kv.Put(ctx, "secret/example/put", map[string]any{"color": "blue"}, gdsvault.CAS(0)); err != nil {
		log.Fatal(err)
	}
	meta, err := kv.Put(ctx, "secret/example/put", map[string]any{"color": "green"}, gdsvault.CAS(1))
	if err != nil {
		log.Fatal(err)
	}
	first, err := kv.Get(ctx, "secret/example/put", gdsvault.SecretVersion(1))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("now at version", meta.Version, "- version 1 was", first.Data["color"])
	// Output: now at version 2 - version 1 was blue
}

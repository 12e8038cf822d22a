package kubernetes_test

import (
	"context"
	"fmt"
	"log"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/kubernetes"
)

// A pod logs in with its mounted service account token (read again at every
// login, since the kubelet rotates it) and reads a secret. It needs a
// cluster and a Vault configured for it, so it is compiled, not run.
func Example() {
	ctx := context.Background()
	method, err := kubernetes.New("my-app") // the Vault role bound to this service account
	if err != nil {
		log.Fatal(err)
	}
	client, err := gdsvault.New(
		gdsvault.WithAddress("https://vault.example.com:8200"),
		gdsvault.WithAuth(method), // logs in on the first request
	)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(ctx)

	secret, err := client.GetSecret(ctx, "secret/my-app/config")
	if err != nil {
		log.Fatal(err) // errors.Is(err, gdsvault.ErrAuthFailed) when the login is refused
	}
	fmt.Println(secret.Data["db_host"])
}

// Options name another mount (a second cluster) and another token file.
func ExampleNew() {
	method, err := kubernetes.New("my-app",
		kubernetes.WithMountPath("clusters/prod"),
		kubernetes.WithToken(gdsvault.CredentialFile("/var/run/secrets/vault/token")),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(method)
	// Output: kubernetes(role=my-app, mount=clusters/prod)
}

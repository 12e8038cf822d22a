package gcp_test

import (
	"context"
	"log"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/gcp"
)

// On a GCE instance (or GKE pod with Workload Identity, or Cloud Run), log
// in with the instance's identity token for the Vault role "web".
func ExampleNew() {
	method, err := gcp.New("web")
	if err != nil {
		log.Fatal(err)
	}
	client, err := gdsvault.New(
		gdsvault.WithAddress("https://vault.example.com:8200"),
		gdsvault.WithAuth(method), // logs in at the first request, and again when the token is invalid
	)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(context.Background())

	secret, err := client.GetSecret(context.Background(), "secret/web/config")
	if err != nil {
		log.Fatal(err) // a refused login matches gdsvault.ErrAuthFailed; a missing metadata server is a *gcp.Error
	}
	log.Println(secret.Data["db_host"])
}

// The IAM flow: the IAM API signs a JWT for a service account that the Vault
// role (type "iam") lists in bound_service_accounts.
func ExampleWithIAMServiceAccount() {
	method, err := gcp.New("batch",
		gcp.WithMountPath("gcp-prod"),
		gcp.WithIAMServiceAccount("vault-batch@my-project.iam.gserviceaccount.com"),
	)
	if err != nil {
		log.Fatal(err)
	}
	client, err := gdsvault.New(gdsvault.WithAddress("https://vault.example.com:8200"))
	if err != nil {
		log.Fatal(err)
	}
	auth, err := method.Login(context.Background(), client)
	if err != nil {
		log.Fatal(err)
	}
	log.Println("policies:", auth.Policies, "ttl:", auth.TTL())
}

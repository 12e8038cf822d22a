package azure_test

import (
	"context"
	"log"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/azure"
)

// On an Azure VM or scale set instance with a managed identity, log in with
// an IMDS token for the Vault role "web".
func ExampleNew() {
	method, err := azure.New("web")
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
		log.Fatal(err) // a refused login matches gdsvault.ErrAuthFailed; a missing IMDS is a *azure.Error
	}
	log.Println(secret.Data["db_host"])
}

// On AKS with workload identity: the webhook injects AZURE_TENANT_ID,
// AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE; the config package turns
// them into this option. The token file is read again at every login.
func ExampleWithWorkloadIdentity() {
	method, err := azure.New("web",
		azure.WithMountPath("azure-aks"),
		azure.WithWorkloadIdentity(
			"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
			"5e1f0000-aaaa-4bbb-8ccc-000000000042",
			gdsvault.CredentialFile("/var/run/secrets/azure/tokens/azure-identity-token"),
		),
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

// A user-assigned managed identity, on a machine whose details are known
// (no instance metadata call).
func ExampleWithVM() {
	method, err := azure.New("batch",
		azure.WithClientID("c0ffee00-0000-4000-8000-000000000001"),
		azure.WithVM("0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0", "rg-batch", "", "vmss-batch"),
	)
	if err != nil {
		log.Fatal(err)
	}
	_ = method
}

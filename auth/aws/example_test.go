package aws_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/aws"
)

// A service on EC2, ECS or EKS logs in with its role's credentials, found by
// the standard AWS chain, and reads a secret. The Vault side:
//
//	vault auth enable aws
//	vault write auth/aws/config/client iam_server_id_header_value=vault.example.com
//	vault write auth/aws/role/app auth_type=iam \
//	    bound_iam_principal_arn=arn:aws:iam::123456789012:role/app token_policies=app
func Example() {
	m, err := aws.New("app", aws.WithServerIDHeader("vault.example.com"))
	if err != nil {
		log.Fatal(err)
	}
	client, err := gdsvault.New(gdsvault.WithAddress(os.Getenv("VAULT_ADDR")), gdsvault.WithAuth(m))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	defer client.Close(ctx)

	secret, err := client.GetSecret(ctx, "secret/app/config")
	if err != nil {
		log.Fatal(err) // errors.Is(err, gdsvault.ErrAuthFailed), errors.Is(err, aws.ErrCredentials), ...
	}
	fmt.Println(secret.Data["db_host"])
}

// A Vault whose aws auth method calls the regional STS endpoint
// (sts_endpoint=https://sts.eu-west-1.amazonaws.com, sts_region=eu-west-1)
// needs requests signed for that region.
func ExampleWithRegion() {
	m, err := aws.New("app", aws.WithRegion("eu-west-1"), aws.WithMountPath("aws-eu"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.STSEndpoint())
	fmt.Println(m)
	// Output:
	// https://sts.eu-west-1.amazonaws.com/
	// aws auth (mount auth/aws-eu, role "app", region eu-west-1, sts https://sts.eu-west-1.amazonaws.com/, credentials from the default AWS chain)
}

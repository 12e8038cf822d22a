package jwt_test

import (
	"context"
	"fmt"
	"log"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/jwt"
)

// A CI job logs in with the identity token its runner writes to a file (read
// again at every login) and reads a deploy secret. It needs a Vault that
// trusts the issuer, so it is compiled, not run.
func Example() {
	ctx := context.Background()
	method, err := jwt.New("ci-deploy", // a role with role_type=jwt
		jwt.WithToken(gdsvault.CredentialFile("/run/secrets/vault-id-token")),
	)
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

	secret, err := client.GetSecret(ctx, "secret/ci/deploy")
	if err != nil {
		log.Fatal(err) // errors.Is(err, gdsvault.ErrAuthFailed) when the token is refused
	}
	fmt.Println(secret.Data["deploy_key"] != nil)
}

// The token is required; the mount defaults to "jwt".
func ExampleNew() {
	_, err := jwt.New("ci-deploy")
	fmt.Println(err)

	method, _ := jwt.New("ci-deploy",
		jwt.WithMountPath("ci/gitlab"),
		jwt.WithToken(gdsvault.CredentialFile("/run/secrets/vault-id-token")),
	)
	fmt.Println(method)
	// Output:
	// gdsvault: jwt token: is not set (pass jwt.WithToken(gdsvault.CredentialFile(path)) with the file your token issuer writes)
	// jwt(role=ci-deploy, mount=ci/gitlab)
}

// Package jwt logs in to Vault with a signed JSON Web Token, through Vault's
// jwt auth method: a token from a CI system (GitHub Actions, GitLab), a
// workload identity provider or any issuer whose keys Vault trusts
// (jwt_validation_pubkeys, jwks_url or oidc_discovery_url at
// auth/<mount>/config).
//
// The token is required and is usually a file that its issuer refreshes; it
// is read again at every login, never cached:
//
//	method, err := jwt.New("ci-deploy", // the Vault role (role_type=jwt)
//		jwt.WithToken(gdsvault.CredentialFile("/var/run/secrets/tokens/vault")),
//	)
//	if err != nil {
//		return err
//	}
//	client, err := gdsvault.New(
//		gdsvault.WithAddress("https://vault.example.com:8200"),
//		gdsvault.WithAuth(method), // logs in on first use, and again when the token is revoked
//	)
//
// Vault checks the signature, the expiry and the role's bindings
// (bound_audiences, bound_subject, bound_claims). A refused login matches
// gdsvault.ErrAuthFailed; an unreadable or empty token file matches
// gdsvault.ErrConfig. No error, log line or printed form of a Method ever
// holds the token.
package jwt

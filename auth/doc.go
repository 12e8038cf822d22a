// Package auth chooses how a program logs in to Vault, following the seed's
// decision tree ("Where is your app running?"), and builds the client.
//
// Detect decides, in this order:
//
//  1. An explicit method wins: VAULT_AUTH_METHOD (or auth_method in the YAML
//     file) = token, approle, kubernetes, aws, gcp, azure, jwt, userpass or
//     cert. Missing settings for it are an error that names each one.
//  2. Kubernetes, when running in a pod (KUBERNETES_SERVICE_HOST is set) and
//     VAULT_K8S_ROLE is set.
//  3. Cloud IAM, when a cloud role is set: VAULT_AWS_ROLE, then
//     VAULT_GCP_ROLE, then VAULT_AZURE_ROLE.
//  4. AppRole, when VAULT_ROLE_ID and a secret ID (VAULT_SECRET_ID,
//     VAULT_SECRET_ID_FILE or VAULT_WRAPPED_SECRET_ID) are set.
//  5. Token, last: VAULT_TOKEN or ~/.vault-token. Token auth is for
//     development: when ENVIRONMENT=production it is chosen only if asked for
//     explicitly (VAULT_AUTH_METHOD=token).
//
// When nothing fits, the error lists each method tried and what it lacked.
//
// The AWS method lives in its own module (github.com/gdsvault/gdsvault/auth/aws)
// so that the AWS SDK stays out of programs that do not use it; pass
// WithAWS(awsauth.FromConfig) to let Detect choose it.
package auth

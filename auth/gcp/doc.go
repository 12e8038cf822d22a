// Package gcp logs in to Vault with its Google Cloud auth method ("gcp"),
// using only the standard library.
//
// Two flows are supported, the same two the vault CLI and Vault Agent offer:
//
//   - GCE (the default): the metadata server of the Compute Engine instance,
//     GKE pod (Workload Identity) or Cloud Run service signs an identity token
//     for the audience "vault/<role>" (format=full, so that a Vault role of
//     type "gce" sees the instance's project, zone and name). It works with
//     roles of type "gce", and with roles of type "iam" that allow GCE
//     inference.
//   - IAM (WithIAMServiceAccount): the metadata server hands out an OAuth
//     access token for the instance's service account, and the IAM Service
//     Account Credentials API (signJwt) signs a JWT {"sub": <service account>,
//     "aud": "vault/<role>", "exp": now+15 min} with a key of the named
//     service account. It works with roles of type "iam". The instance's
//     service account needs roles/iam.serviceAccountTokenCreator on the named
//     one (which may be itself).
//
// Either way the token is posted to auth/<mount>/login as {"role", "jwt"}.
// Identity tokens, access tokens and signed JWTs never appear in an error,
// a log line or String; an error from the metadata server or the IAM API is a
// *Error naming the endpoint, the HTTP status and a hint.
//
// # How it is tested
//
// Vault verifies these tokens with Google's services: it fetches Google's
// signing keys (www.googleapis.com) and looks the service account or
// instance up in the IAM and Compute APIs. Those cannot be reached from the
// test machine, and neither can a real metadata server. So the tests cover
// what this package does: they gather credentials from local stand-ins (a
// metadata server that checks the Metadata-Flavor header and the audience,
// an IAM signJwt endpoint that checks the bearer token and the payload), and
// they record, through a reverse proxy, the exact login request a real Vault
// 1.21 server receives. That real Vault rejects the tokens (it cannot reach
// Google to verify them), and the tests check that its refusal comes back as
// gdsvault.ErrAuthFailed without the token in the message. One test also
// points that real Vault's gcp mount at local stand-ins of Google's APIs
// (custom_endpoint, and GCE_METADATA_HOST for Vault's own credentials) so
// that it verifies the JWT produced by the IAM flow and issues a token.
//
// # Configuration
//
// This package never reads the environment. The config package maps
// variables to options (and auth.Detect picks this method when
// VAULT_AUTH_METHOD=gcp, or when VAULT_GCP_ROLE is set):
//
//	VAULT_GCP_ROLE             role passed to New (required; VAULT_ROLE with VAULT_AUTH_METHOD=gcp)
//	VAULT_AUTH_MOUNT           WithMountPath (default "gcp")
//	VAULT_GCP_SERVICE_ACCOUNT  WithIAMServiceAccount (switches to the IAM flow)
//	GCE_METADATA_HOST          WithMetadataHost (Google's own convention, e.g. for an emulator)
//
// WithIAMEndpoint and WithHTTPClient have no variable: they are for tests and
// for programs that need a proxy or special transport.
//
// The metadata server is contacted without any HTTP proxy (it is a
// link-local address, like Google's own libraries do); the IAM API through
// net/http's default proxy settings, like the gdsvault client itself. Each
// call is bounded by the context and by the HTTP client's timeout (5 s by
// default), so a machine without a metadata server fails fast.
package gcp

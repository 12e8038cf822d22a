// Package azure logs in to Vault with its Azure auth method ("azure"),
// using only the standard library.
//
// Vault's azure method takes an Azure AD (Entra ID) access token for the
// resource configured on the mount (auth/<mount>/config "resource", by
// default https://management.azure.com/) and, when the role is bound to
// subscriptions, resource groups, locations or scale sets, the machine the
// token belongs to. Two ways of getting that token are supported:
//
//   - Managed identity (the default): the Instance Metadata Service (IMDS) of
//     the Azure VM or scale set instance issues the token
//     (GET /metadata/identity/oauth2/token, with client_id for a
//     user-assigned identity, WithClientID), and describes the machine
//     (GET /metadata/instance): subscription, resource group, VM name or
//     scale set name. WithVM gives those values instead and skips the second
//     call.
//   - Workload identity (WithWorkloadIdentity), as on AKS: the federated
//     service account token in a file (re-read at every login, since the
//     kubelet rotates it) is exchanged at
//     <authority>/<tenant>/oauth2/v2.0/token (client credentials grant with a
//     JWT client assertion) for an access token with scope <resource>/.default.
//     IMDS is not asked at all: the login carries the machine fields only
//     when WithVM gives them, so the Vault role should be bound to the
//     identity (bound_service_principal_ids, bound_group_ids) rather than to
//     a VM.
//
// The login is a POST to auth/<mount>/login with {"role", "jwt",
// "subscription_id", "resource_group_name", and "vmss_name" for a scale set
// instance or "vm_name" otherwise}; the machine fields are left out when
// unknown. Access tokens and client assertions never appear in an error, a
// log line or String; an error from IMDS or Azure AD is a *Error naming the
// endpoint, the HTTP status, Azure's error code and a hint.
//
// # How it is tested
//
// Vault verifies these tokens with Microsoft's services: it reads the
// tenant's OpenID configuration and signing keys from login.microsoftonline.com
// and, for VM-bound roles, looks the VM up in Azure Resource Manager. Those
// cannot be reached from the test machine (and Vault's azure method has no
// setting to point it elsewhere), and neither can a real IMDS. So the tests
// cover what this package does: they gather credentials from local stand-ins
// (an IMDS that checks the Metadata: true header, api-version, resource and
// client_id; an Azure AD token endpoint that checks every form field,
// including a client assertion read from a file the test rotates between
// two logins), and they record, through a reverse proxy, the exact login
// request a real Vault 1.21 server receives. That real Vault then fails to
// fetch the tenant's OpenID configuration and answers 500 (Vault's azure
// method reports verification failures as internal errors), which comes
// back as gdsvault.ErrInternal; a login Vault refuses outright (an unknown
// role, say) is a 400 and comes back as gdsvault.ErrAuthFailed. Neither error
// holds the token.
//
// # Configuration
//
// This package never reads the environment. The config package maps
// variables to options (and auth.Detect picks this method when
// VAULT_AUTH_METHOD=azure, or when VAULT_AZURE_ROLE is set); the AZURE_*
// names are the ones the AKS workload identity webhook injects and the Azure
// SDKs read:
//
//	VAULT_AZURE_ROLE            role passed to New (required; VAULT_ROLE with VAULT_AUTH_METHOD=azure)
//	VAULT_AUTH_MOUNT            WithMountPath (default "azure")
//	VAULT_AZURE_RESOURCE        WithResource (default https://management.azure.com/)
//	AZURE_AUTHORITY_HOST        WithAuthorityHost (default https://login.microsoftonline.com/)
//	AZURE_FEDERATED_TOKEN_FILE  with AZURE_TENANT_ID and AZURE_CLIENT_ID:
//	                            WithWorkloadIdentity(AZURE_TENANT_ID, AZURE_CLIENT_ID,
//	                            gdsvault.CredentialFile(AZURE_FEDERATED_TOKEN_FILE))
//	AZURE_CLIENT_ID             alone: WithClientID (a user-assigned managed identity)
//
// WithVM has no variable: the machine comes from IMDS unless a program gives
// it. WithIMDSEndpoint and WithHTTPClient have none either: they are for
// tests and for programs that need a special transport.
//
// IMDS is contacted without any HTTP proxy (it is a link-local address, as
// the Azure SDKs do); Azure AD through net/http's default proxy settings,
// like the gdsvault client itself. Each call is bounded by the context and by
// the HTTP client's timeout (5 s by default), so a machine without IMDS fails
// fast.
package azure

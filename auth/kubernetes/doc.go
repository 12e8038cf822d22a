// Package kubernetes logs in to Vault with a Kubernetes service account
// token, through Vault's kubernetes auth method.
//
// Inside a pod the token is the file Kubernetes mounts at DefaultTokenPath.
// Projected service account tokens expire and are rotated by the kubelet, so
// the file is read again at every login, never cached:
//
//	method, err := kubernetes.New("my-app") // the Vault role
//	if err != nil {
//		return err
//	}
//	client, err := gdsvault.New(
//		gdsvault.WithAddress("https://vault.example.com:8200"),
//		gdsvault.WithAuth(method), // logs in on first use, and again when the token is revoked
//	)
//
// Vault checks the token by sending it to the TokenReview API of the
// cluster configured at auth/<mount>/config: the service account named in
// the token must be bound to the role (bound_service_account_names and
// bound_service_account_namespaces), and the API server must still accept
// the token.
//
// A refused login matches gdsvault.ErrAuthFailed; an unreadable or empty
// token file matches gdsvault.ErrConfig. No error, log line or printed form
// of a Method ever holds the token.
package kubernetes

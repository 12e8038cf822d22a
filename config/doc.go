// Package config turns the environment (and a YAML file) into gdsvault
// client options and auth settings. It is the only package of gdsvault that
// reads environment variables, and it reads them only when asked: through a
// lookup function such as os.LookupEnv, so tests pass their own.
//
// Variables are the ones a Vault user already knows (VAULT_ADDR, VAULT_ADDRS
// for a cluster's nodes, comma separated, VAULT_TOKEN,
// VAULT_NAMESPACE, VAULT_CACERT, VAULT_CAPATH, VAULT_CLIENT_CERT,
// VAULT_CLIENT_KEY, VAULT_SKIP_VERIFY, VAULT_TLS_SERVER_NAME,
// VAULT_CLIENT_TIMEOUT, VAULT_MAX_RETRIES). OpenBao's BAO_* twins are read
// too and win when both are set, as with the bao CLI: a setup named for
// OpenBao is not overridden by a stale VAULT_ADDR. Without VAULT_TOKEN, the token file the vault
// CLI writes (~/.vault-token) is read.
//
// Each auth method's settings have a struct of their own (AppRole,
// Kubernetes, JWT, Userpass, Cert, AWS, GCP, Azure). Which settings a method
// needs and when it is chosen is not decided here but in the table of
// package auth (auth.Methods); a method added there in its own package reads
// its settings with Config.Env and Config.EnvCredential, with no change to
// this package.
package config

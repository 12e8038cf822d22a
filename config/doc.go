// Package config turns the environment (and, later, a YAML file) into
// gdsvault client options. It is the only package of gdsvault that reads
// environment variables, and it reads them only when asked: through a lookup
// function such as os.LookupEnv, so tests pass their own.
//
// Variables are the ones a Vault user already knows (VAULT_ADDR, VAULT_TOKEN,
// VAULT_NAMESPACE, VAULT_CACERT, VAULT_CAPATH, VAULT_CLIENT_CERT,
// VAULT_CLIENT_KEY, VAULT_SKIP_VERIFY, VAULT_TLS_SERVER_NAME,
// VAULT_CLIENT_TIMEOUT, VAULT_MAX_RETRIES); OpenBao's BAO_* names are read when
// the VAULT_* name is not set. Without VAULT_TOKEN, the token file the vault
// CLI writes (~/.vault-token) is read.
package config

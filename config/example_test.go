package config_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gdsvault/gdsvault/config"
)

// A YAML file with one section per environment, the environment choosing
// the section and overriding what it sets. Credentials are referenced by
// the name of a variable (or a file), never written in the file.
func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "config-example")
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "vault.yaml")
	_ = os.WriteFile(file, []byte(`
development:
  vault_addr: "http://127.0.0.1:8200"
  auth_method: "token"
  secret_path_prefix: "secret/data/dev"
production:
  vault_addrs: ["https://vault-1:8200", "https://vault-2:8200", "https://vault-3:8200"]
  auth_method: "approle"
  namespace: "production"
  secret_path_prefix: "secret/data/prod"
  role_id_env: APP_ROLE_ID
  secret_id_file: /run/secrets/secret-id
`), 0o600)
	env := map[string]string{"ENVIRONMENT": "production", "APP_ROLE_ID": "role-1234"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	cfg, err := config.Load(config.Source{File: file, Lookup: lookup})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Environment, cfg.AuthMethod, cfg.Namespace, len(cfg.Addresses), "nodes")
	fmt.Println(cfg.SecretPath("myapp/config"))
	fmt.Println("role ID from", cfg.NameOf("role_id"), "- secret ID from", cfg.AppRole.SecretID)
	// Output:
	// production approle production 3 nodes
	// secret/data/prod/myapp/config
	// role ID from APP_ROLE_ID - secret ID from file /run/secrets/secret-id
}

// Every malformed value is reported at once, each naming its variable.
func ExampleFromEnv_errors() {
	env := map[string]string{"VAULT_ADDR": "http://127.0.0.1:8200", "VAULT_CLIENT_TIMEOUT": "soon", "VAULT_MAX_RETRIES": "many"}
	_, err := config.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	fmt.Println(err)
	// Output:
	// gdsvault: VAULT_CLIENT_TIMEOUT: is not a positive duration: "soon" (e.g. 30s or 30)
	// gdsvault: VAULT_MAX_RETRIES: is not a non-negative integer: "many" (e.g. 2)
}

package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
)

// seedYAML is the seed's config/vault.yaml, plus credential references.
const seedYAML = `# config/vault.yaml
development:
  vault_addr: "http://127.0.0.1:8200"
  auth_method: "token"
  secret_path_prefix: "secret/data/dev"

staging:
  vault_addr: "https://vault.staging.example.com:8200"
  auth_method: "approle"
  secret_path_prefix: "secret/data/staging"
  role_id_env: STAGING_ROLE_ID
  secret_id_file: /run/secrets/staging-secret-id

production:
  vault_addr: "https://vault.example.com:8200"
  auth_method: "approle"
  namespace: "production"
  secret_path_prefix: "secret/data/prod"
  auth_mount_path: "approle-prod"
  timeout: 5s
  max_retries: 4
`

func writeYAML(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "vault.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadSeedYAML(t *testing.T) {
	file := writeYAML(t, seedYAML)
	for name, tc := range map[string]struct {
		src  Source
		env  map[string]string
		want func(*Config) bool
	}{
		"ENVIRONMENT unset: development": {Source{File: file}, nil, func(c *Config) bool {
			return c.Environment == "development" && c.AuthMethod == "token" && c.Address == "http://127.0.0.1:8200" &&
				c.SecretPath("myapp/config") == "secret/data/dev/myapp/config"
		}},
		"ENVIRONMENT=staging, credentials by reference": {Source{File: file}, map[string]string{"ENVIRONMENT": "staging", "STAGING_ROLE_ID": "rid"},
			func(c *Config) bool {
				id, _ := c.AppRole.RoleID.Load()
				return c.AuthMethod == "approle" && id.Reveal() == "rid" && c.AppRole.SecretID.File() == "/run/secrets/staging-secret-id" &&
					c.NameOf("role_id") == "STAGING_ROLE_ID"
			}},
		"explicit section beats ENVIRONMENT": {Source{File: file, Environment: "production"}, map[string]string{"ENVIRONMENT": "staging"},
			func(c *Config) bool {
				return c.Namespace == "production" && c.AuthMount == "approle-prod" && c.Timeout == 5*time.Second && c.MaxRetries == 4
			}},
		"environment overrides the file": {Source{File: file, Environment: "production"},
			map[string]string{"VAULT_ADDR": "https://override:8200", "VAULT_NAMESPACE": "other", "VAULT_AUTH_METHOD": "kubernetes", "VAULT_CLIENT_TIMEOUT": "9s"},
			func(c *Config) bool {
				return c.Address == "https://override:8200" && c.Namespace == "other" && c.AuthMethod == "kubernetes" && c.Timeout == 9*time.Second &&
					c.SecretPathPrefix == "secret/data/prod"
			}},
		"GDSVAULT_CONFIG names the file": {Source{}, map[string]string{"GDSVAULT_CONFIG": file, "ENVIRONMENT": "production"},
			func(c *Config) bool { return c.Namespace == "production" }},
	} {
		tc.src.Lookup = env(tc.env)
		c, err := Load(tc.src)
		if err != nil || !tc.want(c) {
			t.Errorf("%s: %+v, %v", name, c, err)
		}
	}
}

func TestLoadClusterYAML(t *testing.T) {
	file := writeYAML(t, `
production:
  vault_addrs: ["https://v1:8200", "https://v2:8200", "https://v3:8200"]
  auth_method: token
`)
	c, err := Load(Source{File: file, Environment: "production", Lookup: env(nil)})
	if err != nil || strings.Join(c.Addresses, ",") != "https://v1:8200,https://v2:8200,https://v3:8200" {
		t.Fatalf("%+v, %v", c, err)
	}
	c, err = Load(Source{File: file, Environment: "production", Lookup: env(map[string]string{"VAULT_ADDRS": "https://a:8200,https://b:8200"})})
	if err != nil || strings.Join(c.Addresses, ",") != "https://a:8200,https://b:8200" {
		t.Errorf("VAULT_ADDRS should override vault_addrs: %+v, %v", c, err)
	}
}

func TestLoadFileErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		yaml, env string
		want      []string
	}{
		"unknown key":        {"development:\n  vault_adr: x\n", "", []string{"vault_adr"}},
		"secret in the file": {"development:\n  secret_id: abc\n", "", []string{"secret_id_env", "secret_id_file"}},
		"missing section":    {seedYAML, "qa", []string{`no section "qa"`, "development, production, staging"}},
		"empty":              {"", "", []string{"is empty"}},
		"not yaml":           {"development: [", "", []string{"not a valid"}},
		"bad values together": {"development:\n  timeout: soon\n  max_retries: -2\n  auth_method: kerberos v5\n  role_id_env: A\n  role_id_file: /b\n", "",
			[]string{"timeout", "max_retries", `"kerberos v5" is not a method name`, "role_id_env and role_id_file"}},
	} {
		_, err := Load(Source{File: writeYAML(t, tc.yaml), Environment: tc.env, Lookup: env(nil)})
		if !errors.Is(err, gdsvault.ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", name, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v does not mention %q", name, err, w)
			}
		}
	}
	if _, err := Load(Source{File: "/nonexistent/vault.yaml", Lookup: env(nil)}); !errors.Is(err, gdsvault.ErrConfig) {
		t.Errorf("missing file: %v", err)
	}
}

func TestPrecedenceTable(t *testing.T) {
	// default < file < environment, field by field.
	file := writeYAML(t, "development:\n  vault_addr: http://file:8200\n  namespace: file-ns\n")
	for _, tc := range []struct {
		env            map[string]string
		addr, ns, meth string
	}{
		{nil, "http://file:8200", "file-ns", ""},
		{map[string]string{"VAULT_ADDR": "http://env:8200"}, "http://env:8200", "file-ns", ""},
		{map[string]string{"BAO_NAMESPACE": "bao-ns"}, "http://file:8200", "bao-ns", ""},
		{map[string]string{"VAULT_NAMESPACE": "v", "BAO_NAMESPACE": "b", "VAULT_AUTH_METHOD": "AppRole"}, "http://file:8200", "b", "approle"},
	} {
		c, err := Load(Source{File: file, Lookup: env(tc.env)})
		if err != nil || c.Address != tc.addr || c.Namespace != tc.ns || c.AuthMethod != tc.meth {
			t.Errorf("env %v: %+v, %v", tc.env, c, err)
		}
	}
	c, _ := Load(Source{Lookup: env(nil)})
	if c.Address != "" || c.Environment != "development" {
		t.Errorf("defaults: %+v", c)
	}
}

func FuzzParseFile(f *testing.F) {
	f.Add(seedYAML)
	f.Add("development:\n  timeout: 3\n")
	f.Add("x: {y: z}")
	f.Fuzz(func(t *testing.T, body string) {
		sections, err := ParseFile(strings.NewReader(body), "f.yaml")
		if err != nil {
			if !errors.Is(err, gdsvault.ErrConfig) {
				t.Fatalf("error %v is not ErrConfig", err)
			}
			return
		}
		for name := range sections {
			file := filepath.Join(t.TempDir(), "v.yaml")
			os.WriteFile(file, []byte(body), 0o600)
			if _, err := Load(Source{File: file, Environment: name, Lookup: env(nil)}); err != nil && !errors.Is(err, gdsvault.ErrConfig) {
				t.Fatalf("Load: %v is not ErrConfig", err)
			}
			_ = fmt.Sprint(name)
		}
	})
}

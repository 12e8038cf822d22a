package config

import (
	"testing"
)

// TestMethodSettings: each method's settings land in its own struct, from
// the environment and from the YAML file.
func TestMethodSettings(t *testing.T) {
	c, err := FromEnv(env(map[string]string{
		"VAULT_ROLE_ID": "rid", "VAULT_SECRET_ID_FILE": "/run/sid", "VAULT_WRAPPED_SECRET_ID": "w", "VAULT_APPROLE_NAME": "app",
		"KUBERNETES_SERVICE_HOST": "10.0.0.1", "VAULT_K8S_ROLE": "k8s", "VAULT_K8S_TOKEN_PATH": "/sa/token",
		"VAULT_JWT_ROLE": "ci", "VAULT_JWT": "eyJ", "VAULT_USERNAME": "u", "BAO_PASSWORD": "p", "VAULT_CERT_ROLE": "web",
		"VAULT_AWS_ROLE": "aws", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "eu-west-1", "VAULT_AWS_HEADER_VALUE": "h", "VAULT_AWS_STS_ENDPOINT": "https://sts",
		"VAULT_GCP_ROLE": "gcp", "VAULT_GCP_SERVICE_ACCOUNT": "sa@p", "GCE_METADATA_HOST": "127.0.0.1:1",
		"VAULT_AZURE_ROLE": "az", "AZURE_CLIENT_ID": "cid", "AZURE_TENANT_ID": "tid", "AZURE_FEDERATED_TOKEN_FILE": "/f", "AZURE_AUTHORITY_HOST": "https://a", "VAULT_AZURE_RESOURCE": "https://r",
		"VAULT_AUTH_MOUNT": "m",
	}))
	if err != nil {
		t.Fatal(err)
	}
	rid, _ := c.AppRole.RoleID.Load()
	checks := map[string]bool{
		"approle":    rid.Reveal() == "rid" && c.AppRole.SecretID.File() == "/run/sid" && !c.AppRole.WrappedSecretID.IsZero() && c.AppRole.RoleName == "app",
		"kubernetes": c.Kubernetes == Kubernetes{Role: "k8s", InPod: true, TokenPath: "/sa/token"},
		"jwt":        c.JWT.Role == "ci" && !c.JWT.Token.IsZero(),
		"userpass":   c.Userpass.Username == "u" && !c.Userpass.Password.IsZero(),
		"cert":       c.Cert == Cert{Role: "web"},
		"aws":        c.AWS == AWS{Role: "aws", Region: "eu-west-1", ServerIDHeader: "h", STSEndpoint: "https://sts"},
		"gcp":        c.GCP == GCP{Role: "gcp", ServiceAccount: "sa@p", MetadataHost: "127.0.0.1:1"},
		"azure":      c.Azure == Azure{Role: "az", ClientID: "cid", TenantID: "tid", FederatedTokenFile: "/f", AuthorityHost: "https://a", Resource: "https://r"},
		// VAULT_AUTH_MOUNT stays generic; a method's own Mount is set only
		// by the program.
		"mount": c.AuthMount == "m" && c.AppRole.Mount == "" && c.AWS.Mount == "",
		"names": c.NameOf("secret_id") == "VAULT_SECRET_ID_FILE" && c.NameOf("VAULT_SECRET_ID") == "VAULT_SECRET_ID_FILE" &&
			c.NameOf("password") == "VAULT_PASSWORD" && c.NameOf("AZURE_TENANT_ID") == "AZURE_TENANT_ID" && c.NameOf("VAULT_TOKEN") == "VAULT_TOKEN",
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("%s: %+v", name, c)
		}
	}

	yaml := writeYAML(t, "production:\n  auth_method: jwt\n  role: deploy\n  jwt_env: CI_JWT\n  password_file: /p\n  azure_client_id: yc\n")
	c, err = Load(Source{File: yaml, Environment: "production", Lookup: env(map[string]string{"CI_JWT": "eyJ", "AZURE_CLIENT_ID": "ec"})})
	if err != nil {
		t.Fatal(err)
	}
	if c.JWT.Role != "deploy" || c.JWT.Token.IsZero() || c.NameOf("jwt") != "CI_JWT" || c.NameOf("VAULT_PASSWORD") != "password_file /p" || c.Azure.ClientID != "ec" {
		t.Errorf("yaml: %+v", c)
	}
}

// TestGenericRole: VAULT_ROLE (the YAML role) fills the role of the explicit
// method only, and never one set by its own variable.
func TestGenericRole(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want func(*Config) bool
	}{
		{map[string]string{"VAULT_ROLE": "r"}, func(c *Config) bool {
			return c.Kubernetes.Role == "" && c.JWT.Role == "" && c.AWS.Role == "" && c.GCP.Role == "" && c.Azure.Role == "" && c.Cert.Role == ""
		}},
		{map[string]string{"VAULT_ROLE": "r", "VAULT_AUTH_METHOD": "gcp"}, func(c *Config) bool { return c.GCP.Role == "r" && c.AWS.Role == "" }},
		{map[string]string{"VAULT_ROLE": "r", "VAULT_AUTH_METHOD": "cert"}, func(c *Config) bool { return c.Cert.Role == "r" }},
		{map[string]string{"VAULT_ROLE": "r", "VAULT_AUTH_METHOD": "kubernetes", "VAULT_K8S_ROLE": "own"}, func(c *Config) bool { return c.Kubernetes.Role == "own" }},
		{map[string]string{"VAULT_ROLE": "r", "VAULT_AUTH_METHOD": "approle"}, func(c *Config) bool { return c.AppRole.RoleName == "" }},
		// A method config does not know is accepted: package auth decides.
		{map[string]string{"VAULT_ROLE": "r", "VAULT_AUTH_METHOD": "ldap"}, func(c *Config) bool { return c.AuthMethod == "ldap" }},
	} {
		c, err := FromEnv(env(tc.env))
		if err != nil || !tc.want(c) {
			t.Errorf("%v: %+v %v", tc.env, c, err)
		}
	}
	if _, err := FromEnv(env(map[string]string{"VAULT_AUTH_METHOD": "app role"})); err == nil {
		t.Error("a method name with a space was accepted")
	}
}

// TestEnv: the settings of a method config has no struct for, read through
// the lookup Load was given.
func TestEnv(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"VAULT_LDAP_USERNAME": " ada ", "BAO_LDAP_GROUP": "g", "VAULT_LDAP_PASSWORD_FILE": "/p", "LDAP_HOST": "h",
		"VAULT_OTHER": "v", "BAO_OTHER": "b"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Env("VAULT_LDAP_USERNAME") != "ada" || c.Env("VAULT_LDAP_GROUP") != "g" || c.Env("LDAP_HOST") != "h" || c.Env("VAULT_OTHER") != "b" || c.Env("VAULT_NONE") != "" {
		t.Error("Env")
	}
	if c.EnvCredential("VAULT_LDAP_PASSWORD").File() != "/p" || !c.EnvCredential("VAULT_NONE").IsZero() {
		t.Error("EnvCredential")
	}
	v, _ := c.EnvCredential("VAULT_OTHER").Load()
	if v.Reveal() != "b" { // BAO_OTHER wins, as in the bao CLI
		t.Error("EnvCredential value")
	}
	var zero Config
	if zero.Env("HOME") != "" || !zero.EnvCredential("VAULT_TOKEN").IsZero() {
		t.Error("a Config not made by Load reads the environment")
	}
}

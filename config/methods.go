package config

import (
	"strings"

	"github.com/gdsvault/gdsvault"
)

// The settings of each auth method, one struct per method. Which of them a
// method needs, and when auth.Detect picks it, is the table of package auth
// (auth.Methods); these structs only hold what the environment and the
// YAML file say. A Mount left empty means Config.AuthMount (VAULT_AUTH_MOUNT),
// then the method's default mount.
//
// An auth method added in its own package needs no struct here: it reads
// its settings with Config.Env and Config.EnvCredential.

// AppRole is VAULT_ROLE_ID(_FILE), VAULT_SECRET_ID(_FILE),
// VAULT_WRAPPED_SECRET_ID(_FILE) and VAULT_APPROLE_NAME.
type AppRole struct {
	RoleID, SecretID, WrappedSecretID gdsvault.Credential
	// RoleName pins the creation path a wrapped secret ID must have.
	RoleName string
	Mount    string
}

// Kubernetes is VAULT_K8S_ROLE, KUBERNETES_SERVICE_HOST (set inside a pod)
// and VAULT_K8S_TOKEN_PATH.
type Kubernetes struct {
	Role      string
	InPod     bool
	TokenPath string
	Mount     string
}

// JWT is VAULT_JWT_ROLE and VAULT_JWT (or VAULT_JWT_FILE).
type JWT struct {
	Role  string
	Token gdsvault.Credential
	Mount string
}

// Userpass is VAULT_USERNAME and VAULT_PASSWORD(_FILE).
type Userpass struct {
	Username string
	Password gdsvault.Credential
	Mount    string
}

// Cert is VAULT_CERT_ROLE, the certificate role to match ("" tries every
// role). The certificate itself is Config.TLS (VAULT_CLIENT_CERT,
// VAULT_CLIENT_KEY).
type Cert struct {
	Role  string
	Mount string
}

// AWS is VAULT_AWS_ROLE, AWS_REGION (or AWS_DEFAULT_REGION),
// VAULT_AWS_HEADER_VALUE and VAULT_AWS_STS_ENDPOINT. Credentials come from
// the AWS SDK's own chain.
type AWS struct {
	Role, Region, ServerIDHeader, STSEndpoint string
	Mount                                     string
}

// GCP is VAULT_GCP_ROLE, VAULT_GCP_SERVICE_ACCOUNT (the IAM flow) and
// GCE_METADATA_HOST.
type GCP struct {
	Role, ServiceAccount, MetadataHost string
	Mount                              string
}

// Azure is VAULT_AZURE_ROLE, AZURE_CLIENT_ID, AZURE_TENANT_ID,
// AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST and VAULT_AZURE_RESOURCE.
type Azure struct {
	Role, ClientID, TenantID, FederatedTokenFile, AuthorityHost, Resource string
	Mount                                                                 string
}

// methodsFromEnv sets, from the environment, every method setting whose
// variable is set.
func (c *Config) methodsFromEnv(r envReader) {
	r.cred(&c.AppRole.RoleID, "ROLE_ID")
	r.cred(&c.AppRole.SecretID, "SECRET_ID")
	r.cred(&c.AppRole.WrappedSecretID, "WRAPPED_SECRET_ID")
	r.str(&c.AppRole.RoleName, "APPROLE_NAME")

	r.str(&c.Kubernetes.Role, "K8S_ROLE")
	if v, ok := r.lookup("KUBERNETES_SERVICE_HOST"); ok && v != "" {
		c.Kubernetes.InPod = true
	}
	r.str(&c.Kubernetes.TokenPath, "K8S_TOKEN_PATH")

	r.str(&c.JWT.Role, "JWT_ROLE")
	r.cred(&c.JWT.Token, "JWT")

	r.str(&c.Userpass.Username, "USERNAME")
	r.cred(&c.Userpass.Password, "PASSWORD")

	r.str(&c.Cert.Role, "CERT_ROLE")

	r.str(&c.AWS.Role, "AWS_ROLE")
	r.plain(&c.AWS.Region, "AWS_DEFAULT_REGION")
	r.plain(&c.AWS.Region, "AWS_REGION")
	r.str(&c.AWS.ServerIDHeader, "AWS_HEADER_VALUE")
	r.str(&c.AWS.STSEndpoint, "AWS_STS_ENDPOINT")

	r.str(&c.GCP.Role, "GCP_ROLE")
	r.str(&c.GCP.ServiceAccount, "GCP_SERVICE_ACCOUNT")
	r.plain(&c.GCP.MetadataHost, "GCE_METADATA_HOST")

	r.str(&c.Azure.Role, "AZURE_ROLE")
	r.plain(&c.Azure.ClientID, "AZURE_CLIENT_ID")
	r.plain(&c.Azure.TenantID, "AZURE_TENANT_ID")
	r.plain(&c.Azure.FederatedTokenFile, "AZURE_FEDERATED_TOKEN_FILE")
	r.plain(&c.Azure.AuthorityHost, "AZURE_AUTHORITY_HOST")
	r.str(&c.Azure.Resource, "AZURE_RESOURCE")
}

// methodsFromSection copies the method settings of a YAML section; ref
// resolves a credential reference (key_env or key_file).
func (c *Config) methodsFromSection(s *Section, ref func(dst *gdsvault.Credential, key, envName, path string)) {
	ref(&c.AppRole.RoleID, "role_id", s.RoleIDEnv, s.RoleIDFile)
	ref(&c.AppRole.SecretID, "secret_id", s.SecretIDEnv, s.SecretIDFile)
	ref(&c.AppRole.WrappedSecretID, "wrapped_secret_id", s.WrappedSecretIDEnv, s.WrappedSecretIDFile)
	c.AppRole.RoleName = s.AppRoleName
	c.Kubernetes.TokenPath = s.KubernetesTokenPath
	ref(&c.JWT.Token, "jwt", s.JWTEnv, s.JWTFile)
	c.Userpass.Username = s.Username
	ref(&c.Userpass.Password, "password", s.PasswordEnv, s.PasswordFile)
	c.AWS.Region, c.AWS.ServerIDHeader = s.AWSRegion, s.AWSHeaderValue
	c.GCP.ServiceAccount = s.GCPServiceAccount
	c.Azure.ClientID, c.Azure.TenantID, c.Azure.Resource, c.Azure.FederatedTokenFile = s.AzureClientID, s.AzureTenantID, s.AzureResource, s.AzureFederatedToken
}

// roleOf is where the role of a method is kept, or nil when the method has
// no role setting here.
func (c *Config) roleOf(method string) *string {
	switch method {
	case "kubernetes":
		return &c.Kubernetes.Role
	case "jwt":
		return &c.JWT.Role
	case "cert":
		return &c.Cert.Role
	case "aws":
		return &c.AWS.Role
	case "gcp":
		return &c.GCP.Role
	case "azure":
		return &c.Azure.Role
	}
	return nil
}

// setRole gives a generic role (VAULT_ROLE, the YAML "role") to the
// explicit method, when it has a role setting and none is set yet. Without
// an explicit method it does nothing: a generic role cannot choose a method.
func (c *Config) setRole(v string) {
	if dst := c.roleOf(c.AuthMethod); dst != nil && *dst == "" {
		*dst = v
	}
}

// Env reads one environment variable through the lookup Load was given,
// trimmed; for a VAULT_ name its BAO_ twin wins when set. It is "" when the
// variable is unset or when c was not made by Load.
//
// It is how an auth method added in its own package reads settings that
// have no field in Config, so that this package stays the only one that
// reads the environment. Settings read this way come from the environment
// only, never from the YAML file.
func (c *Config) Env(name string) string {
	if c.lookup == nil {
		return ""
	}
	if rest, ok := strings.CutPrefix(name, "VAULT_"); ok {
		v, _ := get(c.lookup, rest)
		return v
	}
	v, _ := c.lookup(name)
	return strings.TrimSpace(v)
}

// EnvCredential reads a credential the way VAULT_SECRET_ID is read: the
// variable name itself, else the file that name_FILE names (read at each
// use), else the zero Credential. See Env.
func (c *Config) EnvCredential(name string) gdsvault.Credential {
	if v := c.Env(name); v != "" {
		return gdsvault.CredentialValue(v)
	}
	if f := c.Env(name + "_FILE"); f != "" {
		return gdsvault.CredentialFile(f)
	}
	return gdsvault.Credential{}
}

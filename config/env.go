package config

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gdsvault/gdsvault"
)

// LookupFunc reads one environment variable; os.LookupEnv is one.
type LookupFunc func(key string) (string, bool)

// Config is everything gdsvault can be told about reaching and logging in to
// Vault, from the environment, a YAML file, or both (environment wins).
type Config struct {
	// Environment is the deployment environment (ENVIRONMENT, or the YAML
	// section chosen): development, staging, production...
	Environment string
	// Address is VAULT_ADDR ("" when unset: the client then uses its default).
	Address string
	// Token is VAULT_TOKEN, or the content of TokenFile.
	Token gdsvault.Token
	// TokenFile is where the token came from when it came from a file.
	TokenFile string
	// Namespace is VAULT_NAMESPACE.
	Namespace string
	TLS       gdsvault.TLSConfig
	// Timeout is VAULT_CLIENT_TIMEOUT (0 when unset).
	Timeout time.Duration
	// MaxRetries is VAULT_MAX_RETRIES (-1 when unset).
	MaxRetries int
	// SecretPathPrefix is the YAML file's secret_path_prefix, to build
	// paths like the seed: prefix + "/myapp/config".
	SecretPathPrefix string

	// AuthMethod is VAULT_AUTH_METHOD: token, approle, kubernetes, aws, gcp,
	// azure, jwt, userpass or cert ("" lets auth.Detect choose).
	AuthMethod string
	// AuthMount is VAULT_AUTH_MOUNT: the mount path of the method ("" for
	// the method's default, such as "approle").
	AuthMount string
	// Roles per method: VAULT_K8S_ROLE, VAULT_JWT_ROLE, VAULT_AWS_ROLE,
	// VAULT_GCP_ROLE, VAULT_AZURE_ROLE, VAULT_CERT_ROLE; VAULT_ROLE fills the
	// one of an explicit method.
	Role Roles

	AppRole    AppRole
	Kubernetes Kubernetes
	JWT        JWT
	Userpass   Userpass
	AWS        AWS
	GCP        GCP
	Azure      Azure

	// names remembers which variable (or file key) each credential comes
	// from, for error messages.
	names map[string]string
}

// Roles holds the role of each method that has one.
type Roles struct {
	Kubernetes, JWT, AWS, GCP, Azure, Cert string
}

// AppRole is VAULT_ROLE_ID(_FILE), VAULT_SECRET_ID(_FILE),
// VAULT_WRAPPED_SECRET_ID(_FILE) and VAULT_APPROLE_NAME.
type AppRole struct {
	RoleID, SecretID, WrappedSecretID gdsvault.Credential
	// RoleName pins the creation path a wrapped secret ID must have.
	RoleName string
}

// Kubernetes is KUBERNETES_SERVICE_HOST (set inside a pod) and
// VAULT_K8S_TOKEN_PATH.
type Kubernetes struct {
	InPod     bool
	TokenPath string
}

// JWT is VAULT_JWT or VAULT_JWT_FILE.
type JWT struct{ Token gdsvault.Credential }

// Userpass is VAULT_USERNAME and VAULT_PASSWORD(_FILE).
type Userpass struct {
	Username string
	Password gdsvault.Credential
}

// AWS is AWS_REGION (or AWS_DEFAULT_REGION), VAULT_AWS_HEADER_VALUE and
// VAULT_AWS_STS_ENDPOINT. Credentials come from the AWS SDK's own chain.
type AWS struct{ Region, ServerIDHeader, STSEndpoint string }

// GCP is VAULT_GCP_SERVICE_ACCOUNT (the IAM flow) and GCE_METADATA_HOST.
type GCP struct{ ServiceAccount, MetadataHost string }

// Azure is AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE,
// AZURE_AUTHORITY_HOST and VAULT_AZURE_RESOURCE.
type Azure struct{ ClientID, TenantID, FederatedTokenFile, AuthorityHost, Resource string }

// Methods lists the auth methods gdsvault knows, in the order of the docs.
var Methods = []string{"token", "approle", "kubernetes", "aws", "gcp", "azure", "jwt", "userpass", "cert"}

// get reads VAULT_<name>, then BAO_<name>.
func get(lookup LookupFunc, name string) (string, bool) {
	if v, ok := lookup("VAULT_" + name); ok {
		return strings.TrimSpace(v), true
	}
	if v, ok := lookup("BAO_" + name); ok {
		return strings.TrimSpace(v), true
	}
	return "", false
}

// FromEnv reads the environment through lookup (os.LookupEnv when nil), with
// no YAML file. Every malformed value is reported, together, in one error
// made of *gdsvault.ConfigError.
func FromEnv(lookup LookupFunc) (*Config, error) { return Load(Source{Lookup: lookup}) }

// overlayEnv sets from the environment every field whose variable is set.
func (c *Config) overlayEnv(lookup LookupFunc) []error {
	var errs []error
	str := func(dst *string, name string) {
		if v, ok := get(lookup, name); ok && v != "" {
			*dst = v
		}
	}
	plain := func(dst *string, name string) {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			*dst = strings.TrimSpace(v)
		}
	}
	cred := func(dst *gdsvault.Credential, key, name string) {
		if v, ok := get(lookup, name); ok && v != "" {
			*dst = gdsvault.CredentialValue(v)
			c.names[key] = "VAULT_" + name
		} else if v, ok := get(lookup, name+"_FILE"); ok && v != "" {
			*dst = gdsvault.CredentialFile(v)
			c.names[key] = "VAULT_" + name + "_FILE"
		}
	}
	str(&c.Address, "ADDR")
	str(&c.Namespace, "NAMESPACE")
	str(&c.TLS.CACert, "CACERT")
	str(&c.TLS.CAPath, "CAPATH")
	str(&c.TLS.ClientCert, "CLIENT_CERT")
	str(&c.TLS.ClientKey, "CLIENT_KEY")
	str(&c.TLS.ServerName, "TLS_SERVER_NAME")
	if v, ok := get(lookup, "SKIP_VERIFY"); ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, &gdsvault.ConfigError{Field: "VAULT_SKIP_VERIFY", Problem: "is not a boolean: " + strconv.Quote(v), Hint: "use true or false"})
		}
		c.TLS.Insecure = b
	}
	if v, ok := get(lookup, "CLIENT_TIMEOUT"); ok && v != "" {
		d, err := parseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, &gdsvault.ConfigError{Field: "VAULT_CLIENT_TIMEOUT", Problem: "is not a positive duration: " + strconv.Quote(v), Hint: "e.g. 30s or 30"})
		}
		c.Timeout = d
	}
	if v, ok := get(lookup, "MAX_RETRIES"); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, &gdsvault.ConfigError{Field: "VAULT_MAX_RETRIES", Problem: "is not a non-negative integer: " + strconv.Quote(v), Hint: "e.g. 2"})
		}
		c.MaxRetries = n
	}
	if v, ok := get(lookup, "TOKEN"); ok && v != "" {
		c.Token, c.TokenFile = gdsvault.NewToken(v), ""
		c.names["token"] = "VAULT_TOKEN"
	}
	str(&c.AuthMethod, "AUTH_METHOD")
	c.AuthMethod = strings.ToLower(c.AuthMethod)
	str(&c.AuthMount, "AUTH_MOUNT")
	str(&c.Role.Kubernetes, "K8S_ROLE")
	str(&c.Role.JWT, "JWT_ROLE")
	str(&c.Role.AWS, "AWS_ROLE")
	str(&c.Role.GCP, "GCP_ROLE")
	str(&c.Role.Azure, "AZURE_ROLE")
	str(&c.Role.Cert, "CERT_ROLE")
	if v, ok := get(lookup, "ROLE"); ok && v != "" {
		c.setRole(v)
	}
	cred(&c.AppRole.RoleID, "role_id", "ROLE_ID")
	cred(&c.AppRole.SecretID, "secret_id", "SECRET_ID")
	cred(&c.AppRole.WrappedSecretID, "wrapped_secret_id", "WRAPPED_SECRET_ID")
	str(&c.AppRole.RoleName, "APPROLE_NAME")
	if v, ok := lookup("KUBERNETES_SERVICE_HOST"); ok && v != "" {
		c.Kubernetes.InPod = true
	}
	str(&c.Kubernetes.TokenPath, "K8S_TOKEN_PATH")
	cred(&c.JWT.Token, "jwt", "JWT")
	str(&c.Userpass.Username, "USERNAME")
	cred(&c.Userpass.Password, "password", "PASSWORD")
	plain(&c.AWS.Region, "AWS_DEFAULT_REGION")
	plain(&c.AWS.Region, "AWS_REGION")
	str(&c.AWS.ServerIDHeader, "AWS_HEADER_VALUE")
	str(&c.AWS.STSEndpoint, "AWS_STS_ENDPOINT")
	str(&c.GCP.ServiceAccount, "GCP_SERVICE_ACCOUNT")
	plain(&c.GCP.MetadataHost, "GCE_METADATA_HOST")
	plain(&c.Azure.ClientID, "AZURE_CLIENT_ID")
	plain(&c.Azure.TenantID, "AZURE_TENANT_ID")
	plain(&c.Azure.FederatedTokenFile, "AZURE_FEDERATED_TOKEN_FILE")
	plain(&c.Azure.AuthorityHost, "AZURE_AUTHORITY_HOST")
	str(&c.Azure.Resource, "AZURE_RESOURCE")
	return errs
}

// setRole gives a generic role (VAULT_ROLE, the YAML "role") to the
// explicit method, or to every method that has none yet.
func (c *Config) setRole(v string) {
	set := func(dst *string, method string) {
		if *dst == "" && (c.AuthMethod == "" || c.AuthMethod == method) {
			*dst = v
		}
	}
	if c.AuthMethod == "" {
		return // a generic role cannot choose a method; it fills the explicit one only
	}
	set(&c.Role.Kubernetes, "kubernetes")
	set(&c.Role.JWT, "jwt")
	set(&c.Role.AWS, "aws")
	set(&c.Role.GCP, "gcp")
	set(&c.Role.Azure, "azure")
	set(&c.Role.Cert, "cert")
}

// readTokenFile reads ~/.vault-token when no token was given.
func (c *Config) readTokenFile(lookup LookupFunc) error {
	if !c.Token.IsZero() {
		return nil
	}
	f := c.TokenFile
	if f == "" {
		home, ok := lookup("HOME")
		if !ok || home == "" {
			return nil
		}
		f = filepath.Join(home, ".vault-token")
	}
	b, err := os.ReadFile(f)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && c.TokenFile == "" {
			return nil
		}
		return &gdsvault.ConfigError{Field: "token file", Problem: "cannot read " + f + ": " + errors.Unwrap(err).Error(), Hint: "fix its permissions or set VAULT_TOKEN"}
	}
	if t := strings.TrimSpace(string(b)); t != "" {
		c.Token, c.TokenFile = gdsvault.NewToken(t), f
		c.names["token"] = f
	}
	return nil
}

// NameOf says where a credential comes from ("VAULT_SECRET_ID", a file key
// of the YAML file...), or the variable that would give it.
func (c *Config) NameOf(credential string) string {
	if n := c.names[credential]; n != "" {
		return n
	}
	return "VAULT_" + strings.ToUpper(credential)
}

// parseDuration takes Go durations ("30s") and, like the vault CLI, bare
// seconds ("30").
func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(v)
}

// Options turns the connection settings (address, namespace, TLS, timeout,
// retries)
// into client options. The auth method is chosen by package auth
// (auth.Detect, auth.NewClient).
func (c *Config) Options() []gdsvault.Option {
	var opts []gdsvault.Option
	if c.Address != "" {
		opts = append(opts, gdsvault.WithAddress(c.Address))
	}
	if c.Namespace != "" {
		opts = append(opts, gdsvault.WithNamespace(c.Namespace))
	}
	if t := c.TLS; t.CACert != "" || t.CAPath != "" || len(t.CACertPEM) > 0 || t.ClientCert != "" || t.ClientKey != "" || t.ServerName != "" || t.Insecure {
		opts = append(opts, gdsvault.WithTLS(c.TLS))
	}
	if c.Timeout > 0 {
		opts = append(opts, gdsvault.WithTimeout(c.Timeout))
	}
	if c.MaxRetries >= 0 {
		opts = append(opts, gdsvault.WithMaxRetries(c.MaxRetries))
	}
	return opts
}

// SecretPath joins SecretPathPrefix and p, as the seed does with
// f"{config['secret_path_prefix']}/myapp/config".
func (c *Config) SecretPath(p string) string {
	p = strings.Trim(p, "/")
	if c.SecretPathPrefix == "" {
		return p
	}
	return strings.TrimRight(c.SecretPathPrefix, "/") + "/" + p
}

package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/gdsvault/gdsvault"
	"go.yaml.in/yaml/v3"
)

// Source says where Load reads from.
type Source struct {
	// Lookup reads environment variables (os.LookupEnv when nil).
	Lookup LookupFunc
	// File is a YAML file with one section per environment (the seed's
	// config/vault.yaml). "" reads no file unless GDSVAULT_CONFIG names one.
	File string
	// Environment picks the section. "" means $ENVIRONMENT, then
	// "development".
	Environment string
}

// Section is one environment of the YAML file. Credentials are referenced
// (the name of an environment variable, or a file), never written in it.
type Section struct {
	VaultAddr        string   `yaml:"vault_addr"`
	VaultAddrs       []string `yaml:"vault_addrs"` // a cluster's nodes
	AuthMethod       string   `yaml:"auth_method"`
	AuthMount        string   `yaml:"auth_mount"`
	AuthMountPath    string   `yaml:"auth_mount_path"` // the seed's name for auth_mount
	Namespace        string   `yaml:"namespace"`
	SecretPathPrefix string   `yaml:"secret_path_prefix"`
	Role             string   `yaml:"role"`

	TokenEnv            string `yaml:"token_env"`
	TokenFile           string `yaml:"token_file"`
	RoleIDEnv           string `yaml:"role_id_env"`
	RoleIDFile          string `yaml:"role_id_file"`
	SecretIDEnv         string `yaml:"secret_id_env"`
	SecretIDFile        string `yaml:"secret_id_file"`
	WrappedSecretIDEnv  string `yaml:"wrapped_secret_id_env"`
	WrappedSecretIDFile string `yaml:"wrapped_secret_id_file"`
	AppRoleName         string `yaml:"approle_name"`
	KubernetesTokenPath string `yaml:"kubernetes_token_path"`
	JWTEnv              string `yaml:"jwt_env"`
	JWTFile             string `yaml:"jwt_file"`
	Username            string `yaml:"username"`
	PasswordEnv         string `yaml:"password_env"`
	PasswordFile        string `yaml:"password_file"`
	AWSRegion           string `yaml:"aws_region"`
	AWSHeaderValue      string `yaml:"aws_header_value"`
	GCPServiceAccount   string `yaml:"gcp_service_account"`
	AzureClientID       string `yaml:"azure_client_id"`
	AzureTenantID       string `yaml:"azure_tenant_id"`
	AzureResource       string `yaml:"azure_resource"`
	AzureFederatedToken string `yaml:"azure_federated_token_file"`

	CACert        string `yaml:"ca_cert"`
	CAPath        string `yaml:"ca_path"`
	ClientCert    string `yaml:"client_cert"`
	ClientKey     string `yaml:"client_key"`
	TLSServerName string `yaml:"tls_server_name"`
	SkipVerify    *bool  `yaml:"skip_verify"`
	Timeout       string `yaml:"timeout"`
	MaxRetries    *int   `yaml:"max_retries"`
}

// ParseFile reads the sections of a YAML configuration. Unknown keys are
// errors (a typo must not silently drop a setting), and so are secrets
// written in the file.
func ParseFile(r io.Reader, name string) (map[string]Section, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var sections map[string]Section
	if err := dec.Decode(&sections); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &gdsvault.ConfigError{Field: name, Problem: "is empty", Hint: "add a section per environment: development, staging, production"}
		}
		msg := err.Error()
		hint := "each section (development, staging, production) takes vault_addr, auth_method, namespace, secret_path_prefix, ..."
		for _, secret := range []string{"token", "secret_id", "password", "jwt", "role_id"} {
			if strings.Contains(msg, "field "+secret+" not found") {
				hint = "credentials are not written in the file: reference them with " + secret + "_env (a variable name) or " + secret + "_file"
			}
		}
		return nil, &gdsvault.ConfigError{Field: name, Problem: "is not a valid gdsvault configuration: " + strings.ReplaceAll(msg, "\n", "; "), Hint: hint}
	}
	return sections, nil
}

// Load builds a Config: defaults, then the YAML file's section, then the
// environment (the environment wins). Every problem is reported in one
// error.
func Load(src Source) (*Config, error) {
	lookup := src.Lookup
	if lookup == nil {
		lookup = os.LookupEnv
	}
	c := &Config{MaxRetries: -1, names: map[string]string{}, lookup: lookup}
	c.Environment = src.Environment
	if c.Environment == "" {
		if v, ok := lookup("ENVIRONMENT"); ok && strings.TrimSpace(v) != "" {
			c.Environment = strings.TrimSpace(v)
		} else {
			c.Environment = "development"
		}
	}
	var errs []error
	file := src.File
	if file == "" {
		if v, ok := lookup("GDSVAULT_CONFIG"); ok {
			file = strings.TrimSpace(v)
		}
	}
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, &gdsvault.ConfigError{Field: "config file", Problem: "cannot open " + file + ": " + errors.Unwrap(err).Error(),
				Hint: "give the path of a YAML file such as config/vault.yaml"}
		}
		sections, err := ParseFile(f, file)
		f.Close()
		if err != nil {
			return nil, err
		}
		sec, ok := sections[c.Environment]
		if !ok {
			names := make([]string, 0, len(sections))
			for n := range sections {
				names = append(names, n)
			}
			sort.Strings(names)
			return nil, &gdsvault.ConfigError{Field: "environment", Problem: fmt.Sprintf("no section %q in %s (sections: %s)", c.Environment, file, strings.Join(names, ", ")),
				Hint: "set ENVIRONMENT (or --env) to one of them"}
		}
		errs = append(errs, c.applySection(&sec, file, lookup)...)
	}
	errs = append(errs, c.overlayEnv(lookup)...)
	if err := c.readTokenFile(lookup); err != nil {
		errs = append(errs, err)
	}
	if c.AuthMethod != "" && !methodName.MatchString(c.AuthMethod) {
		errs = append(errs, &gdsvault.ConfigError{Field: "auth method", Problem: fmt.Sprintf("%q is not a method name", c.AuthMethod),
			Hint: "use a method's name, such as token, approle or kubernetes"})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// methodName is the form of an auth method's name. Which names exist is
// package auth's business (auth.Methods): Load checks only the form, so
// that a method added there needs nothing here.
var methodName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// applySection copies a YAML section, resolving credential references.
func (c *Config) applySection(s *Section, file string, lookup LookupFunc) []error {
	var errs []error
	c.Address, c.Namespace, c.SecretPathPrefix = s.VaultAddr, s.Namespace, s.SecretPathPrefix
	c.Addresses = append([]string(nil), s.VaultAddrs...)
	c.AuthMethod = strings.ToLower(strings.TrimSpace(s.AuthMethod))
	c.AuthMount = s.AuthMount
	if s.AuthMountPath != "" {
		if c.AuthMount != "" && c.AuthMount != s.AuthMountPath {
			errs = append(errs, &gdsvault.ConfigError{Field: file, Problem: "auth_mount and auth_mount_path disagree", Hint: "keep one of them"})
		}
		c.AuthMount = s.AuthMountPath
	}
	if s.Role != "" {
		c.setRole(s.Role)
	}
	ref := func(dst *gdsvault.Credential, key, envName, path string) {
		switch {
		case envName != "" && path != "":
			errs = append(errs, &gdsvault.ConfigError{Field: file, Problem: key + "_env and " + key + "_file are both set", Hint: "keep one of them"})
		case envName != "":
			if v, ok := lookup(envName); ok && strings.TrimSpace(v) != "" {
				*dst = gdsvault.CredentialValue(v)
			}
			c.names["VAULT_"+strings.ToUpper(key)] = envName
		case path != "":
			*dst = gdsvault.CredentialFile(path)
			c.names["VAULT_"+strings.ToUpper(key)] = key + "_file " + path
		}
	}
	var tok gdsvault.Credential
	ref(&tok, "token", s.TokenEnv, "")
	if !tok.IsZero() {
		c.Token, _ = tok.Load()
	}
	c.TokenFile = s.TokenFile
	c.methodsFromSection(s, ref)
	c.TLS = gdsvault.TLSConfig{CACert: s.CACert, CAPath: s.CAPath, ClientCert: s.ClientCert, ClientKey: s.ClientKey, ServerName: s.TLSServerName}
	if s.SkipVerify != nil {
		c.TLS.Insecure = *s.SkipVerify
	}
	if s.Timeout != "" {
		d, err := parseDuration(s.Timeout)
		if err != nil || d <= 0 {
			errs = append(errs, &gdsvault.ConfigError{Field: file + ": timeout", Problem: "is not a positive duration: " + fmt.Sprintf("%q", s.Timeout), Hint: "e.g. 10s"})
		}
		c.Timeout = d
	}
	if s.MaxRetries != nil {
		if *s.MaxRetries < 0 {
			errs = append(errs, &gdsvault.ConfigError{Field: file + ": max_retries", Problem: "must not be negative"})
		}
		c.MaxRetries = *s.MaxRetries
	}
	return errs
}

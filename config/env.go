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
	// Addresses are the nodes of a cluster, from VAULT_ADDRS (comma
	// separated) or the YAML file's vault_addrs: the client fails over
	// between them. When set, they replace Address.
	Addresses []string
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

	// AuthMethod is VAULT_AUTH_METHOD (auth_method in the YAML file),
	// lower-cased: the name of a method of auth.Methods, such as token,
	// approle or kubernetes ("" lets auth.Detect choose). Load checks only
	// that it is a name; auth.Detect rejects one its table does not have.
	AuthMethod string
	// AuthMount is VAULT_AUTH_MOUNT (auth_mount in the YAML file): the mount
	// path of whichever method is used, unless the method's own Mount is set
	// ("" for the method's default, such as "approle").
	AuthMount string

	// The settings of each auth method (methods.go). VAULT_ROLE (the YAML
	// "role") fills the role of an explicit method that has one.
	AppRole    AppRole
	Kubernetes Kubernetes
	JWT        JWT
	Userpass   Userpass
	Cert       Cert
	AWS        AWS
	GCP        GCP
	Azure      Azure

	// names remembers where the value of a variable came from when that is
	// not the variable itself (VAULT_SECRET_ID_FILE, a YAML reference...),
	// for error messages: "VAULT_SECRET_ID" -> "STAGING_SECRET_ID".
	names map[string]string
	// lookup is the one Load was given, for Env.
	lookup LookupFunc
}

// get reads BAO_<name>, then VAULT_<name>: as the bao CLI does, OpenBao's
// name wins when both are set, so that a setup named for OpenBao is not
// overridden by a stale VAULT_ADDR (a Vault setup sets no BAO_* variable).
// An empty BAO_<name> counts as unset.
func get(lookup LookupFunc, name string) (string, bool) {
	if v, ok := lookup("BAO_" + name); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v), true
	}
	if v, ok := lookup("VAULT_" + name); ok {
		return strings.TrimSpace(v), true
	}
	return "", false
}

// FromEnv reads the environment through lookup (os.LookupEnv when nil), with
// no YAML file. Every malformed value is reported, together, in one error
// made of *gdsvault.ConfigError.
func FromEnv(lookup LookupFunc) (*Config, error) { return Load(Source{Lookup: lookup}) }

// envReader reads variables into settings, remembering where credentials
// came from.
type envReader struct {
	lookup LookupFunc
	names  map[string]string
}

// str sets *dst from VAULT_<name> (or BAO_<name>) when it is set.
func (r envReader) str(dst *string, name string) {
	if v, ok := get(r.lookup, name); ok && v != "" {
		*dst = v
	}
}

// plain sets *dst from the variable name itself (AWS_REGION...).
func (r envReader) plain(dst *string, name string) {
	if v, ok := r.lookup(name); ok && strings.TrimSpace(v) != "" {
		*dst = strings.TrimSpace(v)
	}
}

// cred sets *dst from VAULT_<name>, else from the file VAULT_<name>_FILE
// names.
func (r envReader) cred(dst *gdsvault.Credential, name string) {
	if v, ok := get(r.lookup, name); ok && v != "" {
		*dst = gdsvault.CredentialValue(v)
		r.names["VAULT_"+name] = "VAULT_" + name
	} else if v, ok := get(r.lookup, name+"_FILE"); ok && v != "" {
		*dst = gdsvault.CredentialFile(v)
		r.names["VAULT_"+name] = "VAULT_" + name + "_FILE"
	}
}

// overlayEnv sets from the environment every field whose variable is set.
func (c *Config) overlayEnv(lookup LookupFunc) []error {
	var errs []error
	r := envReader{lookup: lookup, names: c.names}
	r.str(&c.Address, "ADDR")
	if v, ok := get(lookup, "ADDRS"); ok && v != "" {
		c.Addresses = nil
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				c.Addresses = append(c.Addresses, a)
			}
		}
	}
	r.str(&c.Namespace, "NAMESPACE")
	r.str(&c.TLS.CACert, "CACERT")
	r.str(&c.TLS.CAPath, "CAPATH")
	r.str(&c.TLS.ClientCert, "CLIENT_CERT")
	r.str(&c.TLS.ClientKey, "CLIENT_KEY")
	r.str(&c.TLS.ServerName, "TLS_SERVER_NAME")
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
		c.names["VAULT_TOKEN"] = "VAULT_TOKEN"
	}
	r.str(&c.AuthMethod, "AUTH_METHOD")
	c.AuthMethod = strings.ToLower(c.AuthMethod)
	r.str(&c.AuthMount, "AUTH_MOUNT")
	c.methodsFromEnv(r)
	if v, ok := get(lookup, "ROLE"); ok && v != "" {
		c.setRole(v)
	}
	return errs
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
		c.names["VAULT_TOKEN"] = f
	}
	return nil
}

// NameOf says where a setting comes from ("VAULT_SECRET_ID_FILE", the
// variable a YAML file references...), or the variable that would give it.
// The setting is a credential's key ("secret_id", "token"), which stands
// for VAULT_<KEY>, or a variable name in upper case ("VAULT_SECRET_ID",
// "AZURE_TENANT_ID").
func (c *Config) NameOf(setting string) string {
	v := setting
	if v != strings.ToUpper(v) {
		v = "VAULT_" + strings.ToUpper(v)
	}
	if n := c.names[v]; n != "" {
		return n
	}
	return v
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
	switch {
	case len(c.Addresses) > 0:
		opts = append(opts, gdsvault.WithAddresses(c.Addresses...))
	case c.Address != "":
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

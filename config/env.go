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

// Config is what the environment says about reaching Vault.
type Config struct {
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
}

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

// FromEnv reads the environment through lookup. Every malformed value is
// reported, together, in one error made of *gdsvault.ConfigError.
func FromEnv(lookup LookupFunc) (*Config, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	c := &Config{MaxRetries: -1}
	var errs []error
	c.Address, _ = get(lookup, "ADDR")
	c.Namespace, _ = get(lookup, "NAMESPACE")
	c.TLS.CACert, _ = get(lookup, "CACERT")
	c.TLS.CAPath, _ = get(lookup, "CAPATH")
	c.TLS.ClientCert, _ = get(lookup, "CLIENT_CERT")
	c.TLS.ClientKey, _ = get(lookup, "CLIENT_KEY")
	c.TLS.ServerName, _ = get(lookup, "TLS_SERVER_NAME")
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
		c.Token = gdsvault.NewToken(v)
	} else if home, ok := lookup("HOME"); ok && home != "" {
		f := filepath.Join(home, ".vault-token")
		if b, err := os.ReadFile(f); err == nil {
			if t := strings.TrimSpace(string(b)); t != "" {
				c.Token, c.TokenFile = gdsvault.NewToken(t), f
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, &gdsvault.ConfigError{Field: "token file", Problem: "cannot read " + f + ": " + err.Error(), Hint: "fix its permissions or set VAULT_TOKEN"})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// parseDuration takes Go durations ("30s") and, like the vault CLI, bare
// seconds ("30").
func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(v)
}

// Options turns the configuration into client options.
func (c *Config) Options() []gdsvault.Option {
	var opts []gdsvault.Option
	if c.Address != "" {
		opts = append(opts, gdsvault.WithAddress(c.Address))
	}
	if !c.Token.IsZero() {
		opts = append(opts, gdsvault.WithTokenSource(gdsvault.StaticToken(c.Token)))
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
	return opts
}

// NewClient is the seed's VaultClient(): read the environment with lookup
// (os.LookupEnv when nil) and build a client, with extra options applied last.
func NewClient(lookup LookupFunc, extra ...gdsvault.Option) (*gdsvault.Client, error) {
	c, err := FromEnv(lookup)
	if err != nil {
		return nil, err
	}
	return gdsvault.New(append(c.Options(), extra...)...)
}

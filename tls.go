package gdsvault

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
)

// TLSConfig holds the TLS settings a Vault user knows from VAULT_CACERT,
// VAULT_CAPATH, VAULT_CLIENT_CERT, VAULT_CLIENT_KEY, VAULT_TLS_SERVER_NAME and
// VAULT_SKIP_VERIFY.
type TLSConfig struct {
	// CACert is a PEM file of CA certificates to trust instead of the system pool.
	CACert string
	// CAPath is a directory of PEM files of CA certificates.
	CAPath string
	// CACertPEM holds CA certificates in PEM form.
	CACertPEM []byte
	// ClientCert and ClientKey are PEM files of a client certificate and its key.
	ClientCert string
	ClientKey  string
	// ServerName overrides the name checked in the server's certificate.
	ServerName string
	// Insecure skips verification of the server's certificate. Development
	// only: the client logs a warning when it is set.
	Insecure bool
}

func (c *TLSConfig) build() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName, InsecureSkipVerify: c.Insecure} //nolint:gosec // the user asked, and is warned
	var pool *x509.CertPool
	addPEM := func(field, name string, pem []byte) error {
		if pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return &ConfigError{Field: field, Problem: "no PEM certificate found in " + name, Hint: "give a PEM-encoded CA certificate"}
		}
		return nil
	}
	if c.CACert != "" {
		b, err := os.ReadFile(c.CACert)
		if err != nil {
			return nil, &ConfigError{Field: "ca cert", Problem: "cannot read " + c.CACert + ": " + errText(err), Hint: "check VAULT_CACERT"}
		}
		if err := addPEM("ca cert", c.CACert, b); err != nil {
			return nil, err
		}
	}
	if c.CAPath != "" {
		entries, err := os.ReadDir(c.CAPath)
		if err != nil {
			return nil, &ConfigError{Field: "ca path", Problem: "cannot read directory " + c.CAPath + ": " + errText(err), Hint: "check VAULT_CAPATH"}
		}
		found := false
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(c.CAPath, e.Name()))
			if err != nil {
				continue
			}
			if pool == nil {
				pool = x509.NewCertPool()
			}
			if pool.AppendCertsFromPEM(b) {
				found = true
			}
		}
		if !found {
			return nil, &ConfigError{Field: "ca path", Problem: "no PEM certificate in " + c.CAPath, Hint: "check VAULT_CAPATH"}
		}
	}
	if len(c.CACertPEM) > 0 {
		if err := addPEM("ca cert pem", "the given bytes", c.CACertPEM); err != nil {
			return nil, err
		}
	}
	tc.RootCAs = pool
	if (c.ClientCert == "") != (c.ClientKey == "") {
		return nil, &ConfigError{Field: "client cert", Problem: "a client certificate needs both a certificate and a key file",
			Hint: "set both VAULT_CLIENT_CERT and VAULT_CLIENT_KEY"}
	}
	if c.ClientCert != "" {
		cert, err := tls.LoadX509KeyPair(c.ClientCert, c.ClientKey)
		if err != nil {
			return nil, &ConfigError{Field: "client cert", Problem: "cannot load " + c.ClientCert + " with its key: " + errText(err),
				Hint: "check VAULT_CLIENT_CERT and VAULT_CLIENT_KEY"}
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

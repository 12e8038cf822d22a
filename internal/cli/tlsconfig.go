package cli

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"

	"github.com/gdsvault/gdsvault"
)

// tlsClientConfig builds the TLS settings of the connections gdsvault makes
// outside the client (the agent's wrapping requests, the doctor's checks)
// from the same settings the client uses (VAULT_CACERT, VAULT_CAPATH,
// VAULT_CLIENT_CERT/KEY, VAULT_TLS_SERVER_NAME, VAULT_SKIP_VERIFY).
func tlsClientConfig(c gdsvault.TLSConfig) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName, InsecureSkipVerify: c.Insecure} //nolint:gosec // asked for, and warned about
	var pool *x509.CertPool
	add := func(field, name string, pem []byte) error {
		if pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return &gdsvault.ConfigError{Field: field, Problem: "no PEM certificate found in " + name, Hint: "give a PEM-encoded CA certificate"}
		}
		return nil
	}
	if c.CACert != "" {
		b, err := os.ReadFile(c.CACert)
		if err != nil {
			return nil, &gdsvault.ConfigError{Field: "ca cert", Problem: "cannot read " + c.CACert + ": " + errText(err), Hint: "check VAULT_CACERT"}
		}
		if err := add("ca cert", c.CACert, b); err != nil {
			return nil, err
		}
	}
	if c.CAPath != "" {
		entries, err := os.ReadDir(c.CAPath)
		if err != nil {
			return nil, &gdsvault.ConfigError{Field: "ca path", Problem: "cannot read directory " + c.CAPath + ": " + errText(err), Hint: "check VAULT_CAPATH"}
		}
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join(c.CAPath, e.Name())); err == nil && !e.IsDir() {
				if pool == nil {
					pool = x509.NewCertPool()
				}
				pool.AppendCertsFromPEM(b)
			}
		}
	}
	if len(c.CACertPEM) > 0 {
		if err := add("ca cert pem", "the given bytes", c.CACertPEM); err != nil {
			return nil, err
		}
	}
	tc.RootCAs = pool
	if c.ClientCert != "" || c.ClientKey != "" {
		cert, err := tls.LoadX509KeyPair(c.ClientCert, c.ClientKey)
		if err != nil {
			return nil, &gdsvault.ConfigError{Field: "client certificate", Problem: err.Error(), Hint: "check VAULT_CLIENT_CERT and VAULT_CLIENT_KEY"}
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

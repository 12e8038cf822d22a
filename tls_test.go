package gdsvault_test

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/vaulttest"
)

func TestTLS(t *testing.T) {
	vault.Require(t)
	s := vaulttest.Start(t, vaulttest.Options{TLS: true})
	s.PutKV(t, "secret", "myapp/config", map[string]any{"db_host": "tls-host"})

	read := func(t *testing.T, tc gdsvault.TLSConfig) error {
		t.Helper()
		c, err := gdsvault.New(gdsvault.WithAddress(s.Addr), gdsvault.WithToken(s.RootToken), gdsvault.WithTLS(tc))
		if err != nil {
			t.Fatal(err)
		}
		sec, err := c.GetSecret(ctx(t), "secret/myapp/config")
		if err == nil && sec.Data["db_host"] != "tls-host" {
			t.Fatalf("read %v", sec.Data)
		}
		return err
	}

	t.Run("ca file", func(t *testing.T) {
		if err := read(t, gdsvault.TLSConfig{CACert: s.CACert}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ca dir and pem", func(t *testing.T) {
		pem, _ := os.ReadFile(s.CACert)
		if err := read(t, gdsvault.TLSConfig{CAPath: filepath.Dir(s.CACert)}); err != nil {
			t.Fatal(err)
		}
		if err := read(t, gdsvault.TLSConfig{CACertPEM: pem}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong ca", func(t *testing.T) {
		wrong := vaulttest.NewCA(t, "not vault's CA")
		err := read(t, gdsvault.TLSConfig{CACertPEM: wrong.CertPEM})
		var unknown x509.UnknownAuthorityError
		if !errors.Is(err, gdsvault.ErrConnection) || !errors.As(err, &unknown) {
			t.Fatalf("err = %v, want a connection error from an unknown authority", err)
		}
	})
	t.Run("skip verify", func(t *testing.T) {
		if err := read(t, gdsvault.TLSConfig{Insecure: true}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("client certificate", func(t *testing.T) {
		// Vault's cert auth logs in only if the client certificate really
		// reached it.
		ca := vaulttest.NewCA(t, "test clients")
		certPEM, keyPEM := ca.Issue(t, "app-1", false)
		s.EnableAuth(t, "cert", "cert")
		s.Must(t, "POST", "auth/cert/certs/app", map[string]any{"certificate": string(ca.CertPEM), "token_policies": "default"})
		c, err := gdsvault.New(gdsvault.WithAddress(s.Addr), gdsvault.WithTLS(gdsvault.TLSConfig{
			CACert: s.CACert, ClientCert: vaulttest.WriteFile(t, "client.pem", certPEM), ClientKey: vaulttest.WriteFile(t, "client-key.pem", keyPEM)}))
		if err != nil {
			t.Fatal(err)
		}
		sec, err := c.Write(ctx(t), "auth/cert/login", map[string]any{"name": "app"})
		if err != nil {
			t.Fatal(err)
		}
		if sec.Auth == nil || sec.Auth.ClientToken.IsZero() || sec.Auth.Metadata["common_name"] != "app-1" {
			t.Fatalf("cert login answer: %v", sec)
		}
	})
	t.Run("bad settings", func(t *testing.T) {
		for name, tc := range map[string]gdsvault.TLSConfig{
			"missing ca file":   {CACert: "/nonexistent/ca.pem"},
			"ca file not pem":   {CACert: vaulttest.WriteFile(t, "x", []byte("hello"))},
			"cert without key":  {ClientCert: "/tmp/c.pem"},
			"missing cert file": {ClientCert: "/nonexistent/c.pem", ClientKey: "/nonexistent/k.pem"},
		} {
			_, err := gdsvault.New(gdsvault.WithTLS(tc))
			var ce *gdsvault.ConfigError
			if !errors.Is(err, gdsvault.ErrConfig) || !errors.As(err, &ce) || ce.Hint == "" {
				t.Errorf("%s: err = %v, want a ConfigError with a hint", name, err)
			}
		}
	})
}

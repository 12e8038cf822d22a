package cert_test

import (
	"errors"
	"testing"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/cert"
	"github.com/gdsvault/gdsvault/vaulttest"
)

func TestCertLogin(t *testing.T) {
	ctx := vaulttest.Context(t)
	s := vaulttest.Start(t, vaulttest.Options{TLS: true})
	mount := "tls-clients"
	s.EnableAuth(t, mount, "cert")
	ca := vaulttest.NewCA(t, "apps CA")
	s.Must(t, "POST", "auth/"+mount+"/certs/web", map[string]any{"certificate": string(ca.CertPEM), "token_policies": "default",
		"allowed_common_names": "web-1"})
	s.PutKV(t, "secret", "x", map[string]any{"k": "v"})

	client := func(cn string) *gdsvault.Client {
		certPEM, keyPEM := ca.Issue(t, cn, false)
		m, err := cert.New(cert.WithMountPath(mount), cert.WithName("web"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := gdsvault.New(gdsvault.WithAddress(s.Addr), gdsvault.WithAuth(m), gdsvault.WithTLS(gdsvault.TLSConfig{
			CACert: s.CACert, ClientCert: vaulttest.WriteFile(t, cn+".pem", certPEM), ClientKey: vaulttest.WriteFile(t, cn+"-key.pem", keyPEM)}))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	sec, err := client("web-1").Read(ctx, "auth/token/lookup-self")
	if err != nil || sec.Data["display_name"] != mount+"-web" {
		t.Fatalf("cert login: %v %v", sec, err)
	}
	if _, err := client("intruder").Read(ctx, "auth/token/lookup-self"); !errors.Is(err, gdsvault.ErrAuthFailed) {
		t.Errorf("certificate with another CN: %v, want ErrAuthFailed", err)
	}
}

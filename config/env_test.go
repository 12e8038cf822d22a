package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
)

func env(m map[string]string) LookupFunc {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestFromEnv(t *testing.T) {
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, ".vault-token"), []byte(" file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		env  map[string]string
		want func(*Config) bool
	}{
		"empty": {map[string]string{}, func(c *Config) bool {
			return c.Address == "" && c.Token.IsZero() && c.MaxRetries == -1 && c.Timeout == 0
		}},
		"vault names": {map[string]string{"VAULT_ADDR": "https://v:8200", "VAULT_TOKEN": "t1", "VAULT_NAMESPACE": "ns",
			"VAULT_CACERT": "/ca.pem", "VAULT_CAPATH": "/cas", "VAULT_CLIENT_CERT": "/c", "VAULT_CLIENT_KEY": "/k",
			"VAULT_SKIP_VERIFY": "true", "VAULT_TLS_SERVER_NAME": "vault.internal", "VAULT_CLIENT_TIMEOUT": "45s", "VAULT_MAX_RETRIES": "4"},
			func(c *Config) bool {
				return c.Address == "https://v:8200" && c.Token.Reveal() == "t1" && c.Namespace == "ns" && c.TLS.CACert == "/ca.pem" &&
					c.TLS.CAPath == "/cas" && c.TLS.ClientCert == "/c" && c.TLS.ClientKey == "/k" && c.TLS.Insecure &&
					c.TLS.ServerName == "vault.internal" && c.Timeout == 45*time.Second && c.MaxRetries == 4
			}},
		"bao names": {map[string]string{"BAO_ADDR": "http://bao:8200", "BAO_TOKEN": "bt", "VAULT_NAMESPACE": "vns"},
			func(c *Config) bool {
				return c.Address == "http://bao:8200" && c.Token.Reveal() == "bt" && c.Namespace == "vns"
			}},
		"BAO_* wins over a stale VAULT_*": {map[string]string{"BAO_ADDR": "http://bao:8200", "VAULT_ADDR": "http://stale:8200", "BAO_NAMESPACE": "bns", "VAULT_NAMESPACE": "vns", "BAO_TOKEN": " "},
			func(c *Config) bool {
				return c.Address == "http://bao:8200" && c.Namespace == "bns"
			}},
		"cluster": {map[string]string{"VAULT_ADDR": "http://one:8200", "VAULT_ADDRS": " http://a:8200, http://b:8200 ,,http://c:8200"},
			func(c *Config) bool {
				return c.Address == "http://one:8200" && strings.Join(c.Addresses, " ") == "http://a:8200 http://b:8200 http://c:8200"
			}},
		"bare seconds timeout": {map[string]string{"VAULT_CLIENT_TIMEOUT": "30"}, func(c *Config) bool { return c.Timeout == 30*time.Second }},
		"token file":           {map[string]string{"HOME": home}, func(c *Config) bool { return c.Token.Reveal() == "file-token" && c.TokenFile != "" }},
		"VAULT_TOKEN wins over the file": {map[string]string{"HOME": home, "VAULT_TOKEN": "env"},
			func(c *Config) bool { return c.Token.Reveal() == "env" && c.TokenFile == "" }},
	} {
		c, err := FromEnv(env(tc.env))
		if err != nil || !tc.want(c) {
			t.Errorf("%s: %+v, %v", name, c, err)
		}
	}
}

func TestFromEnvErrorsTogether(t *testing.T) {
	_, err := FromEnv(env(map[string]string{"VAULT_SKIP_VERIFY": "maybe", "VAULT_CLIENT_TIMEOUT": "-3s", "VAULT_MAX_RETRIES": "many"}))
	if !errors.Is(err, gdsvault.ErrConfig) {
		t.Fatalf("err = %v", err)
	}
	for _, v := range []string{"VAULT_SKIP_VERIFY", "VAULT_CLIENT_TIMEOUT", "VAULT_MAX_RETRIES"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("error does not name %s: %v", v, err)
		}
	}
}

func TestOptionsBuildAClient(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"VAULT_ADDR": "not a url", "VAULT_TOKEN": "hvs.secret-value"}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = gdsvault.New(c.Options()...)
	if err == nil || strings.Contains(err.Error(), "hvs.secret-value") || !strings.Contains(err.Error(), "address") {
		t.Errorf("err = %v", err)
	}
	c, _ = FromEnv(env(map[string]string{"VAULT_ADDRS": "http://127.0.0.1:8201,http://127.0.0.1:8202"}))
	cl, err := gdsvault.New(c.Options()...)
	if err != nil || len(cl.Nodes()) != 2 || cl.Nodes()[1].Address != "http://127.0.0.1:8202" {
		t.Errorf("cluster client %v %v", cl, err)
	}
	cl.Close(t.Context())
	c, _ = FromEnv(env(map[string]string{"VAULT_ADDR": "http://127.0.0.1:8200/", "VAULT_NAMESPACE": "/team/"}))
	cl, err = gdsvault.New(c.Options()...)
	if err != nil || cl.Address() != "http://127.0.0.1:8200" || cl.Namespace() != "team" {
		t.Errorf("client %v %v", cl, err)
	}
}

func FuzzFromEnv(f *testing.F) {
	f.Add("http://127.0.0.1:8200", "true", "10s", "3", "tok")
	f.Add("", "", "", "", "")
	f.Add("::", "yes", "1h2", "-1", " ")
	f.Fuzz(func(t *testing.T, addr, skip, timeout, retries, token string) {
		m := map[string]string{"VAULT_ADDR": addr, "VAULT_SKIP_VERIFY": skip, "VAULT_CLIENT_TIMEOUT": timeout, "VAULT_MAX_RETRIES": retries, "VAULT_TOKEN": token}
		c, err := FromEnv(env(m))
		if err != nil {
			if !errors.Is(err, gdsvault.ErrConfig) {
				t.Fatalf("error %v is not ErrConfig", err)
			}
			// The error must not depend on the token's value.
			m["VAULT_TOKEN"] = "another-token-value"
			if _, err2 := FromEnv(env(m)); err2 == nil || err2.Error() != err.Error() {
				t.Fatalf("error depends on the token: %v vs %v", err, err2)
			}
			return
		}
		if c.Timeout < 0 || c.MaxRetries < -1 {
			t.Fatalf("accepted a negative value: %+v", c)
		}
		_, _ = gdsvault.New(c.Options()...)
		if strings.Contains(fmt.Sprintf("%+v %#v", c, c), "another-token-value") {
			t.Fatal("config prints the token")
		}
	})
}

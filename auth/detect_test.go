package auth_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth"
	"github.com/gdsvault/gdsvault/config"
	"github.com/gdsvault/gdsvault/vaulttest"
)

var vault *vaulttest.Server

// fakeAWS links a stand-in for the AWS module, so that Detect can pick aws.
var fakeAWS = auth.WithAWS(func(*config.Config) (gdsvault.AuthMethod, error) {
	return gdsvault.AuthMethodFunc(func(context.Context, *gdsvault.Client) (*gdsvault.Auth, error) { return nil, nil }), nil
})

func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m, vaulttest.Options{}, &vault)) }

func lookup(m map[string]string) config.LookupFunc {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func detect(t *testing.T, env map[string]string, opts ...auth.Option) (gdsvault.AuthMethod, auth.Decision, error) {
	t.Helper()
	cfg, err := config.FromEnv(lookup(env))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return auth.Detect(cfg, opts...)
}

func TestDecisionTree(t *testing.T) {
	all := map[string]string{
		"KUBERNETES_SERVICE_HOST": "10.0.0.1", "VAULT_K8S_ROLE": "app",
		"VAULT_AWS_ROLE": "aws-role", "VAULT_GCP_ROLE": "gcp-role", "VAULT_AZURE_ROLE": "az-role",
		"VAULT_ROLE_ID": "rid", "VAULT_SECRET_ID": "sid", "VAULT_TOKEN": "tok",
	}
	without := func(keys ...string) map[string]string {
		m := maps.Clone(all)
		for _, k := range keys {
			delete(m, k)
		}
		return m
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"everything: kubernetes first", all, "kubernetes"},
		{"not in a pod: cloud (aws first)", without("KUBERNETES_SERVICE_HOST"), "aws"},
		{"in a pod without a role: cloud", without("VAULT_K8S_ROLE"), "aws"},
		{"gcp before azure", without("KUBERNETES_SERVICE_HOST", "VAULT_AWS_ROLE"), "gcp"},
		{"azure", without("KUBERNETES_SERVICE_HOST", "VAULT_AWS_ROLE", "VAULT_GCP_ROLE"), "azure"},
		{"approle before token", without("KUBERNETES_SERVICE_HOST", "VAULT_AWS_ROLE", "VAULT_GCP_ROLE", "VAULT_AZURE_ROLE"), "approle"},
		{"wrapped secret id counts", map[string]string{"VAULT_ROLE_ID": "r", "VAULT_WRAPPED_SECRET_ID": "w"}, "approle"},
		{"secret id file counts", map[string]string{"VAULT_ROLE_ID": "r", "VAULT_SECRET_ID_FILE": "/run/s"}, "approle"},
		{"token last", map[string]string{"VAULT_TOKEN": "t", "VAULT_ROLE_ID": "r"}, "token"},
		{"explicit wins", map[string]string{"VAULT_AUTH_METHOD": "token", "VAULT_TOKEN": "t", "VAULT_ROLE_ID": "r", "VAULT_SECRET_ID": "s"}, "token"},
		{"explicit userpass", map[string]string{"VAULT_AUTH_METHOD": "userpass", "VAULT_USERNAME": "u", "VAULT_PASSWORD": "p"}, "userpass"},
		{"explicit jwt with generic role", map[string]string{"VAULT_AUTH_METHOD": "jwt", "VAULT_ROLE": "ci", "VAULT_JWT_FILE": "/ci/jwt"}, "jwt"},
		{"explicit cert", map[string]string{"VAULT_AUTH_METHOD": "cert", "VAULT_CLIENT_CERT": "/c", "VAULT_CLIENT_KEY": "/k"}, "cert"},
		{"bao names", map[string]string{"BAO_ROLE_ID": "r", "BAO_SECRET_ID": "s"}, "approle"},
		{"production refuses an implicit token, takes approle", map[string]string{"ENVIRONMENT": "production", "VAULT_TOKEN": "t", "VAULT_ROLE_ID": "r", "VAULT_SECRET_ID": "s"}, "approle"},
		{"production takes an explicit token", map[string]string{"ENVIRONMENT": "production", "VAULT_TOKEN": "t", "VAULT_AUTH_METHOD": "token"}, "token"},
	} {
		m, d, err := detect(t, tc.env, fakeAWS)
		if err != nil || d.Method != tc.want || m == nil || d.Reason == "" {
			t.Errorf("%s: got %q (%s), %v; want %q", tc.name, d.Method, d.Reason, err, tc.want)
		}
	}
}

func TestDecisionErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"nothing fits", map[string]string{},
			[]string{"kubernetes: not in a pod", "aws: VAULT_AWS_ROLE is not set", "gcp: VAULT_GCP_ROLE", "azure: VAULT_AZURE_ROLE",
				"approle: VAULT_ROLE_ID and VAULT_SECRET_ID", "token: VAULT_TOKEN is not set"}},
		{"production with only a token", map[string]string{"ENVIRONMENT": "production", "VAULT_TOKEN": "t"},
			[]string{"token auth is for development", "VAULT_AUTH_METHOD=token"}},
		{"the seed's message", map[string]string{"VAULT_AUTH_METHOD": "approle", "VAULT_ROLE_ID": "r"},
			[]string{"auth method approle: needs VAULT_ROLE_ID and VAULT_SECRET_ID (or VAULT_WRAPPED_SECRET_ID); VAULT_SECRET_ID is not set"}},
		{"approle with nothing", map[string]string{"VAULT_AUTH_METHOD": "approle"}, []string{"VAULT_ROLE_ID and VAULT_SECRET_ID are not set"}},
		{"token without token", map[string]string{"VAULT_AUTH_METHOD": "token"}, []string{"needs VAULT_TOKEN"}},
		{"kubernetes without role", map[string]string{"VAULT_AUTH_METHOD": "kubernetes"}, []string{"VAULT_K8S_ROLE is not set"}},
		{"jwt", map[string]string{"VAULT_AUTH_METHOD": "jwt"}, []string{"VAULT_JWT_ROLE and VAULT_JWT are not set"}},
		{"userpass", map[string]string{"VAULT_AUTH_METHOD": "userpass", "VAULT_USERNAME": "u"}, []string{"VAULT_PASSWORD is not set"}},
		{"cert", map[string]string{"VAULT_AUTH_METHOD": "cert"}, []string{"VAULT_CLIENT_CERT and VAULT_CLIENT_KEY"}},
		{"aws not linked", map[string]string{"VAULT_AUTH_METHOD": "aws", "VAULT_AWS_ROLE": "r"}, []string{"auth.WithAWS"}},
		{"azure workload identity half set", map[string]string{"VAULT_AUTH_METHOD": "azure", "VAULT_AZURE_ROLE": "r", "AZURE_FEDERATED_TOKEN_FILE": "/f"},
			[]string{"AZURE_TENANT_ID and AZURE_CLIENT_ID"}},
	} {
		m, _, err := detect(t, tc.env)
		if !errors.Is(err, gdsvault.ErrConfig) || m != nil {
			t.Errorf("%s: m=%v err=%v, want ErrConfig and no method", tc.name, m, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", tc.name, err, w)
			}
		}
	}
	// An unknown method is the table's business, not config's: Detect names
	// the table's methods.
	if _, _, err := detect(t, map[string]string{"VAULT_AUTH_METHOD": "kerberos"}); !errors.Is(err, gdsvault.ErrConfig) ||
		!strings.Contains(err.Error(), `"kerberos" is not supported`) || !strings.Contains(err.Error(), "approle") {
		t.Errorf("unknown method: %v", err)
	}
}

// TestSeedExercise3 is the seed's vault_config.py: one program, the auth
// method switched by VAULT_AUTH_METHOD, against a real Vault.
func TestSeedExercise3(t *testing.T) {
	vault.Require(t)
	ctx := vaulttest.Context(t)
	kv, ar := vault.UniqueName("kv"), vault.UniqueName("approle")
	vault.EnableSecrets(t, kv, "kv", map[string]any{"version": "2"})
	vault.PutKV(t, kv, "myapp/config", map[string]any{"db_host": "postgres.example.com"})
	pol := vault.UniqueName("myapp-policy")
	vault.WritePolicy(t, pol, `path "`+kv+`/data/myapp/*" { capabilities = ["read"] }`)
	vault.EnableAuth(t, ar, "approle")
	vault.CreateAppRole(t, ar, "myapp", map[string]any{"token_policies": pol, "token_ttl": "1h", "token_max_ttl": "4h"})
	roleID, secretID := vault.RoleID(t, ar, "myapp"), vault.SecretID(t, ar, "myapp")
	base := map[string]string{"VAULT_ADDR": vault.Addr, "VAULT_ROLE_ID": roleID, "VAULT_SECRET_ID": secretID, "VAULT_AUTH_MOUNT": ar}

	for _, tc := range []struct {
		method, token string
	}{{"token", vault.RootToken}, {"approle", ""}, {"", ""}} {
		env := map[string]string{"VAULT_AUTH_METHOD": tc.method, "VAULT_TOKEN": tc.token}
		for k, v := range base {
			env[k] = v
		}
		if tc.method == "" {
			delete(env, "VAULT_AUTH_METHOD")
			delete(env, "VAULT_TOKEN")
		}
		c, err := auth.FromEnv(lookup(env))
		if err != nil {
			t.Fatalf("%q: %v", tc.method, err)
		}
		s, err := c.GetSecret(ctx, kv+"/data/myapp/config")
		if err != nil || s.Data["db_host"] != "postgres.example.com" {
			t.Errorf("%q: %v %v", tc.method, s, err)
		}
		for _, v := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c)} {
			if strings.Contains(v, secretID) || strings.Contains(v, vault.RootToken) {
				t.Errorf("client prints a secret: %s", v)
			}
		}
		c.Close(ctx)
	}
}

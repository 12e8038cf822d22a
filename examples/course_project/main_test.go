package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/vaulttest"
)

type syncBuf = vaulttest.LogBuffer

// TestCourseProject runs the service against a real Vault and a real
// PostgreSQL: in production with AppRole (credentials rotating underneath),
// in development with a token. No query may fail, and the logs must hold no
// token, secret ID or password.
func TestCourseProject(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the service for 20 s")
	}
	vault := vaulttest.Start(t, vaulttest.Options{})
	pg := vaulttest.StartPostgres(t)
	vault.ConfigurePostgres(t, "database", pg, vaulttest.DBRole{Name: "app", DefaultTTL: 5 * time.Second, MaxTTL: 12 * time.Second})
	vault.PutKV(t, "secret", "myapp/config", map[string]any{"db_host": pg.Addr(), "db_user": "myapp", "db_pass": "secret123"})
	vault.WritePolicy(t, "myapp-policy", `
path "secret/data/myapp/*" { capabilities = ["read"] }
path "database/creds/app" { capabilities = ["read"] }
path "sys/leases/renew" { capabilities = ["update"] }
path "sys/leases/revoke" { capabilities = ["update"] }`)
	vault.EnableAuth(t, "approle", "approle")
	vault.CreateAppRole(t, "approle", "myapp", map[string]any{"token_policies": "myapp-policy", "token_ttl": "1h", "token_max_ttl": "4h"})
	roleID, secretID := vault.RoleID(t, "approle", "myapp"), vault.SecretID(t, "approle", "myapp")

	for _, tc := range []struct {
		name, method string
		env          map[string]string
		runFor       time.Duration
		secrets      []string
	}{
		{"production", "approle", map[string]string{"ENVIRONMENT": "production", "VAULT_ADDR": vault.Addr, "VAULT_ROLE_ID": roleID,
			"VAULT_SECRET_ID": secretID, "VAULT_TOKEN": vault.RootToken}, 20 * time.Second, []string{secretID, vault.RootToken, "secret123"}},
		{"development", "token", map[string]string{"ENVIRONMENT": "development", "VAULT_ADDR": vault.Addr, "VAULT_TOKEN": vault.RootToken},
			3 * time.Second, []string{vault.RootToken, "secret123"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &syncBuf{}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rep, err := run(ctx, settings{CredsPath: "database/creds/app", DBAddr: pg.Addr(), DBName: pg.Database, RunFor: tc.runFor,
				Lookup: func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }, Logs: logs})
			if err != nil {
				t.Fatalf("%v\nlogs:\n%s", err, logs)
			}
			t.Logf("%s: %+v", tc.name, *rep)
			if rep.Method != tc.method || rep.Failed != 0 || rep.Queries < int64(tc.runFor/(200*time.Millisecond)) || rep.DBHostFromConfig != pg.Addr() ||
				!strings.HasPrefix(rep.LastQueryUser, "v-") {
				t.Errorf("report %+v", *rep)
			}
			if tc.name == "production" && rep.Rotations < 1 {
				t.Errorf("no credential rotation in %v with a 12 s max TTL", tc.runFor)
			}
			out := logs.String()
			for _, s := range tc.secrets {
				if strings.Contains(out, s) {
					t.Errorf("the logs show a secret value (%d chars)", len(s))
				}
			}
			if !strings.Contains(out, `"auth_method":"`+tc.method+`"`) {
				t.Errorf("logs do not say which method was used:\n%s", out)
			}
		})
	}
}

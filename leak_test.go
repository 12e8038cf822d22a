package gdsvault_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gdsvault/gdsvault"
)

// TestNoSecretsLeak drives successes and every kind of failure with a debug
// logger and checks that no token or secret value reaches a log line, an
// error string or a printed result.
func TestNoSecretsLeak(t *testing.T) {
	vault.Require(t)
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	const secretValue = "s3cr3t-value-that-must-not-print"
	vault.PutKV(t, mount, "app", map[string]any{"password": secretValue})
	policy := vault.UniqueName("pol")
	vault.WritePolicy(t, policy, `path "`+mount+`/data/app" { capabilities = ["read"] }`)
	limited := vault.CreateToken(t, map[string]any{"policies": []string{policy}})
	revoked := vault.CreateToken(t, map[string]any{"policies": []string{"default"}})
	vault.Must(t, http.MethodPost, "auth/token/revoke", map[string]any{"token": revoked})

	var seen []string
	record := func(v any, err error) {
		seen = append(seen, fmt.Sprintf("%v", v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v))
		if err != nil {
			seen = append(seen, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
		}
	}
	for _, tok := range []string{vault.RootToken, limited, revoked} {
		c := newClient(t, tok)
		record(c.GetSecret(ctx(t), mount+"/app"))
		record(c.Read(ctx(t), mount+"/data/app"))
		record(c.GetSecret(ctx(t), mount+"/missing"))
		record(c.KV().Put(ctx(t), mount+"/app", map[string]any{"password": secretValue}))
		record(c.KV().Put(ctx(t), mount+"/other", map[string]any{"password": secretValue}, gdsvault.CAS(7)))
		record(c.Write(ctx(t), "auth/token/create", map[string]any{"policies": []string{"default"}}))
		record(c.List(ctx(t), mount+"/metadata"))
		record(c, nil)
	}
	for _, s := range seen {
		assertNoSecret(t, "printed result or error", s, vault.RootToken, limited, revoked, secretValue)
	}
	if len(seen) < 50 {
		t.Fatalf("only %d outputs checked", len(seen))
	}
}

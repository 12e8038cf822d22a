package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/vaulttest"
	"go.yaml.in/yaml/v3"
)

var vault *vaulttest.Server

func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m, vaulttest.Options{}, &vault)) }

// run runs the CLI with env (VAULT_ADDR and HOME are the test server's unless
// given) and returns stdout, stderr and the exit code.
func run(t *testing.T, env map[string]string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	full := map[string]string{"VAULT_ADDR": vault.Addr, "HOME": t.TempDir()}
	for k, v := range env {
		full[k] = v
	}
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := Main(ctx, args, Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb}, func(k string) (string, bool) {
		v, ok := full[k]
		return v, ok
	})
	for _, s := range []string{out.String(), errb.String()} {
		if tok := full["VAULT_TOKEN"]; tok != "" && strings.Contains(s, tok) {
			t.Errorf("output shows the token: %s", s)
		}
	}
	return out.String(), errb.String(), code
}

func root() map[string]string { return map[string]string{"VAULT_TOKEN": vault.RootToken} }

func setup(t *testing.T) string {
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	vault.PutKV(t, mount, "myapp/config", map[string]any{"db_host": "postgres.example.com", "db_user": "myapp", "db_pass": "secret123", "port": 5432})
	return mount
}

func TestGet(t *testing.T) {
	vault.Require(t)
	mount := setup(t)
	// The seed's path form and the CLI form; vault-style single-dash flags.
	for _, args := range [][]string{
		{"get", "-field", "db_host", mount + "/data/myapp/config"},
		{"get", "-field=db_host", mount + "/myapp/config"},
		{"get", "--field", "db_host", mount + "/myapp/config"},
	} {
		out, errOut, code := run(t, root(), "", args...)
		if code != ExitOK || out != "postgres.example.com\n" {
			t.Errorf("%v: code %d, out %q, err %q", args, code, out, errOut)
		}
	}

	out, _, code := run(t, root(), "", "get", "-format", "json", mount+"/myapp/config")
	var j struct {
		Data     map[string]any `json:"data"`
		Metadata map[string]any `json:"metadata"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &j) != nil || j.Data["db_user"] != "myapp" || j.Data["port"] != float64(5432) || j.Metadata["version"] != float64(1) {
		t.Errorf("json: code %d out %s", code, out)
	}
	out, _, code = run(t, root(), "", "get", "-format", "yaml", mount+"/myapp/config")
	var y map[string]map[string]any
	if code != 0 || yaml.Unmarshal([]byte(out), &y) != nil || y["data"]["db_host"] != "postgres.example.com" {
		t.Errorf("yaml: code %d out %s", code, out)
	}
	out, _, code = run(t, root(), "", "get", "-format=env", mount+"/myapp/config")
	if code != 0 || !strings.Contains(out, "DB_HOST='postgres.example.com'\n") || !strings.Contains(out, "PORT='5432'\n") {
		t.Errorf("env: code %d out %s", code, out)
	}
	out, _, code = run(t, root(), "", "get", mount+"/myapp/config")
	if code != 0 || !strings.Contains(out, "====== Data ======") || !strings.Contains(out, "db_host") || !strings.Contains(out, "version") {
		t.Errorf("table: code %d out %s", code, out)
	}
	out, _, code = run(t, root(), "", "get", "-field", "port", "-format", "json", mount+"/myapp/config")
	if code != 0 || strings.TrimSpace(out) != "5432" {
		t.Errorf("field json: %d %q", code, out)
	}
}

func TestExitCodes(t *testing.T) {
	vault.Require(t)
	mount := setup(t)
	policy := vault.UniqueName("pol")
	vault.WritePolicy(t, policy, `path "`+mount+`/data/other/*" { capabilities = ["read"] }`)
	limited := vault.CreateToken(t, map[string]any{"policies": []string{policy}})
	revoked := vault.CreateToken(t, map[string]any{"policies": []string{"default"}})
	vault.Must(t, http.MethodPost, "auth/token/revoke", map[string]any{"token": revoked})

	for name, tc := range map[string]struct {
		env      map[string]string
		args     []string
		code     int
		inStderr string
	}{
		"not found":       {root(), []string{"get", mount + "/nothing/here"}, ExitNotFound, "404"},
		"no such field":   {root(), []string{"get", "-field", "nope", mount + "/myapp/config"}, ExitNotFound, "no key"},
		"usage: no path":  {root(), []string{"get"}, ExitUsage, "expected one PATH"},
		"usage: bad flag": {root(), []string{"get", "-bogus", "x"}, ExitUsage, "unknown"},
		"usage: format":   {root(), []string{"get", "-format", "xml", "x/y"}, ExitUsage, "unknown format"},
		"usage: command":  {root(), []string{"frobnicate"}, ExitUsage, "unknown command"},
		"denied":          {map[string]string{"VAULT_TOKEN": limited}, []string{"get", mount + "/myapp/config"}, ExitDenied, "policies do not grant read on " + mount + "/data/myapp/config"},
		"invalid token":   {map[string]string{"VAULT_TOKEN": revoked}, []string{"get", mount + "/myapp/config"}, ExitDenied, "log in again"},
		"unreachable":     {map[string]string{"VAULT_TOKEN": "hvs.unused-token-value", "VAULT_ADDR": "http://127.0.0.1:1"}, []string{"get", "a/b"}, ExitError, "check VAULT_ADDR"},
		"bad address":     {map[string]string{"VAULT_TOKEN": "hvs.unused-token-value", "VAULT_ADDR": "localhost:8200"}, []string{"get", "a/b"}, ExitError, "http:// or https://"},
		"bad timeout":     {map[string]string{"VAULT_TOKEN": "hvs.unused-token-value", "VAULT_CLIENT_TIMEOUT": "soon"}, []string{"get", "a/b"}, ExitError, "VAULT_CLIENT_TIMEOUT"},
	} {
		out, errOut, code := run(t, tc.env, "", tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.inStderr) {
			t.Errorf("%s: code %d (want %d), stderr %q (want %q), stdout %q", name, code, tc.code, errOut, tc.inStderr, out)
		}
		if strings.Count(strings.TrimSpace(errOut), "\n") > 2 {
			t.Errorf("%s: stderr should be one line plus a hint: %q", name, errOut)
		}
	}
}

func TestPutListDelete(t *testing.T) {
	vault.Require(t)
	mount := setup(t)
	passFile := vaulttest.WriteFile(t, "pass", []byte("from-a-file"))
	out, errOut, code := run(t, root(), "", "put", mount+"/app/one", "user=u1", "pass=@"+passFile)
	if code != 0 || !strings.Contains(out, "version 1") {
		t.Fatalf("put: %d %q %q", code, out, errOut)
	}
	if out, _, _ := run(t, root(), "", "get", "-field", "pass", mount+"/app/one"); out != "from-a-file\n" {
		t.Errorf("value from file: %q", out)
	}
	_, _, code = run(t, root(), `{"user":"u2","n":3}`, "put", "-cas", "1", mount+"/data/app/one", "-")
	if code != 0 {
		t.Fatalf("put from stdin: %d", code)
	}
	_, errOut, code = run(t, root(), "", "put", "-cas", "1", mount+"/app/one", "user=u3")
	if code != ExitError || !strings.Contains(errOut, "check-and-set") {
		t.Errorf("cas mismatch: %d %q", code, errOut)
	}
	_, _, code = run(t, root(), "", "put", "-patch", mount+"/app/one", "extra=x")
	if out, _, _ := run(t, root(), "", "get", "-format", "env", mount+"/app/one"); code != 0 || !strings.Contains(out, "EXTRA='x'") || !strings.Contains(out, "USER='u2'") {
		t.Errorf("patch: %d %q", code, out)
	}
	if _, errOut, code := run(t, root(), "", "put", mount+"/app/one", "novalue"); code != ExitUsage {
		t.Errorf("bad KEY=VALUE: %d %q", code, errOut)
	}
	run(t, root(), "", "put", mount+"/app/two", "k=v")
	out, _, code = run(t, root(), "", "list", mount+"/app")
	if code != 0 || out != "one\ntwo\n" {
		t.Errorf("list: %d %q", code, out)
	}
	out, _, _ = run(t, root(), "", "list", "-format", "json", mount+"/metadata/app")
	var keys []string
	if json.Unmarshal([]byte(out), &keys) != nil || len(keys) != 2 {
		t.Errorf("list json: %q", out)
	}
	if _, _, code := run(t, root(), "", "delete", mount+"/app/two"); code != 0 {
		t.Errorf("delete: %d", code)
	}
	if _, errOut, code := run(t, root(), "", "get", mount+"/app/two"); code != ExitNotFound || !strings.Contains(errOut, "deleted") {
		t.Errorf("get after delete: %d %q", code, errOut)
	}
	if _, _, code := run(t, root(), "", "delete", "-all", mount+"/app/one"); code != 0 {
		t.Errorf("delete -all: %d", code)
	}
	if out, _, _ := run(t, root(), "", "list", mount+"/app"); out != "two\n" {
		t.Errorf("list after delete -all: %q", out)
	}
}

func TestTokenFile(t *testing.T) {
	vault.Require(t)
	mount := setup(t)
	home := t.TempDir()
	if err := os.WriteFile(home+"/.vault-token", []byte(vault.RootToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, map[string]string{"HOME": home}, "", "get", "-field", "db_user", mount+"/myapp/config")
	if code != 0 || out != "myapp\n" {
		t.Errorf("token from ~/.vault-token: %d %q %q", code, out, errOut)
	}
	if strings.Contains(out+errOut, vault.RootToken) {
		t.Error("token printed")
	}
}

func TestLongFlags(t *testing.T) {
	g := &globals{}
	r := NewRoot(g)
	got := longFlags(r, []string{"get", "-field=x", "-format", "json", "-v", "--version", "2", "--", "-field"})
	want := []string{"get", "--field=x", "--format", "json", "-v", "--version", "2", "--", "-field"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("longFlags = %v, want %v", got, want)
	}
}

package cli

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// approleLab provisions an AppRole role on its own mount; it returns the
// environment for logging in with it.
func approleLab(t *testing.T) (env map[string]string, mount string) {
	mount = vault.UniqueName("approle")
	vault.EnableAuth(t, mount, "approle")
	pol := vault.UniqueName("pol")
	vault.WritePolicy(t, pol, `path "secret/data/myapp/*" { capabilities = ["read"] }`)
	vault.CreateAppRole(t, mount, "myapp", map[string]any{"token_policies": pol, "token_ttl": "1h"})
	return map[string]string{"VAULT_AUTH_METHOD": "approle", "VAULT_AUTH_MOUNT": mount,
		"VAULT_ROLE_ID": vault.RoleID(t, mount, "myapp"), "VAULT_SECRET_ID": vault.SecretID(t, mount, "myapp")}, mount
}

// tokenShape matches a Vault or OpenBao token.
var tokenShape = regexp.MustCompile(`\b(hvs|hvb|s|b)\.[A-Za-z0-9_-]{20,}`)

func TestLogin(t *testing.T) {
	vault.Require(t)
	env, _ := approleLab(t)
	out, errOut, code := run(t, env, "", "login", "-format", "json")
	var info map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &info) != nil || info["method"] != "approle" || info["ttl"] != "1h0m0s" || info["renewable"] != true {
		t.Fatalf("login: %d %q %q", code, out, errOut)
	}
	// Vault's tokens start hvs. (service) or hvb. (batch), OpenBao's s. or b.
	if strings.Contains(out, env["VAULT_SECRET_ID"]) || tokenShape.MatchString(out) {
		t.Errorf("login output shows a secret: %s", out)
	}
	// -field token prints the token when asked; -store writes it 0600.
	home := t.TempDir()
	env["HOME"] = home
	tok, _, code := run(t, env, "", "login", "-field", "token", "-store")
	tok = strings.TrimSpace(tok)
	if code != 0 || !tokenShape.MatchString(tok) {
		t.Fatalf("login -field token: %d, %d chars", code, len(tok))
	}
	if _, err := vault.Do(t.Context(), http.MethodPost, "auth/token/lookup", map[string]any{"token": tok}); err != nil {
		t.Fatalf("the printed token is not a valid token: %v", err)
	}
	fi, err := os.Stat(filepath.Join(home, ".vault-token"))
	b, _ := os.ReadFile(filepath.Join(home, ".vault-token"))
	if err != nil || fi.Mode().Perm() != 0o600 || string(b) != tok {
		t.Fatalf("stored token: %v %v", fi, err)
	}
	// The stored token is then used by get (token file), with the role's policy.
	vault.PutKV(t, "secret", "myapp/config", map[string]any{"db_host": "h"})
	out, errOut, code = run(t, map[string]string{"HOME": home}, "", "get", "-field", "db_host", "secret/myapp/config")
	if code != 0 || out != "h\n" {
		t.Errorf("get with the stored token: %d %q %q", code, out, errOut)
	}
	// Wrong secret ID: exit 4, no secret in the message.
	env["VAULT_SECRET_ID"] = "00000000-0000-0000-0000-000000000000"
	_, errOut, code = run(t, env, "", "login")
	if code != ExitDenied || !strings.Contains(errOut, "authentication failed") || strings.Contains(errOut, env["VAULT_SECRET_ID"]) {
		t.Errorf("bad login: %d %q", code, errOut)
	}
	// Missing settings: the seed's message.
	_, errOut, code = run(t, map[string]string{"VAULT_AUTH_METHOD": "approle", "VAULT_ROLE_ID": "x"}, "", "login")
	if code != ExitError || !strings.Contains(errOut, "needs VAULT_ROLE_ID and VAULT_SECRET_ID") {
		t.Errorf("incomplete config: %d %q", code, errOut)
	}
}

func TestLoginWithYAMLSection(t *testing.T) {
	vault.Require(t)
	env, mount := approleLab(t)
	yaml := "development:\n  vault_addr: " + vault.Addr + "\n  auth_method: token\nproduction:\n  vault_addr: " + vault.Addr +
		"\n  auth_method: approle\n  auth_mount_path: " + mount + "\n  role_id_env: MY_ROLE\n  secret_id_env: MY_SECRET\n"
	file := filepath.Join(t.TempDir(), "vault.yaml")
	os.WriteFile(file, []byte(yaml), 0o600)
	out, errOut, code := run(t, map[string]string{"MY_ROLE": env["VAULT_ROLE_ID"], "MY_SECRET": env["VAULT_SECRET_ID"]}, "",
		"login", "--config", file, "-e", "production", "-field", "method")
	if code != 0 || out != "approle\n" {
		t.Errorf("production section: %d %q %q", code, out, errOut)
	}
	_, errOut, code = run(t, nil, "", "login", "--config", file, "--env", "qa")
	if code != ExitError || !strings.Contains(errOut, `no section "qa"`) {
		t.Errorf("missing section: %d %q", code, errOut)
	}
}

func TestUnwrap(t *testing.T) {
	vault.Require(t)
	_, mount := approleLab(t)
	wrapped := vault.WrappedSecretID(t, mount, "myapp", time.Minute)
	root := map[string]string{"VAULT_WRAPPED_SECRET_ID": wrapped}
	_, errOut, code := run(t, root, "", "unwrap", "-expect-path", "auth/"+mount+"/role/other/secret-id")
	if code != ExitTampered || !strings.Contains(errOut, "intercepted") {
		t.Fatalf("wrong path: %d %q", code, errOut)
	}
	out, errOut, code := run(t, nil, wrapped+"\n", "unwrap", "-expect-path", "auth/"+mount+"/role/*/secret-id", "-field", "secret_id", "-")
	if code != 0 || len(strings.TrimSpace(out)) != 36 || errOut != "" {
		t.Fatalf("unwrap: %d %q %q", code, out, errOut)
	}
	// Again: already used, as an interceptor would leave it.
	_, errOut, code = run(t, root, "", "unwrap")
	if code != ExitTampered || strings.Contains(errOut, wrapped) {
		t.Fatalf("second unwrap: %d %q", code, errOut)
	}
	// Without -expect-path: it works, and says on stderr, in one line, what
	// was not checked and how to check it.
	fresh := vault.WrappedSecretID(t, mount, "myapp", time.Minute)
	out, errOut, code = run(t, map[string]string{"VAULT_WRAPPED_SECRET_ID": fresh}, "", "unwrap", "-field", "secret_id")
	if code != 0 || len(strings.TrimSpace(out)) != 36 || strings.Count(errOut, "\n") != 1 ||
		!strings.Contains(errOut, "creation path was not checked") || !strings.Contains(errOut, "-expect-path") {
		t.Errorf("unwrap without -expect-path: %d %q %q", code, out, errOut)
	}
	if _, _, code := run(t, nil, "", "unwrap", wrapped); code != ExitUsage {
		t.Errorf("token on the command line: %d, want usage error", code)
	}
	if _, _, code := run(t, nil, "", "unwrap"); code != ExitUsage {
		t.Errorf("no token: %d", code)
	}
}

func TestTokenAndHealth(t *testing.T) {
	vault.Require(t)
	tok := vault.CreateToken(t, map[string]any{"policies": []string{"default"}, "ttl": "2h"})
	out, errOut, code := run(t, map[string]string{"VAULT_TOKEN": tok}, "", "token", "-format", "json")
	var info map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &info) != nil || info["policies"] != "default" || info["source"] != "VAULT_TOKEN" || info["type"] != "service" {
		t.Fatalf("token: %d %q %q", code, out, errOut)
	}
	if _, errOut, code := run(t, nil, "", "token"); code != ExitError || !strings.Contains(errOut, "VAULT_TOKEN") {
		t.Errorf("no token: %d %q", code, errOut)
	}
	out, _, code = run(t, nil, "", "health", "-format", "json")
	if code != 0 || !strings.Contains(out, `"sealed": false`) || !strings.Contains(out, `"initialized": true`) {
		t.Errorf("health: %d %q", code, out)
	}
	if _, errOut, code := run(t, map[string]string{"VAULT_ADDR": "http://127.0.0.1:1"}, "", "health"); code != ExitError || !strings.Contains(errOut, "VAULT_ADDR") {
		t.Errorf("health of nothing: %d %q", code, errOut)
	}
}

package cli

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gdsvault/gdsvault/vaulttest"
)

// checkLine finds the line of one check with a status, and its fix.
func checkLine(out, status, name string) (line, fix string, ok bool) {
	lines := strings.Split(out, "\n")
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(status) + `\s+` + regexp.QuoteMeta(name) + `\s`)
	for i, l := range lines {
		if re.MatchString(l) {
			if i+1 < len(lines) && strings.Contains(lines[i+1], "fix: ") {
				fix = lines[i+1]
			}
			return l, fix, true
		}
	}
	return "", "", false
}

func TestDoctorHealthy(t *testing.T) {
	vault.Require(t)
	mount := setup(t)
	env, role := approleEnv(t, vault.Addr, `path "`+mount+`/data/myapp/*" { capabilities = ["read"] }`)
	delete(env, "VAULT_AUTH_METHOD") // the decision tree chooses
	out, errOut, code := run(t, env, "", "doctor", "-path", mount+"/myapp/config")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, name := range []string{"address", "dns", "tcp", "tls", "health", "auth", "login", "token", "path"} {
		if _, _, ok := checkLine(out, "ok", name); !ok {
			t.Errorf("no ok line for %s:\n%s", name, out)
		}
	}
	h, err := vault.Do(t.Context(), http.MethodGet, "sys/health", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"approle: AppRole role ID and secret ID are set", mount + "/data/myapp/config: read (needs read)", "server version " + fmt.Sprint(h["version"])} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if found := secretsIn(out+errOut, env["VAULT_SECRET_ID"], env["VAULT_ROLE_ID"], vault.RootToken); len(found) > 0 {
		t.Errorf("output holds %v", found)
	}
	if toks := roleTokens(t, role); len(toks) != 0 {
		t.Errorf("the doctor's token was not revoked: %v", toks)
	}
}

// TestDoctorFailures: each failing check is reported with the fix that
// names what to change, and exit code 1.
func TestDoctorFailures(t *testing.T) {
	vault.Require(t)
	mount := setup(t)
	denied, _ := approleEnv(t, vault.Addr, `path "`+mount+`/data/other" { capabilities = ["read"] }`)
	badSecret, _ := approleEnv(t, vault.Addr, `path "x" { capabilities = ["read"] }`)
	badSecret["VAULT_SECRET_ID"] = "00000000-0000-0000-0000-000000000000"

	sealed := vaulttest.Start(t, vaulttest.Options{})
	sealed.Seal(t)
	tlsSrv := vaulttest.Start(t, vaulttest.Options{TLS: true})
	otherCA := vaulttest.WriteFile(t, "other-ca.pem", vaulttest.NewCA(t, "someone else").CertPEM)

	for name, tc := range map[string]struct {
		env   map[string]string
		args  []string
		check string
		want  []string // in the FAIL line or its fix
	}{
		"malformed address": {map[string]string{"VAULT_ADDR": "localhost:8200", "VAULT_TOKEN": "hvs.doctor-fake-token"}, nil, "address",
			[]string{"does not start with http:// or https://", "set VAULT_ADDR to http(s)://HOST:PORT"}},
		"unknown host": {map[string]string{"VAULT_ADDR": "http://vault.nonexistent.invalid:8200", "VAULT_TOKEN": "hvs.doctor-fake-token"}, nil, "dns",
			[]string{"cannot resolve vault.nonexistent.invalid", "check the host name in VAULT_ADDR"}},
		"connection refused": {map[string]string{"VAULT_ADDR": "http://127.0.0.1:1", "VAULT_TOKEN": "hvs.doctor-fake-token"}, nil, "tcp",
			[]string{"connection refused", "is Vault running? is the port in VAULT_ADDR right"}},
		"wrong CA": {map[string]string{"VAULT_ADDR": tlsSrv.Addr, "VAULT_TOKEN": tlsSrv.RootToken, "VAULT_CACERT": otherCA}, nil, "tls",
			[]string{"signed by an authority this client does not trust", "set VAULT_CACERT (now " + otherCA + ")"}},
		"wrong name": {map[string]string{"VAULT_ADDR": tlsSrv.Addr, "VAULT_TOKEN": tlsSrv.RootToken, "VAULT_CACERT": tlsSrv.CACert, "VAULT_TLS_SERVER_NAME": "vault.example.com"}, nil, "tls",
			[]string{"not valid for vault.example.com", "VAULT_TLS_SERVER_NAME"}},
		"sealed": {map[string]string{"VAULT_ADDR": sealed.Addr, "VAULT_TOKEN": sealed.RootToken}, nil, "health",
			[]string{": sealed", "vault operator unseal"}},
		"bad secret ID": {badSecret, nil, "login",
			[]string{"secret ID", "issue a new one (vault write -f auth/approle/role/ROLE/secret-id)"}},
		"policy denies the path": {denied, []string{"-path", mount + "/myapp/config"}, "path",
			[]string{mount + "/data/myapp/config: deny (needs read)", `add ` + "`" + `path "` + mount + `/data/myapp/config" { capabilities = ["read"] }` + "`"}},
		"capability missing": {denied, []string{"-path", mount + "/other=read,update"}, "path",
			[]string{mount + "/data/other: read (needs read, update)", "do not grant update on " + mount + "/data/other"}},
	} {
		out, errOut, code := run(t, tc.env, "", append([]string{"doctor"}, tc.args...)...)
		line, fix, ok := checkLine(out, "FAIL", tc.check)
		if !ok {
			t.Errorf("%s: no FAIL %s line:\n%s", name, tc.check, out)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(line+fix, w) {
				t.Errorf("%s: %q lacks %q", name, line+"\n"+fix, w)
			}
		}
		if code != ExitError || !strings.Contains(errOut, "doctor: 1 check failed") {
			t.Errorf("%s: exit %d, stderr %q", name, code, errOut)
		}
		if found := secretsIn(out+errOut, tc.env["VAULT_SECRET_ID"], tc.env["VAULT_TOKEN"]); len(found) > 0 {
			t.Errorf("%s: output holds %v", name, found)
		}
	}
}

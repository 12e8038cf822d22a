package cli

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/gdsvault/gdsvault/vaulttest"
)

// approleEnv makes an AppRole role allowed to read everything under mount
// and returns the variables that make gdsvault log in with it.
func approleEnv(t *testing.T, addr string, policyHCL string) (map[string]string, string) {
	t.Helper()
	role := vault.UniqueName("role")
	policy := vault.UniqueName("pol")
	vault.WritePolicy(t, policy, policyHCL)
	if _, err := vault.Do(context.Background(), http.MethodGet, "sys/auth/approle", nil); err != nil {
		vault.EnableAuth(t, "approle", "approle")
	}
	vault.CreateAppRole(t, "approle", role, map[string]any{"token_policies": []string{policy}, "token_ttl": "10m"})
	return map[string]string{"VAULT_ADDR": addr, "VAULT_AUTH_METHOD": "approle",
		"VAULT_ROLE_ID": vault.RoleID(t, "approle", role), "VAULT_SECRET_ID": vault.SecretID(t, "approle", role)}, role
}

// roleTokens lists the accessors of the live tokens AppRole role has issued.
func roleTokens(t *testing.T, role string) []string {
	t.Helper()
	out, err := vault.Do(context.Background(), "LIST", "auth/token/accessors", nil)
	if err != nil {
		t.Fatal(err)
	}
	var mine []string
	keys, _ := vaulttest.Data(out)["keys"].([]any)
	for _, k := range keys {
		acc, _ := k.(string)
		info, err := vault.Do(context.Background(), http.MethodPost, "auth/token/lookup-accessor", map[string]any{"accessor": acc})
		if err != nil {
			continue // revoked meanwhile
		}
		if meta, _ := vaulttest.Data(info)["meta"].(map[string]any); meta != nil && meta["role_name"] == role {
			mine = append(mine, acc)
		}
	}
	return mine
}

// secretsIn reports which of the values appear in s.
func secretsIn(s string, values ...string) []string {
	var found []string
	for _, v := range values {
		if v != "" && strings.Contains(s, v) {
			found = append(found, v)
		}
	}
	return found
}

// TestExecStaticSecrets drives `gdsvault exec` as a user would, through a
// proxy that counts its reads: the variables reach the child; re-reads that
// change nothing the child receives restart nothing; a batch of changes to
// received keys restarts it exactly once; TERM is forwarded and its status
// passed on; the token is revoked at exit; no secret is in argv or the logs.
func TestExecStaticSecrets(t *testing.T) {
	vault.Require(t)
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	vault.PutKV(t, mount, "myapp/config", map[string]any{"db_pass": "pass-v1-8d1f", "db_user": "user-v1-77aa"})
	vault.PutKV(t, mount, "myapp/shared", map[string]any{"api-key": "key-v1-c3c3", "region": "eu"})
	proxy := vaulttest.NewProxy(t, vault.Addr)
	env, role := approleEnv(t, proxy.Addr, `path "`+mount+`/*" { capabilities = ["read"] }`)
	report := filepath.Join(t.TempDir(), "report")
	reads := func() int { return proxy.Stats().Paths[mount+"/data/myapp/config"] }

	args := append([]string{"exec", "-v", "-refresh", "200ms", "-debounce", "1s",
		"-secret", "DB_PASS=" + mount + "/myapp/config#db_pass", "-secret-from", mount + "/myapp/shared", "-prefix", "SHARED_"},
		childArgs(report)...)
	p := startGdsvault(t, env, args...)
	starts := func() []childEvent { return eventsOf(readReport(report), "start") }
	eventually(t, "the child to start", func() bool { return len(starts()) == 1 || p.exited() })
	first := starts()[0]
	for k, want := range map[string]string{"DB_PASS": "pass-v1-8d1f", "SHARED_API_KEY": "key-v1-c3c3", "SHARED_REGION": "eu", "VAULT_ADDR": proxy.Addr} {
		if got := first.Env[k]; got != want {
			t.Errorf("child %s = %q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"DB_USER", "VAULT_TOKEN", "VAULT_SECRET_ID", "VAULT_ROLE_ID"} {
		if _, ok := first.Env[k]; ok {
			t.Errorf("child has %s", k)
		}
	}
	if n := len(roleTokens(t, role)); n != 1 {
		t.Errorf("%d tokens of the role while running, want 1", n)
	}

	// Re-reads that find nothing new, then a new version that changes only
	// a key the child does not receive: no restart.
	n := reads()
	eventually(t, "three re-reads", func() bool { return reads() >= n+3 })
	vault.PutKV(t, mount, "myapp/config", map[string]any{"db_pass": "pass-v1-8d1f", "db_user": "user-v2-0b0b"})
	n = reads()
	eventually(t, "five re-reads after the unrelated change", func() bool { return reads() >= n+5 })
	if got := len(starts()); got != 1 {
		t.Fatalf("%d starts after re-reads that change nothing the child receives, want 1", got)
	}

	// A batch of changes to received keys: one restart with the last values.
	vault.PutKV(t, mount, "myapp/config", map[string]any{"db_pass": "pass-v2-aaaa", "db_user": "user-v2-0b0b"})
	vault.PutKV(t, mount, "myapp/shared", map[string]any{"api-key": "key-v2-dddd", "region": "eu"})
	vault.PutKV(t, mount, "myapp/config", map[string]any{"db_pass": "pass-v3-f00d", "db_user": "user-v2-0b0b"})
	eventually(t, "the restart", func() bool { return len(starts()) >= 2 })
	n = reads()
	eventually(t, "five re-reads after the restart", func() bool { return reads() >= n+5 })
	ss := starts()
	if len(ss) != 2 {
		t.Fatalf("%d starts after one batch of changes, want 2", len(ss))
	}
	if ss[1].Env["DB_PASS"] != "pass-v3-f00d" || ss[1].Env["SHARED_API_KEY"] != "key-v2-dddd" {
		t.Errorf("restarted child has DB_PASS=%q SHARED_API_KEY=%q", ss[1].Env["DB_PASS"], ss[1].Env["SHARED_API_KEY"])
	}
	if sigs := eventsOf(readReport(report), "signal"); len(sigs) != 1 || sigs[0].Signal != syscall.SIGTERM.String() || sigs[0].Pid != ss[0].Pid {
		t.Errorf("the first child should get one TERM for the restart: %+v", sigs)
	}

	// No secret in argv, of gdsvault or of the child.
	secrets := []string{"pass-v1-8d1f", "pass-v2-aaaa", "pass-v3-f00d", "key-v1-c3c3", "key-v2-dddd", "user-v1-77aa", "user-v2-0b0b", env["VAULT_SECRET_ID"]}
	for _, pid := range []int{p.cmd.Process.Pid, ss[1].Pid} {
		if found := secretsIn(cmdline(pid), secrets...); len(found) > 0 {
			t.Errorf("pid %d argv holds %v", pid, found)
		}
	}

	// TERM is forwarded; the child dies of it; gdsvault exits 143.
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit status %d, want %d", code, 128+int(syscall.SIGTERM))
	}
	if found := secretsIn(p.stderr.String()+p.stdout.String(), secrets...); len(found) > 0 {
		t.Errorf("gdsvault's output holds %v", found)
	}
	if !strings.Contains(p.stderr.String(), "secrets changed") || !strings.Contains(p.stderr.String(), "DB_PASS") {
		t.Errorf("-v should log the change by variable name:\n%s", p.stderr.String())
	}
	if toks := roleTokens(t, role); len(toks) != 0 {
		t.Errorf("the token gdsvault logged in for was not revoked: %v", toks)
	}
}

// TestExecExitStatus: the child's exit code, and 128+n for a signal, are
// gdsvault's; a failing child is started again only with -restart on-failure.
func TestExecExitStatus(t *testing.T) {
	vault.Require(t)
	mount := setup(t)
	env := map[string]string{"VAULT_ADDR": vault.Addr, "VAULT_TOKEN": vault.RootToken}
	secret := []string{"exec", "-secret", "P=" + mount + "/myapp/config#db_pass"}
	for name, tc := range map[string]struct {
		flags  []string
		child  []string
		code   int
		starts int
	}{
		"exit code":  {nil, []string{"-exit", "3"}, 3, 1},
		"exit 0":     {nil, []string{"-exit", "0"}, 0, 1},
		"signal":     {nil, []string{"-die", "KILL"}, 128 + int(syscall.SIGKILL), 1},
		"no restart": {nil, []string{"-fail-until", "3"}, 1, 1},
		"on-failure": {[]string{"-restart", "on-failure"}, []string{"-fail-until", "3", "-exit", "0"}, 0, 3},
	} {
		report := filepath.Join(t.TempDir(), "report")
		args := append(append(slices.Clone(secret), tc.flags...), childArgs(report, tc.child...)...)
		p := startGdsvault(t, env, args...)
		code := p.wait(t)
		if n := len(eventsOf(readReport(report), "start")); code != tc.code || n != tc.starts {
			t.Errorf("%s: exit %d with %d starts, want %d with %d; stderr:\n%s", name, code, n, tc.code, tc.starts, p.stderr.String())
		}
		if tc.code != 0 && strings.Contains(p.stderr.String(), "gdsvault:") {
			t.Errorf("%s: gdsvault should pass the status on silently: %s", name, p.stderr.String())
		}
	}
}

// TestExecSignals: HUP, USR1, USR2 and QUIT reach the child and do not stop
// it; INT is forwarded and ends both; a child that ignores TERM is killed
// after -grace.
func TestExecSignals(t *testing.T) {
	vault.Require(t)
	mount := setup(t)
	env := map[string]string{"VAULT_ADDR": vault.Addr, "VAULT_TOKEN": vault.RootToken}
	report := filepath.Join(t.TempDir(), "report")
	p := startGdsvault(t, env, append([]string{"exec", "-secret", "P=" + mount + "/myapp/config#db_pass"}, childArgs(report)...)...)
	eventually(t, "the child to start", func() bool { return len(eventsOf(readReport(report), "start")) == 1 })
	var want []string
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGQUIT, syscall.SIGINT} {
		p.signal(t, sig)
		want = append(want, sig.String())
		eventually(t, sig.String()+" to reach the child", func() bool { return len(eventsOf(readReport(report), "signal")) == len(want) })
	}
	if code := p.wait(t); code != 128+int(syscall.SIGINT) {
		t.Errorf("exit %d after INT, want %d", code, 128+int(syscall.SIGINT))
	}
	var got []string
	for _, e := range eventsOf(readReport(report), "signal") {
		got = append(got, e.Signal)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("child got %v, want %v (each once)", got, want)
	}

	report = filepath.Join(t.TempDir(), "report")
	p = startGdsvault(t, env, append([]string{"exec", "-grace", "500ms", "-secret", "P=" + mount + "/myapp/config#db_pass"}, childArgs(report, "-ignore-term")...)...)
	eventually(t, "the child to start", func() bool { return len(eventsOf(readReport(report), "start")) == 1 })
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t); code != 128+int(syscall.SIGKILL) {
		t.Errorf("exit %d for a child that ignores TERM, want %d (SIGKILL after the grace period)", code, 128+int(syscall.SIGKILL))
	}
	if sigs := eventsOf(readReport(report), "signal"); len(sigs) != 1 {
		t.Errorf("the child should get TERM once: %+v", sigs)
	}
}

// TestExecUsage: what is wrong is said before anything runs.
func TestExecUsage(t *testing.T) {
	vault.Require(t)
	mount := setup(t)
	for name, tc := range map[string]struct {
		args []string
		code int
		want string
	}{
		"no program":     {[]string{"exec", "-secret", "A=" + mount + "/myapp/config#db_pass"}, ExitUsage, "no program to run"},
		"no secrets":     {[]string{"exec", "--", "/bin/true"}, ExitUsage, "nothing to inject"},
		"bad -secret":    {[]string{"exec", "-secret", "A=" + mount + "/myapp/config", "--", "/bin/true"}, ExitUsage, "NAME=PATH#KEY"},
		"bad name":       {[]string{"exec", "-secret", "1A=x/y#k", "--", "/bin/true"}, ExitUsage, "not a variable name"},
		"dangerous name": {[]string{"exec", "-secret", "LD_PRELOAD=x/y#k", "--", "/bin/true"}, ExitUsage, "LD_PRELOAD changes how programs run"},
		"same name":      {[]string{"exec", "-secret", "A=x/y#k", "-secret", "A=x/z#k", "--", "/bin/true"}, ExitUsage, "both set A"},
		"bad signal":     {[]string{"exec", "-stop-signal", "NOPE", "-secret", "A=x/y#k", "--", "/bin/true"}, ExitUsage, "unknown signal"},
		"bad restart":    {[]string{"exec", "-restart", "always", "-secret", "A=x/y#k", "--", "/bin/true"}, ExitUsage, "never or on-failure"},
		"missing key":    {[]string{"exec", "-secret", "A=" + mount + "/myapp/config#nope", "--", "/bin/true"}, ExitNotFound, `no key "nope"`},
		"missing secret": {[]string{"exec", "-secret", "A=" + mount + "/myapp/none#k", "--", "/bin/true"}, ExitNotFound, "404"},
		"dangerous key":  {[]string{"exec", "-secret-from", mount + "/bad", "--", "/bin/true"}, ExitError, "would set PATH"},
		"two sources, one variable": {[]string{"exec", "-secret", "DB_PASS=" + mount + "/myapp/config#db_user", "-secret-from", mount + "/myapp/config", "--", "/bin/true"},
			ExitError, mount + "/myapp/config#db_user and " + mount + "/myapp/config#db_pass would both set DB_PASS"},
		"NUL in a value": {[]string{"exec", "-secret", "A=" + mount + "/nul#k", "--", "/bin/true"}, ExitError, "holds a NUL byte"},
		"no such program": {[]string{"exec", "-secret", "A=" + mount + "/myapp/config#db_pass", "--", "/nonexistent/app"}, ExitError,
			"cannot start the program /nonexistent/app"},
	} {
		vault.PutKV(t, mount, "bad", map[string]any{"path": "/evil"})
		vault.PutKV(t, mount, "nul", map[string]any{"k": "a\x00b"})
		_, errOut, code := run(t, root(), "", tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d (want %d), stderr %q (want %q)", name, code, tc.code, errOut, tc.want)
		}
	}
}

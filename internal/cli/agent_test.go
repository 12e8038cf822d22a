package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/vaulttest"
)

type fileState struct {
	content string
	ino     uint64
	mtime   time.Time
	mode    os.FileMode
}

func stat(t *testing.T, path string) (fileState, bool) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		return fileState{}, false
	}
	b, _ := os.ReadFile(path)
	return fileState{content: string(b), ino: fi.Sys().(*syscall.Stat_t).Ino, mtime: fi.ModTime(), mode: fi.Mode().Perm()}, true
}

func lines(path string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "\n")
}

var listenRE = regexp.MustCompile(`msg="serving /healthz".* addr=(\S+)`)

// healthz waits for the agent's address in its log, then asks /healthz.
func healthz(t *testing.T, p *proc) (int, agentHealth) {
	t.Helper()
	var addr string
	eventually(t, "the agent's /healthz address", func() bool {
		m := listenRE.FindStringSubmatch(p.stderr.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil || p.exited()
	})
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var h agentHealth
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("healthz: %v: %s", err, b)
	}
	return resp.StatusCode, h
}

func writeAgentConfig(t *testing.T, dir, yaml string) string {
	t.Helper()
	p := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAgentRendersOnChangeOnly drives `gdsvault agent` through a proxy
// that counts its reads: templates render; re-reads that change nothing
// the templates use write nothing and run no command; a change is written
// once, by rename, and runs the command once; the sink holds a working
// token, mode 0600; at exit the sink is removed and the token revoked.
func TestAgentRendersOnChangeOnly(t *testing.T) {
	vault.Require(t)
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	vault.PutKV(t, mount, "myapp/config", map[string]any{"db_host": "db.example", "db_pass": "pw-v1-5e5e", "unused": "u1"})
	proxy := vaulttest.NewProxy(t, vault.Addr)
	env, role := approleEnv(t, proxy.Addr, `path "`+mount+`/*" { capabilities = ["read"] }`)
	reads := func() int { return proxy.Stats().Paths[mount+"/data/myapp/config"] }
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	counter := filepath.Join(dir, "counter")
	os.WriteFile(filepath.Join(dir, "app.tmpl"), []byte(`host={{ secret "`+mount+`/myapp/config" "db_host" }}
pass={{ secret "`+mount+`/myapp/config" "db_pass" }}
`), 0o600)
	cfg := writeAgentConfig(t, dir, fmt.Sprintf(`refresh: 200ms
token_sink:
  path: out/token
templates:
  - source: app.tmpl
    destination: out/app.conf
    mode: "0640"
    command: [/bin/sh, -c, "echo ran >> %s"]
  - contents: '{{ with secretMap "%s/myapp/config" }}{{ .db_host }}{{ end }}'
    destination: out/host.txt
`, counter, mount))
	p := startGdsvault(t, env, "agent", "-listen", "127.0.0.1:0", cfg)
	conf, host, sink := filepath.Join(out, "app.conf"), filepath.Join(out, "host.txt"), filepath.Join(out, "token")
	eventually(t, "the first render", func() bool { _, ok := stat(t, host); return (ok && lines(counter) == 1) || p.exited() })
	first, _ := stat(t, conf)
	if first.content != "host=db.example\npass=pw-v1-5e5e\n" || first.mode != 0o640 {
		t.Fatalf("rendered %q mode %v", first.content, first.mode)
	}
	if h, _ := stat(t, host); h.content != "db.example" || h.mode != 0o600 {
		t.Errorf("host.txt %q mode %v", h.content, h.mode)
	}
	tok, ok := stat(t, sink)
	if !ok || tok.mode != 0o600 {
		t.Fatalf("sink: %v mode %v", ok, tok.mode)
	}
	if _, err := vault.DoWithToken(context.Background(), http.MethodGet, "auth/token/lookup-self", nil, tok.content); err != nil {
		t.Errorf("the sink's token does not work: %v", err)
	}
	if code, h := healthz(t, p); code != 200 || h.Status != "ok" || len(h.Templates) != 2 || h.Token.Method != "approle" {
		t.Errorf("healthz %d %+v", code, h)
	}

	// Re-reads of unchanged values, then a change to a key no template
	// uses: nothing written, no command.
	n := reads()
	eventually(t, "five re-reads", func() bool { return reads() >= n+5 })
	vault.PutKV(t, mount, "myapp/config", map[string]any{"db_host": "db.example", "db_pass": "pw-v1-5e5e", "unused": "u2"})
	n = reads()
	eventually(t, "five re-reads after an unrelated change", func() bool { return reads() >= n+5 })
	if now, _ := stat(t, conf); now != first || lines(counter) != 1 {
		t.Fatalf("rewritten without a change: %+v -> %+v, %d command runs", first, now, lines(counter))
	}

	// A change: written once, by rename, and the command runs once.
	vault.PutKV(t, mount, "myapp/config", map[string]any{"db_host": "db.example", "db_pass": "pw-v2-7f7f", "unused": "u2"})
	eventually(t, "the new value", func() bool { s, _ := stat(t, conf); return strings.Contains(s.content, "pw-v2-7f7f") })
	n = reads()
	eventually(t, "five re-reads after the change", func() bool { return reads() >= n+5 })
	second, _ := stat(t, conf)
	if second.ino == first.ino {
		t.Error("the file was rewritten in place, not renamed")
	}
	if runs := lines(counter); runs != 2 {
		t.Errorf("command ran %d times for two changes (the first render and one update)", runs)
	}
	if h, _ := stat(t, host); h.content != "db.example" {
		t.Errorf("host.txt %q", h.content)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 3 {
		t.Errorf("files left in the destination directory: %v", entries)
	}
	if _, h := healthz(t, p); h.Templates[0].Changes != 2 || h.Templates[1].Changes != 1 {
		t.Errorf("healthz counts %+v", h.Templates)
	}

	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Errorf("exit %d", code)
	}
	if _, ok := stat(t, sink); ok {
		t.Error("the sink is still there after exit")
	}
	if toks := roleTokens(t, role); len(toks) != 0 {
		t.Errorf("token not revoked at exit: %v", toks)
	}
	if found := secretsIn(p.stderr.String(), "pw-v1-5e5e", "pw-v2-7f7f", tok.content, env["VAULT_SECRET_ID"]); len(found) > 0 {
		t.Errorf("the agent's log holds %v", found)
	}
}

// TestAgentSealed: while Vault is sealed for 10 s the files stay as they
// are and /healthz says stale; after unsealing, changes render again.
func TestAgentSealed(t *testing.T) {
	vault.Require(t)
	srv := vaulttest.Start(t, vaulttest.Options{})
	srv.PutKV(t, "secret", "app", map[string]any{"v": "before-seal"})
	dir := t.TempDir()
	dest := filepath.Join(dir, "app.txt")
	cfg := writeAgentConfig(t, dir, fmt.Sprintf("refresh: 200ms\ntemplates:\n  - contents: '{{ secret \"secret/app\" \"v\" }}'\n    destination: %s\n", dest))
	p := startGdsvault(t, map[string]string{"VAULT_ADDR": srv.Addr, "VAULT_TOKEN": srv.RootToken, "VAULT_MAX_RETRIES": "1"},
		"agent", "-listen", "127.0.0.1:0", cfg)
	eventually(t, "the first render", func() bool { s, _ := stat(t, dest); return s.content == "before-seal" || p.exited() })
	before, _ := stat(t, dest)

	srv.Seal(t)
	sealedAt := time.Now()
	eventually(t, "/healthz to say stale", func() bool { _, h := healthz(t, p); return h.Status == "stale" })
	for time.Since(sealedAt) < 10*time.Second { // the scenario: sealed for 10 s, the agent polling every 200 ms
		if s, ok := stat(t, dest); !ok || s != before {
			t.Fatalf("the file changed while Vault was sealed: %+v", s)
		}
		if code, h := healthz(t, p); code != 200 || h.Status != "stale" {
			t.Fatalf("healthz while sealed: %d %+v", code, h)
		}
		time.Sleep(200 * time.Millisecond)
	}
	srv.Unseal(t)
	srv.PutKV(t, "secret", "app", map[string]any{"v": "after-unseal"})
	eventually(t, "the render after unsealing", func() bool { s, _ := stat(t, dest); return s.content == "after-unseal" })
	eventually(t, "/healthz to say ok", func() bool { _, h := healthz(t, p); return h.Status == "ok" })
	log := p.stderr.String()
	if !strings.Contains(log, "vault cannot be reached: the files keep the last good values") || !strings.Contains(log, "vault reachable again") {
		t.Errorf("the agent should say it serves stale values, and when it stops:\n%s", log)
	}
	p.signal(t, syscall.SIGTERM)
	p.wait(t)
}

// TestAgentWrappedSink: with wrap_ttl the sink holds a response-wrapping
// token whose unwrapped data is a working token.
func TestAgentWrappedSink(t *testing.T) {
	vault.Require(t)
	dir := t.TempDir()
	sink := filepath.Join(dir, "token")
	env, _ := approleEnv(t, vault.Addr, `path "sys/wrapping/wrap" { capabilities = ["update"] }`)
	cfg := writeAgentConfig(t, dir, "token_sink:\n  path: token\n  wrap_ttl: 5m\n")
	p := startGdsvault(t, env, "agent", cfg)
	eventually(t, "the sink", func() bool { _, ok := stat(t, sink); return ok || p.exited() })
	w, _ := stat(t, sink)
	out, err := vault.DoWithToken(context.Background(), http.MethodPost, "sys/wrapping/unwrap", nil, w.content)
	if err != nil {
		t.Fatalf("unwrap: %v", err)
	}
	inner, _ := vaulttest.Data(out)["token"].(string)
	if _, err := vault.DoWithToken(context.Background(), http.MethodGet, "auth/token/lookup-self", nil, inner); err != nil || inner == "" {
		t.Errorf("the unwrapped token does not work: %v", err)
	}
	p.signal(t, syscall.SIGTERM)
	p.wait(t)
}

// TestAgentConfigErrors: every bad field, template, destination and
// missing secret is named, all at once, before anything runs.
func TestAgentConfigErrors(t *testing.T) {
	vault.Require(t)
	mount := setup(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "afile"), nil, 0o600)
	for name, tc := range map[string]struct {
		yaml string
		code int
		want []string
	}{
		"unknown field": {"templates:\n  - destinaton: x\n", ExitError, []string{"field destinaton not found in a template", "the keys are"}},
		"everything at once": {`refresh: soon
token_sink:
  path: nodir/token
  mode: "0644"
templates:
  - contents: x
    source: y
    destination: afile/x
  - contents: '{{ secrett "a" }}'
    destination: out1
  - source: missing.tmpl
  - contents: x
    destination: out1
    mode: "999"
`, ExitError, []string{`refresh: is not a positive duration: "soon"`, "token_sink.path: directory " + dir + "/nodir does not exist",
			"token_sink.mode: 0644 lets every user read the token", "templates[0]: has both source and contents", "afile is not a directory",
			`templates[1]: does not parse`, `function "secrett" not defined`, "templates[2].source: cannot read", "templates[2].destination: is not set",
			"templates[3].destination: " + dir + "/out1 is also templates[1].destination", `templates[3].mode: is not a file mode: "999"`}},
		"nothing to do": {"refresh: 1m\n", ExitError, []string{"nothing to do"}},
		"missing secret": {fmt.Sprintf("templates:\n  - contents: '{{ secret \"%s/myapp/config\" \"nope\" }}'\n    destination: a\n  - contents: '{{ secret \"%s/none\" \"k\" }}'\n    destination: b\n", mount, mount),
			ExitNotFound, []string{"first render failed", `has no key "nope"`, "/none", "404"}},
	} {
		cfg := writeAgentConfig(t, dir, tc.yaml)
		_, errOut, code := run(t, root(), "", "agent", cfg)
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", name, w, errOut)
			}
		}
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d", name, code, tc.code)
		}
	}
	if _, errOut, code := run(t, root(), "", "agent", filepath.Join(dir, "nope.yaml")); code != ExitError || !strings.Contains(errOut, "cannot read") {
		t.Errorf("missing file: %d %s", code, errOut)
	}
	for _, f := range []string{"a", "b"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s written although the first render failed", f)
		}
	}
}

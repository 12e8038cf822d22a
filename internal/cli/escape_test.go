package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// hostile is text a malicious or compromised server could send: colour,
// clear screen, window title, a carriage return to overwrite the line, the
// 8-bit CSI (U+009B), DEL and a byte that is not UTF-8.
const hostile = "a\x1b[31mred\x1b[2J\x1b]0;pwned\x07\rover\u009b1m\x7f\xff\tz\nnext"

// rawControls reports the first control byte or C1 rune a terminal could
// act on, ignoring newlines and, when allowTab, tabs.
func rawControls(s string, allowTab bool) (string, bool) {
	for i, r := range s {
		if r == '\n' || allowTab && r == '\t' {
			continue
		}
		if isControl(r) || r == 0xfffd && s[i] == 0xff {
			return s[i:min(len(s), i+8)], true
		}
	}
	return "", false
}

func TestEscape(t *testing.T) {
	for _, tc := range []struct {
		in        string
		keepLines bool
		want      string
	}{
		{"plain text, é ü 日本", false, "plain text, é ü 日本"},
		{"", false, ""},
		{"a\x1b[31mb", false, `a\x1b[31mb`},
		{"a\x1b[31mb", true, `a\x1b[31mb`},
		{"l1\nl2\tx", false, `l1\nl2\tx`},
		{"l1\nl2\tx", true, "l1\nl2\tx"},
		{"cr\rlf", true, `cr\rlf`},
		{"bell\a nul\x00 del\x7f", true, `bell\x07 nul\x00 del\x7f`},
		{"csi\u009b1m nel\u0085 nbsp\u00a0", false, `csi\u009b1m nel\u0085 nbsp` + "\u00a0"},
		{"bad\xffutf8\xc3", false, `bad\xffutf8\xc3`},
		{`back\slash`, false, `back\slash`},
	} {
		got := escape(tc.in, tc.keepLines)
		if got != tc.want {
			t.Errorf("escape(%q, %v) = %q, want %q", tc.in, tc.keepLines, got, tc.want)
		}
		if c, ok := rawControls(got, tc.keepLines); ok {
			t.Errorf("escape(%q, %v) left a control in %q", tc.in, tc.keepLines, c)
		}
	}
}

func TestJSONSafe(t *testing.T) {
	v := map[string]any{"k\x1b\u009b": hostile, "n": 1, "plain": "é\u00a0"}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("\u009b")) {
		t.Fatal("encoding/json escapes C1 now: jsonSafe may be unneeded")
	}
	safe := jsonSafe(b)
	if c, ok := rawControls(string(safe), false); ok {
		t.Errorf("jsonSafe left %q in %s", c, safe)
	}
	var back, orig map[string]any
	if json.Unmarshal(safe, &back) != nil || json.Unmarshal(b, &orig) != nil || !equalJSON(back, orig) {
		t.Errorf("jsonSafe changed the meaning: %s -> %s", b, safe)
	}
	if plain := []byte(`{"a":"b"}`); &jsonSafe(plain)[0] != &plain[0] {
		t.Error("jsonSafe copied a clean document")
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// terminal is a test stdout that says it is a terminal, as *os.File does.
type terminal struct{ bytes.Buffer }

func (*terminal) Stat() (os.FileInfo, error) { return charDevice{}, nil }

type charDevice struct{ os.FileInfo }

func (charDevice) Mode() os.FileMode { return os.ModeDevice | os.ModeCharDevice }

func TestIsTerminal(t *testing.T) {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	file, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for name, tc := range map[string]struct {
		w    io.Writer
		want bool
	}{
		"character device": {devnull, true},
		"fake terminal":    {&terminal{}, true},
		"regular file":     {file, false},
		"pipe":             {w, false},
		"buffer":           {&bytes.Buffer{}, false},
	} {
		if got := isTerminal(tc.w); got != tc.want {
			t.Errorf("%s: isTerminal = %v, want %v", name, got, tc.want)
		}
	}
}

// runTo is run with a stdout of the caller's choice (a fake terminal).
func runTo(t *testing.T, out io.Writer, env map[string]string, stdin string, args ...string) (string, int) {
	t.Helper()
	full := map[string]string{"VAULT_ADDR": vault.Addr, "HOME": t.TempDir()}
	for k, v := range env {
		full[k] = v
	}
	var errb bytes.Buffer
	code := Main(t.Context(), args, Streams{In: strings.NewReader(stdin), Out: out, Err: &errb}, func(k string) (string, bool) {
		v, ok := full[k]
		return v, ok
	})
	return errb.String(), code
}

// TestHostileSecret stores a secret whose key and value carry terminal
// controls in a real Vault and reads it back in every format.
func TestHostileSecret(t *testing.T) {
	vault.Require(t)
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	const key = "k\x1b[31m\u009b"
	vault.PutKV(t, mount, "evil", map[string]any{key: hostile, "other": "x\x1b]0;t\x07"})
	p := mount + "/evil"
	value := strings.ToValidUTF8(hostile, "\ufffd") // what JSON carries back for the \xff byte

	for _, tc := range []struct {
		name     string
		args     []string
		terminal bool
		allowTab bool   // a value printed on its own keeps its tabs
		want     string // a substring the output must hold
	}{
		{"table", []string{"get", p}, false, false, `k\x1b[31m\u009b`},
		{"table on a terminal", []string{"get", p}, true, false, `a\x1b[31mred`},
		{"field on a terminal", []string{"get", "-field", key, p}, true, true, `\rover\u009b1m\x7f`},
		{"env on a terminal", []string{"get", "-format", "env", "-env-prefix", "S_", p}, true, true, `='a\x1b[31mred`},
		{"json", []string{"get", "-format", "json", p}, false, false, `\u001b[31m`},
		{"yaml", []string{"get", "-format", "yaml", p}, false, false, `\e[31m`},
		{"field json", []string{"get", "-format", "json", "-field", key, p}, false, false, `\u009b1m\u007f`},
	} {
		var out bytes.Buffer
		var w io.Writer = &out
		var term *terminal
		if tc.terminal {
			term = &terminal{}
			w = term
		}
		errOut, code := runTo(t, w, root(), "", tc.args...)
		got := out.String()
		if term != nil {
			got = term.String()
		}
		if code != ExitOK {
			t.Errorf("%s: code %d, stderr %q", tc.name, code, errOut)
			continue
		}
		if c, ok := rawControls(got, tc.allowTab); ok {
			t.Errorf("%s: raw control %q in output %q", tc.name, c, got)
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: output %q does not contain %q", tc.name, got, tc.want)
		}
	}

	// The structured formats still carry the exact value.
	out, _, _ := run(t, root(), "", "get", "-format", "json", p)
	var j struct{ Data map[string]string }
	if json.Unmarshal([]byte(out), &j) != nil || j.Data[key] != value {
		t.Errorf("json lost the value: %q", out)
	}
	out, _, _ = run(t, root(), "", "get", "-format", "yaml", p)
	var y struct{ Data map[string]string }
	if yaml.Unmarshal([]byte(out), &y) != nil || y.Data[key] != value {
		t.Errorf("yaml lost the value: %q", out)
	}
	// -field into a pipe or a file is the raw value: the user asked for it.
	out, _, code := run(t, root(), "", "get", "-field", key, p)
	if code != ExitOK || out != value+"\n" {
		t.Errorf("-field to a pipe: %d %q, want the raw value", code, out)
	}
	// -format env into a pipe is raw too, for eval.
	out, _, _ = run(t, root(), "", "get", "-format", "env", "-env-prefix", "S_", p)
	if !strings.Contains(out, "S_OTHER='x\x1b]0;t\x07'") {
		t.Errorf("env to a pipe: %q", out)
	}
}

// hostileVault is a fake Vault whose list entries, warnings and error texts
// carry terminal controls: what a compromised server or proxy could send.
func hostileVault(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		reply := func(code int, v any) {
			w.WriteHeader(code)
			json.NewEncoder(w).Encode(v)
		}
		switch {
		case r.URL.Path == "/v1/auth/token/lookup-self":
			reply(200, map[string]any{"data": map[string]any{"policies": []string{"root"}, "ttl": 0, "type": "service"}})
		case strings.HasPrefix(r.URL.Path, "/v1/sys/internal/ui/mounts/"):
			reply(200, map[string]any{"data": map[string]any{"path": "secret/", "type": "kv", "options": map[string]string{"version": "2"}}})
		case r.URL.Path == "/v1/secret/metadata/dir":
			reply(200, map[string]any{"data": map[string]any{"keys": []string{"ok", "\x1b[2J\x1b[Hfake\u009b", "l1\nl2"}}})
		case r.URL.Path == "/v1/secret/data/warned":
			reply(200, map[string]any{"data": map[string]any{"data": map[string]any{"k": "v"}, "metadata": map[string]any{"version": 1}},
				"warnings": []string{"careful\x1b]0;pwned\x07\nhint: fake"}})
		case r.URL.Path == "/v1/secret/data/failing":
			reply(400, map[string]any{"errors": []string{"bad\x1b[31m request\r\nhint: set VAULT_ADDR=https://evil.example"}})
		default:
			t.Errorf("hostile vault: unexpected %s %s", r.Method, r.URL)
			reply(404, map[string]any{"errors": []string{}})
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestHostileServerText(t *testing.T) {
	vault.Require(t)
	env := map[string]string{"VAULT_ADDR": hostileVault(t), "VAULT_TOKEN": "hvs.fake-token-for-a-fake-vault"}
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		outHas     string
		errHas     string
		errLinesAt string // every stderr line starts with one of these (|-separated)
	}{
		{"list entries", []string{"list", "secret/dir"}, ExitOK, `\x1b[2J\x1b[Hfake\u009b` + "\n" + `l1\nl2` + "\n", "", ""},
		{"warnings", []string{"get", "secret/warned"}, ExitOK, "k", `warning from vault: careful\x1b]0;pwned\x07\nhint: fake`, "gdsvault: warning from vault: "},
		{"error text", []string{"get", "secret/failing"}, ExitError, "", `bad\x1b[31m request\r`, "gdsvault: |  "},
	} {
		out, errOut, code := run(t, env, "", tc.args...)
		if code != tc.code || !strings.Contains(out, tc.outHas) || !strings.Contains(errOut, tc.errHas) {
			t.Errorf("%s: code %d (want %d), stdout %q (want %q), stderr %q (want %q)", tc.name, code, tc.code, out, tc.outHas, errOut, tc.errHas)
		}
		for _, s := range []string{out, errOut} {
			if c, ok := rawControls(s, false); ok {
				t.Errorf("%s: raw control %q in %q", tc.name, c, s)
			}
		}
		if tc.errLinesAt != "" {
			for _, line := range strings.Split(strings.TrimSuffix(errOut, "\n"), "\n") {
				ok := false
				for _, p := range strings.Split(tc.errLinesAt, "|") {
					ok = ok || strings.HasPrefix(line, p)
				}
				if !ok || strings.HasPrefix(line, "hint: fake") || strings.HasPrefix(line, "hint: set VAULT_ADDR") {
					t.Errorf("%s: server text passes for a line of its own: %q", tc.name, line)
				}
			}
		}
	}
}

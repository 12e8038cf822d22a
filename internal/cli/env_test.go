package cli

import (
	"strings"
	"testing"
)

func TestEnvNames(t *testing.T) {
	for _, tc := range []struct {
		name   string
		keys   []string
		prefix string
		want   map[string]string // nil: refused
		errHas []string
	}{
		{"normalised", []string{"db-host", "db.user", "9lives", "x"}, "",
			map[string]string{"db-host": "DB_HOST", "db.user": "DB_USER", "9lives": "_LIVES", "x": "X"}, nil},
		{"path", []string{"path", "db_host"}, "", nil, []string{`key "path"`, "PATH", "use -env-prefix"}},
		{"ld_preload", []string{"ld_preload"}, "", nil, []string{`key "ld_preload"`, "LD_PRELOAD", "use -env-prefix"}},
		{"ld family", []string{"ld-audit"}, "", nil, []string{"LD_AUDIT"}},
		{"dyld", []string{"DYLD_INSERT_LIBRARIES"}, "", nil, []string{"DYLD_INSERT_LIBRARIES"}},
		{"exported bash function", []string{"BASH_FUNC_ls%%"}, "", nil, []string{"BASH_FUNC_LS__"}},
		{"bash_env", []string{"bash.env"}, "", nil, []string{"BASH_ENV"}},
		{"ps4", []string{"ps4"}, "", nil, []string{"PS4"}},
		{"node_options", []string{"node-options"}, "", nil, []string{"NODE_OPTIONS"}},
		{"ifs", []string{"ifs"}, "", nil, []string{"IFS"}},
		{"home", []string{"Home"}, "", nil, []string{"HOME"}},
		{"empty key", []string{""}, "", nil, []string{"empty key", "-env-prefix"}},
		{"collision", []string{"a-b", "a_b"}, "", nil, []string{`"a-b"`, `"a_b"`, "A_B"}},
		{"collision by case", []string{"Key", "key"}, "", nil, []string{`"Key"`, `"key"`, "KEY"}},
		{"collision with a prefix", []string{"a.b", "A_B"}, "APP_", nil, []string{`"A_B"`, `"a.b"`, "APP_A_B"}},
		{"prefix makes them safe", []string{"path", "ld_preload", "bash_func_x", ""}, "APP_",
			map[string]string{"path": "APP_PATH", "ld_preload": "APP_LD_PRELOAD", "bash_func_x": "APP_BASH_FUNC_X", "": "APP_"}, nil},
		{"lower-case prefix kept", []string{"path"}, "my_", map[string]string{"path": "my_PATH"}, nil},
		{"dangerous prefix", []string{"preload"}, "LD_", nil, []string{"LD_PRELOAD", "another -env-prefix"}},
		{"bad prefix", []string{"x"}, "1A", nil, []string{"-env-prefix", "variable name"}},
		{"bad prefix char", []string{"x"}, "A-", nil, []string{"-env-prefix"}},
	} {
		got, err := envNames(tc.keys, tc.prefix)
		if tc.want == nil {
			if err == nil {
				t.Errorf("%s: accepted %v", tc.name, got)
				continue
			}
			for _, s := range tc.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%s: error %q does not say %q", tc.name, err, s)
				}
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s: %q became %q, want %q", tc.name, k, got[k], v)
			}
		}
	}
}

func TestEnvFormat(t *testing.T) {
	vault.Require(t)
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	vault.PutKV(t, mount, "path", map[string]any{"path": "/tmp/evil-bin-value", "db_host": "h"})
	vault.PutKV(t, mount, "preload", map[string]any{"ld_preload": "/tmp/evil.so-value"})
	vault.PutKV(t, mount, "twins", map[string]any{"a-b": "first-value", "a_b": "second-value"})

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		out    string
		errHas []string
	}{
		{"path", []string{"get", "-format", "env", mount + "/path"}, ExitError, "", []string{`"path"`, "PATH", "-env-prefix"}},
		{"ld_preload", []string{"get", "-format=env", mount + "/preload"}, ExitError, "", []string{`"ld_preload"`, "LD_PRELOAD", "-env-prefix"}},
		{"collision", []string{"get", "-format", "env", mount + "/twins"}, ExitError, "", []string{`"a-b"`, `"a_b"`, "A_B"}},
		{"collision with a prefix", []string{"get", "-format", "env", "-env-prefix", "APP_", mount + "/twins"}, ExitError, "", []string{`"a-b"`, `"a_b"`, "APP_A_B"}},
		{"prefix", []string{"get", "-format", "env", "-env-prefix", "APP_", mount + "/path"}, ExitOK,
			"APP_DB_HOST='h'\nAPP_PATH='/tmp/evil-bin-value'\n", nil},
		{"bad prefix", []string{"get", "-format", "env", "-env-prefix", "A B", mount + "/path"}, ExitUsage, "", []string{"-env-prefix"}},
		{"other formats unaffected", []string{"get", "-field", "path", mount + "/path"}, ExitOK, "/tmp/evil-bin-value\n", nil},
	} {
		out, errOut, code := run(t, root(), "", tc.args...)
		if code != tc.code || out != tc.out {
			t.Errorf("%s: code %d (want %d), stdout %q (want %q), stderr %q", tc.name, code, tc.code, out, tc.out, errOut)
		}
		for _, s := range tc.errHas {
			if !strings.Contains(errOut, s) {
				t.Errorf("%s: stderr %q does not say %q", tc.name, errOut, s)
			}
		}
		if strings.Contains(errOut, "-value") {
			t.Errorf("%s: stderr shows a secret value: %q", tc.name, errOut)
		}
	}
}

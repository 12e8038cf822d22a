package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gdsvault/gdsvault/vaulttest"
)

func TestPutValueFromStdin(t *testing.T) {
	vault.Require(t)
	mount := setup(t)
	file := vaulttest.WriteFile(t, "pem", []byte("-----BEGIN-----\nAAAA\n-----END-----\n"))
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  map[string]string // what the secret holds afterwards
	}{
		// As `vault kv put k=-`: stdin is the value, byte for byte.
		{"printf", "s3cret", []string{"k=-"}, map[string]string{"k": "s3cret"}},
		{"echo keeps its newline", "s3cret\n", []string{"k=-"}, map[string]string{"k": "s3cret\n"}},
		{"multiline", "l1\nl2\n", []string{"k=-"}, map[string]string{"k": "l1\nl2\n"}},
		{"empty", "", []string{"k=-"}, map[string]string{"k": ""}},
		{"with other keys", "pw", []string{"user=u", "pass=-", "cert=@" + file}, map[string]string{"user": "u", "pass": "pw", "cert": "-----BEGIN-----\nAAAA\n-----END-----\n"}},
		{"dash inside a value", "", []string{"k=a-b", "l=--"}, map[string]string{"k": "a-b", "l": "--"}},
	} {
		p := mount + "/stdin/" + strings.ReplaceAll(tc.name, " ", "-")
		out, errOut, code := run(t, root(), tc.stdin, append([]string{"put", p}, tc.args...)...)
		if code != ExitOK {
			t.Errorf("%s: put: %d %q %q", tc.name, code, out, errOut)
			continue
		}
		out, _, _ = run(t, root(), "", "get", "-format", "json", p)
		var got struct{ Data map[string]string }
		if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Data) != len(tc.want) {
			t.Errorf("%s: stored %q, want %q", tc.name, out, tc.want)
			continue
		}
		for k, v := range tc.want {
			if got.Data[k] != v {
				t.Errorf("%s: %s = %q, want %q", tc.name, k, got.Data[k], v)
			}
		}
	}

	// Standard input can feed one key only; nothing is written.
	_, errOut, code := run(t, root(), "a\n", "put", mount+"/stdin/twice", "a=-", "b=-")
	if code != ExitUsage || !strings.Contains(errOut, `"a" and "b"`) {
		t.Errorf("two keys from stdin: %d %q", code, errOut)
	}
	if _, _, code := run(t, root(), "", "get", mount+"/stdin/twice"); code != ExitNotFound {
		t.Errorf("a refused put wrote something: get exits %d", code)
	}
}

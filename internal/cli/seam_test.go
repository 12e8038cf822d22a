package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gdsvault/gdsvault"
)

// memVault is an in-memory KV v2 for the command line's own logic (output
// formats, exit codes, escaping), injected through Main's WithClientOptions
// the way gh injects its HTTP client: these tests run without a server (make
// unit). The same commands run against the real Vault in the other tests.
type memVault struct {
	mu      sync.Mutex
	secrets map[string]map[string]any // "app/config" -> data
	version map[string]int
	token   string
}

func newMemVault(token string) *memVault {
	return &memVault{secrets: map[string]map[string]any{}, version: map[string]int{}, token: token}
}

func (m *memVault) RoundTrip(r *http.Request) (*http.Response, error) {
	var body map[string]any
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		_ = json.Unmarshal(b, &body)
	}
	reply := func(status int, v any) (*http.Response, error) {
		b, _ := json.Marshal(v)
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.Header.Get("X-Vault-Token") != m.token {
		return reply(403, map[string]any{"errors": []string{"permission denied", "invalid token"}})
	}
	p := strings.TrimPrefix(r.URL.Path, "/v1/")
	switch {
	case strings.HasPrefix(p, "sys/internal/ui/mounts/"):
		return reply(200, map[string]any{"data": map[string]any{"path": "secret/", "type": "kv", "options": map[string]any{"version": "2"}}})
	case p == "auth/token/lookup-self":
		return reply(200, map[string]any{"data": map[string]any{"ttl": 0, "policies": []string{"root"}}})
	case strings.HasPrefix(p, "secret/data/"):
		key := strings.TrimPrefix(p, "secret/data/")
		switch r.Method {
		case http.MethodGet:
			d, ok := m.secrets[key]
			if !ok {
				return reply(404, map[string]any{"errors": []string{}})
			}
			return reply(200, map[string]any{"data": map[string]any{"data": d, "metadata": map[string]any{"version": m.version[key], "created_time": "2026-01-01T00:00:00Z"}}})
		case http.MethodPost, http.MethodPut:
			d, _ := body["data"].(map[string]any)
			m.secrets[key] = d
			m.version[key]++
			return reply(200, map[string]any{"data": map[string]any{"version": m.version[key]}})
		case http.MethodDelete:
			delete(m.secrets, key)
			return reply(204, nil)
		}
	case strings.HasPrefix(p, "secret/metadata"):
		var keys []string
		for k := range m.secrets {
			keys = append(keys, k)
		}
		return reply(200, map[string]any{"data": map[string]any{"keys": keys}})
	}
	return reply(404, map[string]any{"errors": []string{"no handler for " + p}})
}

// runMem runs the command line against the in-memory Vault with its token.
func runMem(t *testing.T, m *memVault, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return runMemAs(t, m, m.token, stdin, args...)
}

func runMemAs(t *testing.T, m *memVault, token, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{"VAULT_ADDR": "http://vault.invalid:8200", "VAULT_TOKEN": token, "HOME": t.TempDir()}
	code := Main(context.Background(), args, Streams{In: strings.NewReader(stdin), Out: &out, Err: &errOut},
		func(k string) (string, bool) { v, ok := env[k]; return v, ok }, WithClientOptions(gdsvault.WithTransport(m)))
	return out.String(), errOut.String(), code
}

func TestCommandsOnMemVault(t *testing.T) {
	m := newMemVault("hvs.mem-token-value")
	if _, errOut, code := runMem(t, m, "", "put", "secret/app/config", "db_host=h", "db_pass=-"); code != ExitOK {
		t.Fatalf("put: %d %s", code, errOut)
	}
	m.mu.Lock()
	stored := m.secrets["app/config"]
	m.mu.Unlock()
	if stored["db_host"] != "h" || stored["db_pass"] != "" {
		t.Fatalf("stored %v", stored)
	}
	if _, errOut, code := runMem(t, m, "p@ss\x1b[31m", "put", "secret/app/config", "db_host=h", "db_pass=-"); code != ExitOK {
		t.Fatalf("put from stdin: %d %s", code, errOut)
	}
	for _, tc := range []struct {
		args []string
		code int
		out  string // a substring of stdout
		not  string // what stdout must not hold
	}{
		{[]string{"get", "-field", "db_host", "secret/app/config"}, ExitOK, "h\n", ""},
		{[]string{"get", "-format", "json", "secret/data/app/config"}, ExitOK, `"db_host": "h"`, ""},
		{[]string{"get", "-format", "env", "secret/app/config"}, ExitOK, "DB_HOST=", ""},
		{[]string{"get", "secret/app/config"}, ExitOK, `p@ss\x1b[31m`, "\x1b"}, // a table escapes control characters
		{[]string{"get", "secret/app/nothing"}, ExitNotFound, "", ""},
		{[]string{"get", "-field", "nope", "secret/app/config"}, ExitNotFound, "", ""},
		{[]string{"get"}, ExitUsage, "", ""},
		{[]string{"list", "secret/app"}, ExitOK, "config", ""},
		{[]string{"delete", "secret/app/config"}, ExitOK, "", ""},
		{[]string{"get", "secret/app/config"}, ExitNotFound, "", ""},
	} {
		out, errOut, code := runMem(t, m, "", tc.args...)
		if code != tc.code || !strings.Contains(out, tc.out) || (tc.not != "" && strings.Contains(out, tc.not)) {
			t.Errorf("%v: exit %d (want %d), out %q, err %q", tc.args, code, tc.code, out, errOut)
		}
		if strings.Contains(out+errOut, m.token) {
			t.Errorf("%v: the token reached the output", tc.args)
		}
	}
	// A refused token: exit 4, with the hint, and never the token.
	_, errOut, code := runMemAs(t, m, "hvs.wrong-token-value", "", "get", "secret/app/config")
	if code != ExitDenied || !strings.Contains(errOut, "invalid token") || strings.Contains(errOut, "hvs.wrong-token-value") {
		t.Errorf("refused token: exit %d: %s", code, errOut)
	}
}

package cli

import (
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gdsvault/gdsvault"
)

func TestHint(t *testing.T) {
	cert := fmt.Errorf("vault: GET x: %w", errors.Join(gdsvault.ErrCertificate, gdsvault.ErrConnection))
	lost := fmt.Errorf("vault: POST x: %w", errors.Join(gdsvault.ErrOutcomeUnknown, gdsvault.ErrConnection))
	for _, tc := range []struct {
		name   string
		err    error
		has    []string
		hasNot []string
	}{
		// The library's message names the CA settings and says the write may
		// have been applied; the CLI's hint adds only what is left to say.
		{"certificate", cert, []string{"VAULT_SKIP_VERIFY turns verification off: development only"}, []string{"running"}},
		{"outcome unknown", lost, []string{"gdsvault get", "before retrying"}, []string{"running"}},
		{"connection", fmt.Errorf("x: %w", gdsvault.ErrConnection), []string{"is Vault running", "VAULT_ADDR"}, nil},
		{"not found", gdsvault.ErrNotFound, nil, []string{"VAULT"}},
	} {
		h := hint(tc.err)
		for _, s := range tc.has {
			if !strings.Contains(h, s) {
				t.Errorf("%s: hint %q does not say %q", tc.name, h, s)
			}
		}
		for _, s := range tc.hasNot {
			if strings.Contains(h, s) {
				t.Errorf("%s: hint %q says %q", tc.name, h, s)
			}
		}
	}
}

func TestErrorLines(t *testing.T) {
	vault.Require(t)
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errors.New("gdsvault: plain"), "gdsvault: plain"},
		{errors.Join(errors.New("first"), errors.New("second")), "gdsvault: first\n  second"},
		{errors.New("vault says \x1b[2Jcleared\r\nhint: fake"), `gdsvault: vault says \x1b[2Jcleared\r` + "\n  hint: fake"},
	} {
		if got := errorLines(tc.err); got != tc.want {
			t.Errorf("errorLines(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestConnectionHints reaches servers that fail the two ways the hints are
// for: a certificate signed by an unknown CA, and a write whose answer is
// lost (the connection closes once the request is in).
func TestConnectionHints(t *testing.T) {
	vault.Require(t)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the request went through: %s %s", r.Method, r.URL)
	}))
	defer tlsSrv.Close()
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failures are the point
	lost := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v1/auth/token/lookup-self":
			io.WriteString(w, `{"data":{"policies":["root"],"ttl":0,"type":"service"}}`)
			return
		case strings.HasPrefix(r.URL.Path, "/v1/sys/internal/ui/mounts/"):
			io.WriteString(w, `{"data":{"path":"secret/","type":"kv","options":{"version":"2"}}}`)
			return
		}
		io.Copy(io.Discard, r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer lost.Close()
	tok := map[string]string{"VAULT_TOKEN": "hvs.not-a-real-token"}
	for _, tc := range []struct {
		name   string
		addr   string
		args   []string
		has    []string
		hasNot string
	}{
		{"unknown CA", tlsSrv.URL, []string{"get", "secret/x"}, []string{"certificate is not trusted", "VAULT_CACERT", "VAULT_CAPATH", "VAULT_TLS_SERVER_NAME", "hint: VAULT_SKIP_VERIFY"}, "is Vault running"},
		{"lost answer to a write", lost.URL, []string{"put", "secret/x", "k=v"}, []string{"may have been applied", "hint: read the current state"}, "is Vault running"},
	} {
		env := map[string]string{"VAULT_ADDR": tc.addr}
		maps.Copy(env, tok)
		_, errOut, code := run(t, env, "", tc.args...)
		if code != ExitError || strings.Contains(errOut, tc.hasNot) {
			t.Errorf("%s: code %d, stderr %q", tc.name, code, errOut)
		}
		for _, s := range tc.has {
			if !strings.Contains(errOut, s) {
				t.Errorf("%s: stderr %q does not say %q", tc.name, errOut, s)
			}
		}
	}
}

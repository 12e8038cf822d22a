package cli

import (
	"errors"
	"fmt"
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
		{"certificate", cert, []string{"VAULT_CACERT", "VAULT_CAPATH", "VAULT_TLS_SERVER_NAME", "VAULT_SKIP_VERIFY turns verification off: development only"}, []string{"running"}},
		{"outcome unknown", lost, []string{"may have been applied", "before retrying"}, []string{"running"}},
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

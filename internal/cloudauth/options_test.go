package cloudauth

import (
	"errors"
	"strings"
	"testing"

	"github.com/gdsvault/gdsvault"
)

// configError is err as a *gdsvault.ConfigError, or a test failure.
func configError(t *testing.T, err error) *gdsvault.ConfigError {
	t.Helper()
	var ce *gdsvault.ConfigError
	if !errors.As(err, &ce) || !errors.Is(err, gdsvault.ErrConfig) {
		t.Fatalf("err = %#v, want a *gdsvault.ConfigError", err)
	}
	return ce
}

func TestCheckRole(t *testing.T) {
	for _, role := range []string{"web", "web.v2", "a", "_", "team_a-b.c", "A1"} {
		if err := CheckRole("gcp", role); err != nil {
			t.Errorf("CheckRole(%q) = %v", role, err)
		}
	}
	for _, role := range []string{"", "a/b", "my role", "-web", "web-", ".web", "web.", "web\n", "wéb", "a?b"} {
		ce := configError(t, CheckRole("azure", role))
		if ce.Field != "azure role" || ce.Problem == "" || ce.Hint == "" {
			t.Errorf("CheckRole(%q) = %+v", role, ce)
		}
	}
	// The texts the methods had before they shared this function.
	for _, tt := range []struct{ method, role, want string }{
		{"gcp", "", "gdsvault: gcp role: is empty (name the Vault role to log in with (VAULT_GCP_ROLE), as created with vault write auth/gcp/role/<name>)"},
		{"azure", "", "gdsvault: azure role: is empty (name the Vault role to log in with (VAULT_AZURE_ROLE), as created with vault write auth/azure/role/<name>)"},
		{"gcp", "a/b", `gdsvault: gcp role: is not a valid Vault role name: "a/b" (role names are letters, digits, '_', '-' and '.')`},
	} {
		if got := CheckRole(tt.method, tt.role).Error(); got != tt.want {
			t.Errorf("CheckRole(%q, %q) = %s\nwant %s", tt.method, tt.role, got, tt.want)
		}
	}
}

func TestBaseURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://iamcredentials.googleapis.com", "https://iamcredentials.googleapis.com"},
		{"https://login.microsoftonline.com/", "https://login.microsoftonline.com"},
		{" http://127.0.0.1:8080// ", "http://127.0.0.1:8080"},
		{"https://example.com/prefix/", "https://example.com/prefix"},
		{"HTTP://example.com", "http://example.com"},
	} {
		got, err := BaseURL(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("BaseURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "169.254.169.254", "example.com/x", "ftp://example.com", "https://", "https://u:p@example.com",
		"https://example.com/?x=1", "https://example.com/#f", "http://[::1"} {
		got, err := BaseURL(in)
		if err == nil || got != "" {
			t.Errorf("BaseURL(%q) = %q, %v; want an error", in, got, err)
			continue
		}
		if want := "must be an http:// or https:// URL without a query, got " + Quote(in); err.Error() != want {
			t.Errorf("BaseURL(%q): %v", in, err)
		}
	}
}

func TestQuote(t *testing.T) {
	long := strings.Repeat("x", 100)
	for _, tt := range []struct{ in, want string }{
		{"", `""`},
		{"a b", `"a b"`},
		{"a\"\n", `"a\"\n"`},
		{strings.Repeat("x", 80), `"` + strings.Repeat("x", 80) + `"`},
		{long, `"` + strings.Repeat("x", 80) + `..."`},
	} {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestSetBaseURL(t *testing.T) {
	u := "https://default"
	if err := SetBaseURL(&u, "gcp IAM endpoint", "e.g. x", " http://127.0.0.1:8080/ "); err != nil || u != "http://127.0.0.1:8080" {
		t.Errorf("SetBaseURL = %q, %v", u, err)
	}
	err := SetBaseURL(&u, "azure authority host", "e.g. y", "ftp://x")
	ce := configError(t, err)
	if ce.Field != "azure authority host" || ce.Hint != "e.g. y" || ce.Problem != `must be an http:// or https:// URL without a query, got "ftp://x"` || u != "http://127.0.0.1:8080" {
		t.Errorf("SetBaseURL(bad) = %+v; url %q", ce, u)
	}
}

package cloudauth

import (
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/gdsvault/gdsvault"
)

// roleRE is a Vault role name: letters, digits, '_', '-' and '.', neither
// starting nor ending with '-' or '.'.
var roleRE = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$`)

// CheckRole checks the Vault role name (already trimmed) given to New of
// method ("gcp", "azure"). A bad one is a *gdsvault.ConfigError for the field
// "<method> role" whose hint names VAULT_<METHOD>_ROLE, the variable the
// config package reads.
func CheckRole(method, role string) error {
	if role == "" {
		return &gdsvault.ConfigError{Field: method + " role", Problem: "is empty",
			Hint: "name the Vault role to log in with (VAULT_" + strings.ToUpper(method) + "_ROLE), as created with vault write auth/" + method + "/role/<name>"}
	}
	if !roleRE.MatchString(role) {
		return &gdsvault.ConfigError{Field: method + " role", Problem: "is not a valid Vault role name: " + Quote(role),
			Hint: "role names are letters, digits, '_', '-' and '.'"}
	}
	return nil
}

// BaseURL checks the base URL of an endpoint (an http:// or https:// URL
// with a host, without user, query or fragment) and returns it without
// trailing slashes. Its error is the problem alone, for the caller's
// *gdsvault.ConfigError.
func BaseURL(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("must be an http:// or https:// URL without a query, got " + Quote(s))
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// SetBaseURL is the body of an option that sets an endpoint's base URL
// (see BaseURL): it stores the cleaned URL in *dst, or returns a
// *gdsvault.ConfigError for field with hint and leaves *dst as it is.
func SetBaseURL(dst *string, field, hint, s string) error {
	u, err := BaseURL(s)
	if err != nil {
		return &gdsvault.ConfigError{Field: field, Problem: err.Error(), Hint: hint}
	}
	*dst = u
	return nil
}

// Quote quotes s for a message, cut to 80 bytes.
func Quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return strconv.Quote(s)
}

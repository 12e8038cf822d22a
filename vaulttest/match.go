package vaulttest

import (
	"net/http"
	"strings"
)

// The matchers below build Fault.Only. A Vault path is the API path without
// /v1/ (auth/token/renew-self); a leading slash is ignored.

// PathIs matches the requests for any of the Vault paths given.
//
//	vaulttest.Fault{Only: vaulttest.PathIs("auth/token/renew-self"), Status: 500}
func PathIs(paths ...string) func(*http.Request) bool {
	want := make(map[string]bool, len(paths))
	for _, p := range paths {
		want[strings.TrimPrefix(p, "/")] = true
	}
	return func(r *http.Request) bool { return want[apiPath(r.URL.Path)] }
}

// PathPrefix matches the requests for Vault paths that start with prefix.
//
//	vaulttest.Fault{Only: vaulttest.PathPrefix("secret/data/"), Reset: true}
func PathPrefix(prefix string) func(*http.Request) bool {
	prefix = "/v1/" + strings.TrimPrefix(prefix, "/")
	return func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, prefix) }
}

// HasToken matches the requests that carry a Vault token: an X-Vault-Token
// header or an Authorization: Bearer one (Vault accepts both). Logins carry
// none.
//
//	vaulttest.Fault{Only: vaulttest.HasToken(), Status: 403, Errors: []string{"permission denied", "invalid token"}}
func HasToken() func(*http.Request) bool {
	return func(r *http.Request) bool {
		if r.Header.Get("X-Vault-Token") != "" {
			return true
		}
		scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		return ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(tok) != ""
	}
}

// Not matches the requests m does not match.
//
//	vaulttest.Fault{Only: vaulttest.Not(vaulttest.PathPrefix("sys/")), HTML502: true}
func Not(m func(*http.Request) bool) func(*http.Request) bool {
	return func(r *http.Request) bool { return !m(r) }
}

// AllOf matches the requests that every matcher given matches.
//
//	vaulttest.Fault{Only: vaulttest.AllOf(vaulttest.HasToken(), vaulttest.PathPrefix("secret/")), Status: 403}
func AllOf(ms ...func(*http.Request) bool) func(*http.Request) bool {
	return func(r *http.Request) bool {
		for _, m := range ms {
			if !m(r) {
				return false
			}
		}
		return true
	}
}

// apiPath is the Vault path of a URL path (without /v1/), or the URL path
// itself when it is not under /v1/.
func apiPath(p string) string {
	if rest, ok := strings.CutPrefix(p, "/v1/"); ok {
		return rest
	}
	return p
}

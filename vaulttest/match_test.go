package vaulttest_test

import (
	"net/http"
	"testing"

	"github.com/gdsvault/gdsvault/vaulttest"
)

func TestMatchers(t *testing.T) {
	req := func(path string, header ...string) *http.Request {
		r, err := http.NewRequest(http.MethodGet, "http://vault"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		return r
	}
	renew := req("/v1/auth/token/renew-self", "X-Vault-Token", "hvs.x")
	login := req("/v1/auth/approle/login")
	bearer := req("/v1/secret/data/a", "Authorization", "Bearer hvs.x")
	basic := req("/v1/secret/data/a", "Authorization", "Basic eDp5")
	ui := req("/ui/")
	for _, tc := range []struct {
		name string
		m    func(*http.Request) bool
		r    *http.Request
		want bool
	}{
		{"PathIs", vaulttest.PathIs("auth/token/renew-self"), renew, true},
		{"PathIs leading slash", vaulttest.PathIs("/auth/token/renew-self"), renew, true},
		{"PathIs other", vaulttest.PathIs("auth/token/renew-self"), login, false},
		{"PathIs several", vaulttest.PathIs("auth/token/renew-self", "auth/approle/login"), login, true},
		{"PathIs no sub-path", vaulttest.PathIs("auth/token"), renew, false},
		{"PathIs outside /v1/", vaulttest.PathIs("ui/"), ui, false},
		{"PathPrefix", vaulttest.PathPrefix("auth/"), login, true},
		{"PathPrefix other", vaulttest.PathPrefix("secret/"), login, false},
		{"HasToken header", vaulttest.HasToken(), renew, true},
		{"HasToken bearer", vaulttest.HasToken(), bearer, true},
		{"HasToken basic", vaulttest.HasToken(), basic, false},
		{"HasToken login", vaulttest.HasToken(), login, false},
		{"Not", vaulttest.Not(vaulttest.HasToken()), login, true},
		{"AllOf both", vaulttest.AllOf(vaulttest.HasToken(), vaulttest.PathPrefix("secret/")), bearer, true},
		{"AllOf one", vaulttest.AllOf(vaulttest.HasToken(), vaulttest.PathPrefix("secret/")), renew, false},
		{"AllOf none given", vaulttest.AllOf(), login, true},
	} {
		if got := tc.m(tc.r); got != tc.want {
			t.Errorf("%s on %s: %v, want %v", tc.name, tc.r.URL.Path, got, tc.want)
		}
	}
}

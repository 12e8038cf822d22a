package auth_test

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth"
	"github.com/gdsvault/gdsvault/config"
)

// The decision tree at work: which method Detect picks, and why.
func ExampleDetect() {
	for _, env := range []map[string]string{
		{"VAULT_TOKEN": "hvs.dev"},
		{"VAULT_TOKEN": "hvs.dev", "VAULT_ROLE_ID": "r", "VAULT_SECRET_ID_FILE": "/run/secret-id"},
		{"VAULT_TOKEN": "hvs.dev", "VAULT_AUTH_METHOD": "token", "ENVIRONMENT": "production"},
		{"VAULT_TOKEN": "hvs.dev", "ENVIRONMENT": "production"},
	} {
		cfg, err := config.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			fmt.Println(err)
			continue
		}
		_, d, err := auth.Detect(cfg)
		var nm *auth.NoMethodError
		if errors.As(err, &nm) {
			fmt.Printf("none: %s: %s\n", nm.Tried[len(nm.Tried)-1].Method, nm.Tried[len(nm.Tried)-1].Missing)
			continue
		}
		fmt.Printf("%s: %s\n", d.Method, d.Reason)
	}
	// Output:
	// token: a token is set (VAULT_TOKEN)
	// approle: AppRole role ID and secret ID are set
	// token: VAULT_AUTH_METHOD=token
	// none: token: a token is set, but token auth is for development; in production use a platform-native method, or set VAULT_AUTH_METHOD=token to insist
}

// Adding an auth method is one row in a copy of the table, placed where
// Detect should consider it; its settings are read through config.Config's
// Env and EnvCredential, so nothing else changes. Here "ldap" (a stand-in
// for a package auth/ldap) comes before AppRole.
func ExampleWithMethods() {
	ldap := auth.Method{
		Name: "ldap",
		Needs: []auth.Setting{
			{Name: "VAULT_LDAP_USERNAME", IsSet: func(c *config.Config) bool { return c.Env("VAULT_LDAP_USERNAME") != "" }},
			{Name: "VAULT_LDAP_PASSWORD", Or: "VAULT_LDAP_PASSWORD_FILE", IsSet: func(c *config.Config) bool { return !c.EnvCredential("VAULT_LDAP_PASSWORD").IsZero() }},
		},
		Detect: auth.WhenSet("LDAP username and password are set"),
		Build: func(c *config.Config) (gdsvault.AuthMethod, error) {
			// ldap.New(c.Env("VAULT_LDAP_USERNAME"), c.EnvCredential("VAULT_LDAP_PASSWORD"), ...)
			return gdsvault.AuthMethodFunc(func(context.Context, *gdsvault.Client) (*gdsvault.Auth, error) { return nil, errors.New("stand-in") }), nil
		},
	}
	methods := auth.Methods()
	methods = slices.Insert(methods, slices.IndexFunc(methods, func(m auth.Method) bool { return m.Name == "approle" }), ldap)
	fmt.Println(auth.Names(methods))

	for _, env := range []map[string]string{
		{"VAULT_LDAP_USERNAME": "ada", "VAULT_LDAP_PASSWORD_FILE": "/run/ldap-password", "VAULT_ROLE_ID": "r", "VAULT_SECRET_ID": "s"},
		{"VAULT_AUTH_METHOD": "ldap", "VAULT_LDAP_USERNAME": "ada"},
	} {
		cfg, _ := config.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		_, d, err := auth.Detect(cfg, auth.WithMethods(methods))
		fmt.Println(d.Method+":", d.Reason, err)
	}
	// Output:
	// [kubernetes aws gcp azure ldap approle token jwt userpass cert]
	// ldap: LDAP username and password are set <nil>
	// ldap: VAULT_AUTH_METHOD=ldap gdsvault: auth method ldap: needs VAULT_LDAP_USERNAME and VAULT_LDAP_PASSWORD (or VAULT_LDAP_PASSWORD_FILE); VAULT_LDAP_PASSWORD is not set
}

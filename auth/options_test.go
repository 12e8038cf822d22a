package auth_test

import (
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth"
	"github.com/gdsvault/gdsvault/auth/approle"
	"github.com/gdsvault/gdsvault/auth/internal/optiontest"
	"github.com/gdsvault/gdsvault/config"
)

// TestDetectRejectsBadOptions: a nil configuration, a bad option, a builder
// that returns nothing, and bad settings that reach a method's own options
// (VAULT_AUTH_MOUNT, VAULT_APPROLE_NAME) are each a *gdsvault.ConfigError
// from Detect and NewClient, joined when several; nothing panics.
func TestDetectRejectsBadOptions(t *testing.T) {
	cfgOf := func(env map[string]string) *config.Config {
		cfg, err := config.FromEnv(lookup(env))
		if err != nil {
			t.Fatalf("config: %v", err)
		}
		return cfg
	}
	awsEnv := cfgOf(map[string]string{"VAULT_AUTH_METHOD": "aws", "VAULT_AWS_ROLE": "r"})
	detect := func(cfg *config.Config, opts ...auth.Option) func() (any, error) {
		return func() (any, error) { m, _, err := auth.Detect(cfg, opts...); return m, err }
	}
	newClient := func(cfg *config.Config, extra []gdsvault.Option, opts ...auth.Option) func() (any, error) {
		return func() (any, error) { c, _, err := auth.NewClient(cfg, extra, opts...); return c, err }
	}
	nilMethod := auth.WithAWS(func(*config.Config) (gdsvault.AuthMethod, error) { return (*approle.Method)(nil), nil })
	optiontest.Run(t, []optiontest.Case{
		optiontest.Bad("nil config", detect(nil), "auth config"),
		optiontest.Bad("nil aws builder", detect(awsEnv, auth.WithAWS(nil)), "auth aws builder"),
		optiontest.Bad("joined", detect(nil, nil, auth.WithAWS(nil)), "auth config", "auth aws builder"),
		optiontest.Bad("builder returns a nil method", detect(awsEnv, nilMethod), "auth method aws"),
		optiontest.Bad("bad mount reaches the method", detect(cfgOf(map[string]string{"VAULT_ROLE_ID": "r", "VAULT_SECRET_ID": "s",
			"VAULT_AUTH_MOUNT": "a/../b", "VAULT_APPROLE_NAME": "my app"})), "approle mount path", "approle role name"),
		optiontest.Bad("NewClient nil config", newClient(nil, nil), "auth config"),
		optiontest.Bad("NewClient joins the client's errors", newClient(cfgOf(map[string]string{"VAULT_AUTH_METHOD": "approle", "VAULT_ROLE_ID": "r"}),
			[]gdsvault.Option{gdsvault.WithTimeout(-time.Second)}), "auth method approle", "timeout"),
	})
}

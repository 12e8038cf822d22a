package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gdsvault/gdsvault"
	"github.com/spf13/cobra"
)

// errUnhealthy: Vault answered, and is sealed or not initialised.
var errUnhealthy = errors.New("vault is not ready")

func newHealthCmd(g *globals) *cobra.Command {
	var format, envPrefix string
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Show whether Vault is initialised, unsealed and active (exit 1 when it is not ready)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			if err := checkEnvPrefix(envPrefix); err != nil {
				return err
			}
			cfg, err := g.config()
			if err != nil {
				return err
			}
			c, err := gdsvault.New(append(cfg.Options(), g.clientOptions(cfg)...)...)
			if err != nil {
				return err
			}
			defer c.Close(cmd.Context())
			h, err := c.Health(cmd.Context())
			if err != nil {
				return err
			}
			m := map[string]any{"initialized": h.Initialized, "sealed": h.Sealed, "standby": h.Standby, "version": h.Version, "cluster_name": h.ClusterName}
			if err := write(g, format, envPrefix, m); err != nil {
				return err
			}
			switch {
			case !h.Initialized:
				return fmt.Errorf("%w: not initialised (vault operator init)", errUnhealthy)
			case h.Sealed:
				return fmt.Errorf("%w: sealed (vault operator unseal)", errUnhealthy)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, json, yaml or env")
	envPrefixFlag(cmd, &envPrefix)
	return cmd
}

func newTokenCmd(g *globals) *cobra.Command {
	var format, envPrefix string
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Look up the current token (VAULT_TOKEN or ~/.vault-token): accessor, policies, TTL, never the token itself",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			if err := checkEnvPrefix(envPrefix); err != nil {
				return err
			}
			cfg, err := g.config()
			if err != nil {
				return err
			}
			if cfg.Token.IsZero() {
				return &gdsvault.ConfigError{Field: "token", Problem: "no token to look up", Hint: "set VAULT_TOKEN or run gdsvault login -store"}
			}
			c, err := gdsvault.New(append(cfg.Options(), g.clientOptions(cfg)...)...)
			if err != nil {
				return err
			}
			defer c.Close(cmd.Context())
			a, err := c.LookupToken(cmd.Context(), cfg.Token)
			if err != nil {
				return err
			}
			return write(g, format, envPrefix, map[string]any{"source": cfg.NameOf("token"), "accessor": a.Accessor, "policies": strings.Join(a.Policies, ","),
				"ttl": a.TTL().String(), "renewable": a.Renewable, "type": a.TokenType})
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, json, yaml or env")
	envPrefixFlag(cmd, &envPrefix)
	return cmd
}

func write(g *globals, format, envPrefix string, m map[string]any) error {
	switch format {
	case "json", "yaml":
		return writeStructured(g.streams.Out, format, m)
	case "env":
		return writeEnv(g.streams.Out, m, envPrefix)
	}
	return writeTable(g.streams.Out, "", m)
}

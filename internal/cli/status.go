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
	var out output
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Show whether Vault is initialised, unsealed and active (exit 1 when it is not ready)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			cfg, err := g.config()
			if err != nil {
				return err
			}
			c, err := g.clientWithoutLogin(cfg)
			if err != nil {
				return err
			}
			defer c.Close(cmd.Context())
			h, err := c.Health(cmd.Context())
			if err != nil {
				return err
			}
			m := map[string]any{"initialized": h.Initialized, "sealed": h.Sealed, "standby": h.Standby, "version": h.Version, "cluster_name": h.ClusterName}
			if err := out.write(g.streams.Out, m); err != nil {
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
	out.addFlags(cmd)
	return cmd
}

func newTokenCmd(g *globals) *cobra.Command {
	var out output
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Look up the current token (VAULT_TOKEN or ~/.vault-token): accessor, policies, TTL, never the token itself",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			cfg, err := g.config()
			if err != nil {
				return err
			}
			if cfg.Token.IsZero() {
				return &gdsvault.ConfigError{Field: "token", Problem: "no token to look up", Hint: "set VAULT_TOKEN or run gdsvault login -store"}
			}
			c, err := g.clientWithoutLogin(cfg)
			if err != nil {
				return err
			}
			defer c.Close(cmd.Context())
			a, err := c.LookupToken(cmd.Context(), cfg.Token)
			if err != nil {
				return err
			}
			return out.write(g.streams.Out, map[string]any{"source": cfg.NameOf("token"), "accessor": a.Accessor, "policies": strings.Join(a.Policies, ","),
				"ttl": a.TTL().String(), "renewable": a.Renewable, "type": a.TokenType})
		},
	}
	out.addFlags(cmd)
	return cmd
}

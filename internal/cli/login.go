package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth"
	"github.com/spf13/cobra"
)

type loginOptions struct {
	*globals
	store bool
	field string
	out   output
}

func newLoginCmd(g *globals) *cobra.Command {
	o := &loginOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in with the configured auth method and show the token's metadata",
		Long: `Log in with the auth method chosen by --method, VAULT_AUTH_METHOD or the decision tree,
and print what Vault granted: method, accessor, policies, TTL, renewability. The token itself
is printed only with -field token, and written to ~/.vault-token (mode 0600) only with -store.`,
		Example: `  VAULT_AUTH_METHOD=approle VAULT_ROLE_ID=... VAULT_SECRET_ID_FILE=/run/secret-id gdsvault login
  gdsvault login -method approle -store
  export VAULT_TOKEN=$(gdsvault login -field token)`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.out.check(); err != nil {
				return err
			}
			cfg, err := o.config()
			if err != nil {
				return err
			}
			m, d, err := auth.Detect(cfg, o.authOpts...)
			if err != nil {
				return err
			}
			c, err := o.clientWithoutLogin(cfg)
			if err != nil {
				return err
			}
			defer c.Close(cmd.Context())
			a, err := m.Login(cmd.Context(), c)
			if err != nil {
				return err
			}
			if o.store {
				if err := o.storeToken(a.ClientToken); err != nil {
					return err
				}
			}
			info := map[string]any{
				"method": d.Method, "reason": d.Reason, "accessor": a.Accessor, "policies": a.Policies,
				"ttl": a.TTL().String(), "renewable": a.Renewable, "token_type": a.TokenType,
			}
			if len(a.Metadata) > 0 {
				info["metadata"] = a.Metadata
			}
			w := o.streams.Out
			if o.field != "" {
				if o.field == "token" {
					_, err := fmt.Fprintln(w, asked(w, a.ClientToken.Reveal())) // asked for explicitly
					return err
				}
				v, ok := info[o.field]
				if !ok {
					return usagef("unknown field %q: use token, %v", o.field, sortedKeys(info))
				}
				_, err := fmt.Fprintln(w, asked(w, scalar(v)))
				return err
			}
			if o.out.format == "table" && o.store {
				fmt.Fprintln(w, "Success! The token is stored in ~/.vault-token.")
			} else if o.out.format == "table" {
				fmt.Fprintln(w, "Success! Logged in (the token was not stored; use -store or -field token).")
			}
			return o.out.write(w, info)
		},
	}
	cmd.Flags().BoolVar(&o.store, "store", false, "write the token to ~/.vault-token (mode 0600), as `vault login` does")
	cmd.Flags().StringVar(&o.field, "field", "", "print one field; \"token\" prints the token itself")
	o.out.addFlags(cmd)
	return cmd
}

func (o *loginOptions) storeToken(t gdsvault.Token) error {
	home, ok := o.lookup("HOME")
	if !ok || home == "" {
		return &gdsvault.ConfigError{Field: "HOME", Problem: "is not set", Hint: "cannot store ~/.vault-token without a home directory"}
	}
	p := filepath.Join(home, ".vault-token")
	tmp, err := os.CreateTemp(home, ".vault-token-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.WriteString(t.Reveal()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

package cli

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/gdsvault/gdsvault"
	"github.com/spf13/cobra"
)

type unwrapOptions struct {
	*globals
	expect string
	field  string
	out    output
}

func newUnwrapCmd(g *globals) *cobra.Command {
	o := &unwrapOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "unwrap [-]",
		Short: "Check and unwrap a response-wrapping token (VAULT_WRAPPED_SECRET_ID, or - for stdin)",
		Long: `Unwrap a response-wrapping token safely: look it up first, refuse it unless it was created
for the expected path, then unwrap it on a request that carries only the wrapping token.
A token that is unknown, used, expired or created elsewhere exits with code 5: the wrapped
secret may have been intercepted. The wrapping token is read from VAULT_WRAPPED_SECRET_ID or,
with "-", from standard input, never from the command line. Without -expect-path the
creation path is not checked, and a warning says so on standard error.`,
		Example: `  VAULT_WRAPPED_SECRET_ID=hvs.CAES... gdsvault unwrap -expect-path 'auth/approle/role/myapp/secret-id' -field secret_id`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 || len(args) == 1 && args[0] != "-" {
				return usagef(`unwrap takes no argument, or "-" to read the token from standard input (a token on the command line would land in the shell history)`)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.out.check(); err != nil {
				return err
			}
			var wt string
			if len(args) == 1 {
				line, err := bufio.NewReader(o.streams.In).ReadString('\n')
				if err != nil && line == "" {
					return usagef("no wrapping token on standard input")
				}
				wt = strings.TrimSpace(line)
			} else if v, ok := o.lookup("VAULT_WRAPPED_SECRET_ID"); ok {
				wt = strings.TrimSpace(v)
			}
			if wt == "" {
				return usagef("no wrapping token: set VAULT_WRAPPED_SECRET_ID or pipe it with -")
			}
			cfg, err := o.config()
			if err != nil {
				return err
			}
			c, err := o.clientWithoutLogin(cfg)
			if err != nil {
				return err
			}
			defer c.Close(cmd.Context())
			s, err := c.Unwrap(cmd.Context(), gdsvault.NewToken(wt), o.expect)
			if err != nil {
				return err
			}
			if o.expect == "" {
				fmt.Fprintln(o.streams.Err, uncheckedPathWarning)
			}
			warn(o.streams.Err, s.Warnings)
			data := map[string]any(s.Data) // the values, on purpose
			if s.Auth != nil {
				data = map[string]any{"token": s.Auth.ClientToken.Reveal(), "accessor": s.Auth.Accessor, "policies": s.Auth.Policies}
			}
			w := o.streams.Out
			if o.field != "" {
				v, ok := data[o.field]
				if !ok {
					return fmt.Errorf("no key %q in the wrapped answer (keys: %v): %w", o.field, sortedKeys(data), gdsvault.ErrNotFound)
				}
				_, err := fmt.Fprintln(w, asked(w, scalar(v)))
				return err
			}
			return o.out.write(w, data)
		},
	}
	cmd.Flags().StringVar(&o.expect, "expect-path", "", "path.Match pattern the token's creation path must match, e.g. auth/approle/role/*/secret-id")
	cmd.Flags().StringVar(&o.field, "field", "", "print only this key of the unwrapped data")
	o.out.addFlags(cmd)
	return cmd
}

// uncheckedPathWarning is printed on stderr by an unwrap without -expect-path:
// a token created for another path (an attacker's own secret, say) would
// have been accepted.
const uncheckedPathWarning = "gdsvault: warning: the token's creation path was not checked; " +
	"add -expect-path PATTERN (e.g. 'auth/approle/role/*/secret-id') to refuse a token created for another path"

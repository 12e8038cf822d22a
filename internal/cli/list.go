package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

type listOptions struct {
	*globals
	format string
}

func newListCmd(g *globals) *cobra.Command {
	o := &listOptions{globals: g}
	cmd := &cobra.Command{
		Use:     "list PATH",
		Short:   "List the keys under a KV path (folders end with /)",
		Example: "  gdsvault list secret/myapp",
		Args:    exactArgs(1, "one PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.format != "table" && o.format != "json" && o.format != "yaml" {
				return usagef("unknown format %q for list: use table, json or yaml", o.format)
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			defer c.Close(cmd.Context())
			keys, err := c.KV().List(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if o.format != "table" {
				return writeStructured(o.streams.Out, o.format, keys)
			}
			for _, k := range keys {
				if _, err := fmt.Fprintln(o.streams.Out, escape(k, false)); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.format, "format", "table", "output format: table, json or yaml")
	return cmd
}

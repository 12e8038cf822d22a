package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

type deleteOptions struct {
	*globals
	versions []int
	all      bool
}

func newDeleteCmd(g *globals) *cobra.Command {
	o := &deleteOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "delete PATH",
		Short: "Delete a KV secret (KV v2: soft-delete the latest or the given versions)",
		Example: `  gdsvault delete secret/myapp/config
  gdsvault delete -versions 1,2 secret/myapp/config
  gdsvault delete -all secret/myapp/config`,
		Args: exactArgs(1, "one PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.all && len(o.versions) > 0 {
				return usagef("-all and -versions cannot be used together")
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			defer c.Close(cmd.Context())
			kv := c.KV()
			if o.all {
				err = kv.DeleteMetadata(cmd.Context(), args[0])
			} else {
				err = kv.Delete(cmd.Context(), args[0], o.versions...)
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(o.streams.Out, "Success! Data deleted at %s\n", escape(args[0], false))
			return err
		},
	}
	cmd.Flags().IntSliceVar(&o.versions, "versions", nil, "KV v2 versions to soft-delete")
	cmd.Flags().BoolVar(&o.all, "all", false, "KV v2: remove every version and the metadata")
	return cmd
}

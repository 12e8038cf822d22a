package cli

import (
	"fmt"

	"github.com/gdsvault/gdsvault"
	"github.com/spf13/cobra"
)

type getOptions struct {
	*globals
	field     string
	format    string
	envPrefix string
	version   int
}

func newGetCmd(g *globals) *cobra.Command {
	o := &getOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "get PATH",
		Short: "Read a KV secret (secret/myapp/config or secret/data/myapp/config)",
		Example: `  gdsvault get secret/myapp/config
  gdsvault get -field db_host secret/myapp/config
  gdsvault get -format env secret/data/myapp/config
  gdsvault get -format env -env-prefix MYAPP_ secret/myapp/config`,
		Args: exactArgs(1, "one PATH"),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args[0]) },
	}
	cmd.Flags().StringVar(&o.field, "field", "", "print only this key's value")
	cmd.Flags().StringVar(&o.format, "format", "table", "output format: table, json, yaml or env")
	envPrefixFlag(cmd, &o.envPrefix)
	cmd.Flags().IntVar(&o.version, "version", 0, "KV v2 version to read (default: latest)")
	return cmd
}

func (o *getOptions) run(cmd *cobra.Command, path string) error {
	if err := checkFormat(o.format); err != nil {
		return err
	}
	if err := checkEnvPrefix(o.envPrefix); err != nil {
		return err
	}
	if o.version < 0 {
		return usagef("-version must be 0 (latest) or a version number, got %d", o.version)
	}
	c, err := o.readClient()
	if err != nil {
		return err
	}
	defer c.Close(cmd.Context())
	var opts []gdsvault.KVOption
	if o.version > 0 {
		opts = append(opts, gdsvault.SecretVersion(o.version))
	}
	s, err := c.KV().Get(cmd.Context(), path, opts...)
	if err != nil {
		return err
	}
	warn(o.streams.Err, s.Warnings)
	w := o.streams.Out
	if o.field != "" {
		v, ok := s.Data[o.field]
		if !ok {
			return fmt.Errorf("no key %q in %s (keys: %v): %w", o.field, path, sortedKeys(s.Data), gdsvault.ErrNotFound)
		}
		if o.format == "json" || o.format == "yaml" {
			return writeStructured(w, o.format, v)
		}
		_, err := fmt.Fprintln(w, asked(w, scalar(v)))
		return err
	}
	switch o.format {
	case "env":
		return writeEnv(w, s.Data, o.envPrefix)
	case "json", "yaml":
		out := map[string]any{"data": map[string]any(s.Data)} // the values, on purpose
		if m := metadataMap(s); m != nil {
			out["metadata"] = m
		}
		return writeStructured(w, o.format, out)
	default:
		if m := metadataMap(s); m != nil {
			if err := writeTable(w, "Metadata", m); err != nil {
				return err
			}
			fmt.Fprintln(w)
			return writeTable(w, "Data", s.Data)
		}
		return writeTable(w, "", s.Data)
	}
}

func metadataMap(s *gdsvault.KVSecret) map[string]any {
	if s.VersionMetadata == nil {
		return nil
	}
	m := map[string]any{
		"version":      s.VersionMetadata.Version,
		"created_time": s.VersionMetadata.CreatedTime,
		"destroyed":    s.VersionMetadata.Destroyed,
	}
	if !s.VersionMetadata.DeletionTime.IsZero() {
		m["deletion_time"] = s.VersionMetadata.DeletionTime
	}
	if len(s.CustomMetadata) > 0 {
		m["custom_metadata"] = s.CustomMetadata
	}
	return m
}

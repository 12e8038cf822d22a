package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gdsvault/gdsvault"
	"github.com/spf13/cobra"
)

type putOptions struct {
	*globals
	cas   int
	patch bool
}

func newPutCmd(g *globals) *cobra.Command {
	o := &putOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "put PATH KEY=VALUE... | put PATH -",
		Short: "Write a KV secret (a new version on KV v2)",
		Long: `Write a KV secret. VALUE may be @FILE to read the value from a file (byte for byte), or
"-" to read it from standard input (for one key only; the whole input, less one trailing
newline such as echo adds). A single "-" instead of KEY=VALUE reads a JSON object from
standard input. Both keep values out of the shell history and the process list.`,
		Example: `  gdsvault put secret/myapp/config db_host=postgres.example.com db_user=myapp db_pass=@pass.txt
  printf '%s' "$DB_PASS" | gdsvault put -patch secret/myapp/config db_pass=-
  echo '{"db_pass":"..."}' | gdsvault put -patch secret/myapp/config -`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usagef("expected PATH and at least one KEY=VALUE (or -), got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args[0], args[1:]) },
	}
	cmd.Flags().IntVar(&o.cas, "cas", -1, "check-and-set: write only if the current version is this (0: only if absent)")
	cmd.Flags().BoolVar(&o.patch, "patch", false, "merge into the latest version instead of replacing it (KV v2)")
	return cmd
}

func (o *putOptions) run(cmd *cobra.Command, path string, kvs []string) error {
	data, err := o.parseData(kvs)
	if err != nil {
		return err
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	defer c.Close(cmd.Context())
	var opts []gdsvault.KVOption
	if o.cas >= 0 {
		opts = append(opts, gdsvault.CAS(o.cas))
	}
	write := c.KV().Put
	if o.patch {
		write = c.KV().Patch
	}
	m, err := write(cmd.Context(), path, data, opts...)
	if err != nil {
		return err
	}
	if m.Version > 0 {
		_, err = fmt.Fprintf(o.streams.Out, "Success! Data written to %s (version %d)\n", escape(path, false), m.Version)
	} else {
		_, err = fmt.Fprintf(o.streams.Out, "Success! Data written to %s\n", escape(path, false))
	}
	return err
}

func (o *putOptions) parseData(kvs []string) (map[string]any, error) {
	if len(kvs) == 1 && kvs[0] == "-" {
		var data map[string]any
		b, err := io.ReadAll(o.streams.In)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &data); err != nil {
			return nil, usagef("standard input is not a JSON object: %v", err)
		}
		return data, nil
	}
	data := make(map[string]any, len(kvs))
	stdinKey := ""
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("argument %q is not KEY=VALUE", strings.SplitN(kv, "=", 2)[0])
		}
		switch {
		case strings.HasPrefix(v, "@"):
			b, err := os.ReadFile(v[1:])
			if err != nil {
				return nil, fmt.Errorf("reading the value of %s: %w", k, err)
			}
			v = string(b)
		case v == "-":
			if stdinKey != "" {
				return nil, usagef("keys %q and %q both read standard input (KEY=-): only one key can", stdinKey, k)
			}
			stdinKey = k
			b, err := io.ReadAll(o.streams.In)
			if err != nil {
				return nil, fmt.Errorf("reading the value of %s from standard input: %w", k, err)
			}
			v = string(b) // byte for byte, as `vault kv put k=-`
		}
		data[k] = v
	}
	return data, nil
}

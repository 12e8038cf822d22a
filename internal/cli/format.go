package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

var formats = []string{"table", "json", "yaml", "env"}

func checkFormat(f string) error {
	for _, ok := range formats {
		if f == ok {
			return nil
		}
	}
	return usagef("unknown format %q: use one of %s", f, strings.Join(formats, ", "))
}

// scalar renders one value for table, env and -field output: strings as
// they are, everything else as JSON.
func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.Format(time.RFC3339Nano)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// writeTable prints "Key Value" rows, sorted, under an optional title. Keys
// and values are escaped, newlines and tabs included (a cell is one line).
func writeTable(w io.Writer, title string, m map[string]any) error {
	if title != "" {
		if _, err := fmt.Fprintf(w, "====== %s ======\n", title); err != nil {
			return err
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 4, ' ', 0)
	fmt.Fprintln(tw, "Key\tValue")
	fmt.Fprintln(tw, "---\t-----")
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(tw, "%s\t%s\n", escape(k, false), escape(scalar(m[k]), false))
	}
	return tw.Flush()
}

// writeStructured prints v as JSON or YAML, both free of raw control
// characters.
func writeStructured(w io.Writer, format string, v any) error {
	switch format {
	case "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(jsonSafe(b), '\n'))
		return err
	case "yaml": // yaml.v3 escapes control characters itself
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	return fmt.Errorf("format %s is not structured", format)
}

// writeEnv prints KEY='value' lines a shell can eval, with the names of
// envNames: nothing is printed when a key is refused. Values are raw for a
// pipe (eval "$(gdsvault get -format env ...)"), escaped on a terminal.
func writeEnv(w io.Writer, m map[string]any, prefix string) error {
	keys := sortedKeys(m)
	names, err := envNames(keys, prefix)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if _, err := fmt.Fprintf(w, "%s=%s\n", names[k], shellQuote(asked(w, scalar(m[k])))); err != nil {
			return err
		}
	}
	return nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// output is the -format and -env-prefix flags of a command that prints keys
// and values.
type output struct{ format, envPrefix string }

// addFlags adds -format (table, json, yaml or env) and -env-prefix to cmd.
func (o *output) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.format, "format", "table", "output format: table, json, yaml or env")
	envPrefixFlag(cmd, &o.envPrefix)
}

// check refuses an unknown format and a prefix no variable name can start
// with, before the command does anything.
func (o *output) check() error {
	if err := checkFormat(o.format); err != nil {
		return err
	}
	return checkEnvPrefix(o.envPrefix)
}

// write prints m to w in the format: a table, JSON, YAML or variables.
func (o *output) write(w io.Writer, m map[string]any) error {
	switch o.format {
	case "json", "yaml":
		return writeStructured(w, o.format, m)
	case "env":
		return writeEnv(w, m, o.envPrefix)
	}
	return writeTable(w, "", m)
}

// envPrefixFlag adds -env-prefix to a command that has -format env.
func envPrefixFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "env-prefix", "", "with -format env: put PREFIX before every variable name (needed when a key would name PATH, LD_PRELOAD, BASH_ENV...)")
}

// warn prints Vault's warnings on stderr, one escaped line each.
func warn(w io.Writer, warnings []string) {
	for _, s := range warnings {
		fmt.Fprintln(w, "gdsvault: warning from vault: "+escape(s, false))
	}
}

package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

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

// writeTable prints "Key Value" rows, sorted, under an optional title.
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
		fmt.Fprintf(tw, "%s\t%s\n", k, strings.ReplaceAll(scalar(m[k]), "\n", `\n`))
	}
	return tw.Flush()
}

// writeStructured prints v as JSON or YAML.
func writeStructured(w io.Writer, format string, v any) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	return fmt.Errorf("format %s is not structured", format)
}

// writeEnv prints KEY='value' lines a shell can eval.
func writeEnv(w io.Writer, m map[string]any) error {
	for _, k := range sortedKeys(m) {
		if _, err := fmt.Fprintf(w, "%s=%s\n", envName(k), shellQuote(scalar(m[k]))); err != nil {
			return err
		}
	}
	return nil
}

// envName upper-cases a key and replaces what a variable name cannot hold.
func envName(k string) string {
	var b strings.Builder
	for i, r := range strings.ToUpper(k) {
		switch {
		case r >= 'A' && r <= 'Z', r == '_', r >= '0' && r <= '9' && i > 0:
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/internal/render"
	"go.yaml.in/yaml/v3"
)

// The YAML file of `gdsvault agent`. Like config/vault.yaml it holds no
// credential: how to reach and log in to Vault comes from the same place as
// for every command (VAULT_* variables, --config and --env, --method).
//
//	refresh: 5m              # how often secrets are read again (default 5m)
//	max_stale: 1h            # how long the last good values are served while Vault is unreachable (default 1h)
//	listen: 127.0.0.1:8200   # /healthz (optional; -listen overrides)
//	token_sink:              # optional: where other processes find the agent's token
//	  path: /run/gdsvault/token
//	  mode: "0600"           # default 0600; group bits allowed, others' never
//	  wrap_ttl: 5m           # optional: write a response-wrapping token instead (unwrap gives data.token)
//	templates:
//	  - source: /etc/gdsvault/app.tmpl     # or contents: "..."
//	    destination: /etc/app/app.conf
//	    mode: "0640"                       # default 0600
//	    command: [/bin/systemctl, reload, app]   # run after each change (optional)
//	    command_timeout: 30s               # default 30s
//
// Relative paths are taken from the file's directory.

type agentFile struct {
	Refresh   string              `yaml:"refresh"`
	MaxStale  string              `yaml:"max_stale"`
	Listen    string              `yaml:"listen"`
	TokenSink *agentSinkFile      `yaml:"token_sink"`
	Templates []agentTemplateFile `yaml:"templates"`
}

type agentSinkFile struct {
	Path    string `yaml:"path"`
	Mode    string `yaml:"mode"`
	WrapTTL string `yaml:"wrap_ttl"`
}

type agentTemplateFile struct {
	Source         string   `yaml:"source"`
	Contents       string   `yaml:"contents"`
	Destination    string   `yaml:"destination"`
	Mode           string   `yaml:"mode"`
	Command        []string `yaml:"command"`
	CommandTimeout string   `yaml:"command_timeout"`
}

// agentConfig is the file, checked.
type agentConfig struct {
	file      string
	refresh   time.Duration
	maxStale  time.Duration
	listen    string
	sink      *sinkConfig
	templates []*agentTemplate
}

type sinkConfig struct {
	path    string
	mode    fs.FileMode
	wrapTTL time.Duration
}

type agentTemplate struct {
	name           string // the source file, or templates[i]
	dest           string
	mode           fs.FileMode
	command        []string
	commandTimeout time.Duration
	tmpl           *render.Template
}

// Defaults of the agent file.
const (
	defaultAgentRefresh   = 5 * time.Minute
	defaultAgentMaxStale  = time.Hour
	defaultCommandTimeout = 30 * time.Second
)

// yamlTypeNames turns the decoder's Go type names into the file's words.
var yamlTypeNames = strings.NewReplacer("in type cli.agentFile", "at the top level", "in type cli.agentSinkFile", "in token_sink",
	"in type cli.agentTemplateFile", "in a template", "into cli.agentFile", "into the agent configuration",
	"into cli.agentSinkFile", "into token_sink", "into cli.agentTemplateFile", "into a template", "into []cli.agentTemplateFile", "into templates")

// loadAgentConfig reads and checks the agent file: every problem (a bad
// field, a template that does not parse, a destination that cannot be
// written) is reported in one joined error of *gdsvault.ConfigError.
func loadAgentConfig(file string) (*agentConfig, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, &gdsvault.ConfigError{Field: "agent configuration", Problem: "cannot read " + file + ": " + errText(err),
			Hint: "give the path of the agent's YAML file: gdsvault agent FILE"}
	}
	return parseAgentConfig(b, file)
}

func errText(err error) string {
	if u := errors.Unwrap(err); u != nil {
		return u.Error()
	}
	return err.Error()
}

func parseAgentConfig(b []byte, file string) (*agentConfig, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f agentFile
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &gdsvault.ConfigError{Field: file, Problem: "is empty", Hint: "list at least one template or a token_sink"}
		}
		msg := yamlTypeNames.Replace(strings.ReplaceAll(err.Error(), "\n", "; "))
		return nil, &gdsvault.ConfigError{Field: file, Problem: "is not a valid agent configuration: " + msg,
			Hint: "the keys are refresh, max_stale, listen, token_sink (path, mode, wrap_ttl) and templates (source or contents, destination, mode, command, command_timeout)"}
	}
	dir := filepath.Dir(file)
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	cfg := &agentConfig{file: file, refresh: defaultAgentRefresh, maxStale: defaultAgentMaxStale, listen: f.Listen}
	var errs []error
	bad := func(field, problem, hint string) {
		errs = append(errs, &gdsvault.ConfigError{Field: file + ": " + field, Problem: problem, Hint: hint})
	}
	duration := func(field, v string, dst *time.Duration) {
		if v == "" {
			return
		}
		d, err := parseSeconds(v)
		if err != nil || d <= 0 {
			bad(field, fmt.Sprintf("is not a positive duration: %q", v), "e.g. 30s, 5m, 1h")
			return
		}
		*dst = d
	}
	mode := func(field, v string, def fs.FileMode) fs.FileMode {
		if v == "" {
			return def
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(v, "0o"), "0O"), 8, 32)
		if err != nil || n > 0o777 {
			bad(field, fmt.Sprintf("is not a file mode: %q", v), `write it in octal, quoted: "0640"`)
			return def
		}
		return fs.FileMode(n)
	}
	duration("refresh", f.Refresh, &cfg.refresh)
	duration("max_stale", f.MaxStale, &cfg.maxStale)
	if f.Listen != "" {
		if _, _, err := net.SplitHostPort(f.Listen); err != nil {
			bad("listen", fmt.Sprintf("is not host:port: %q", f.Listen), "e.g. 127.0.0.1:8200")
		}
	}
	if s := f.TokenSink; s != nil {
		cfg.sink = &sinkConfig{path: abs(s.Path), mode: mode("token_sink.mode", s.Mode, 0o600)}
		duration("token_sink.wrap_ttl", s.WrapTTL, &cfg.sink.wrapTTL)
		switch {
		case s.Path == "":
			bad("token_sink.path", "is not set", "name the file the token is written to, e.g. /run/gdsvault/token")
		default:
			if err := render.CheckWritable(cfg.sink.path); err != nil {
				bad("token_sink.path", err.Error(), "")
			}
		}
		if cfg.sink.mode&0o007 != 0 {
			bad("token_sink.mode", fmt.Sprintf("%#o lets every user read the token", cfg.sink.mode), `use "0600" (or "0640" for a group)`)
		}
	}
	if len(f.Templates) == 0 && f.TokenSink == nil {
		bad("templates", "none, and no token_sink: nothing to do", "add a template (source, destination) or a token_sink")
	}
	dests := map[string]string{}
	if cfg.sink != nil && cfg.sink.path != "" {
		dests[cfg.sink.path] = "token_sink.path"
	}
	for i, tf := range f.Templates {
		field := fmt.Sprintf("templates[%d]", i)
		t := &agentTemplate{name: field, dest: abs(tf.Destination), mode: mode(field+".mode", tf.Mode, 0o600),
			command: tf.Command, commandTimeout: defaultCommandTimeout}
		duration(field+".command_timeout", tf.CommandTimeout, &t.commandTimeout)
		text := tf.Contents
		switch {
		case tf.Source != "" && tf.Contents != "":
			bad(field, "has both source and contents", "keep one of them")
		case tf.Source != "":
			t.name = abs(tf.Source)
			b, err := os.ReadFile(t.name)
			if err != nil {
				bad(field+".source", "cannot read "+t.name+": "+errText(err), "")
			}
			text = string(b)
		case tf.Contents == "":
			bad(field, "has neither source nor contents", "give source: FILE (a Go text/template) or contents: TEXT")
		}
		if tf.Source != "" || tf.Contents != "" {
			tp, err := render.Parse(t.name, text)
			if err != nil {
				bad(field, "does not parse: "+err.Error(), "template functions: "+strings.Join(render.FuncNames, ", "))
			}
			t.tmpl = tp
		}
		switch {
		case tf.Destination == "":
			bad(field+".destination", "is not set", "name the file to write")
		case dests[t.dest] != "":
			bad(field+".destination", t.dest+" is also "+dests[t.dest], "give each template its own destination")
		default:
			dests[t.dest] = field + ".destination"
			if err := render.CheckWritable(t.dest); err != nil {
				bad(field+".destination", err.Error(), "")
			}
		}
		if len(tf.Command) > 0 && strings.TrimSpace(tf.Command[0]) == "" {
			bad(field+".command", "starts with an empty program", "e.g. [/bin/systemctl, reload, app]")
		}
		cfg.templates = append(cfg.templates, t)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}

// parseSeconds takes Go durations ("30s") and, like the vault CLI, bare
// seconds ("30").
func parseSeconds(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(strings.TrimSpace(v))
}

// Package cli is the gdsvault command line: one file per command, each an
// options struct and a constructor; Main maps errors to exit codes in one
// place.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth"
	"github.com/gdsvault/gdsvault/config"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes a script can rely on.
const (
	ExitOK       = 0 // success
	ExitError    = 1 // any other error (Vault unreachable, sealed, bad answer...)
	ExitUsage    = 2 // wrong command line
	ExitNotFound = 3 // nothing at that path (or the version is deleted/destroyed)
	ExitDenied   = 4 // permission denied, invalid token or failed login
	ExitTampered = 5 // a response-wrapping token failed its checks: possible interception
)

// Streams are the command's standard input, output and error. Out counts as
// a terminal when it has *os.File's Stat method and is a character device:
// values asked for by name (-field, -format env) are then escaped, and raw
// otherwise. Text from Vault is always escaped in tables, lists and errors.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// globals are the flags every command has.
type globals struct {
	streams    Streams
	lookup     config.LookupFunc
	address    string
	namespace  string
	configFile string
	env        string
	method     string
	verbose    bool

	// Set by Main's options (the program that builds the binary, or a test).
	authOpts   []auth.Option
	clientOpts []gdsvault.Option
	metrics    MetricsFunc
}

// Option changes how Main builds clients: what a program outside this
// module plugs in (the AWS auth method, a Prometheus collector), or what a
// test injects (a transport), in the manner of gh's factory.
type Option func(*globals)

// WithAuthOptions passes options to the auth decision tree, e.g.
// auth.WithAWS(awsauth.FromConfig) so that every command can log in with AWS
// IAM.
func WithAuthOptions(opts ...auth.Option) Option {
	return func(g *globals) { g.authOpts = append(g.authOpts, opts...) }
}

// WithClientOptions adds options to every client a command builds (an
// observer, a transport for tests).
func WithClientOptions(opts ...gdsvault.Option) Option {
	return func(g *globals) { g.clientOpts = append(g.clientOpts, opts...) }
}

// MetricsFunc makes what `gdsvault agent -listen` needs to serve /metrics:
// an observer to attach to its client and the handler that exposes it.
type MetricsFunc func() (gdsvault.Observer, http.Handler, error)

// WithMetrics makes the agent serve /metrics (with -listen).
func WithMetrics(f MetricsFunc) Option { return func(g *globals) { g.metrics = f } }

// config loads the YAML file (when given), the environment and the global flags.
func (g *globals) config() (*config.Config, error) {
	cfg, err := config.Load(config.Source{Lookup: g.lookup, File: g.configFile, Environment: g.env})
	if err != nil {
		return nil, err
	}
	if g.address != "" {
		cfg.Address = g.address
	}
	if g.namespace != "" {
		cfg.Namespace = g.namespace
	}
	if g.method != "" {
		cfg.AuthMethod = strings.ToLower(g.method)
	}
	return cfg, nil
}

// client builds a client that logs in with the method auth.Detect picks.
func (g *globals) client() (*gdsvault.Client, error) {
	cfg, err := g.config()
	if err != nil {
		return nil, err
	}
	c, _, err := auth.NewClient(cfg, g.clientOptions(cfg), g.authOpts...)
	return c, err
}

// readClient is client for a command that reads once and exits (get).
// With a token (VAULT_TOKEN or ~/.vault-token) it sends the token as it
// is: the token method's login is a lookup-self that learns the token's
// TTL for renewals, of no use to a process that exits after one read, and
// it would cost a round trip before the read. A token Vault refuses still
// ends in ErrInvalidToken (exit code 4), from the read itself.
func (g *globals) readClient() (*gdsvault.Client, error) {
	cfg, err := g.config()
	if err != nil {
		return nil, err
	}
	if _, d, err := auth.Detect(cfg, g.authOpts...); err == nil && d.Method == "token" {
		return gdsvault.New(append(append(cfg.Options(), gdsvault.WithToken(cfg.Token.Reveal())), g.clientOptions(cfg)...)...)
	}
	c, _, err := auth.NewClient(cfg, g.clientOptions(cfg), g.authOpts...)
	return c, err
}

// clientOptions gives the client the CLI's logger: quiet unless --verbose,
// since errors are reported once, on stderr, by Main.
func (g *globals) clientOptions(cfg *config.Config) []gdsvault.Option {
	level := slog.LevelError
	if g.verbose {
		level = slog.LevelDebug
	}
	if cfg.TLS.Insecure {
		fmt.Fprintln(g.streams.Err, "gdsvault: warning: TLS certificate verification is disabled (VAULT_SKIP_VERIFY): use only for development")
	}
	opts := []gdsvault.Option{gdsvault.WithLogger(slog.New(slog.NewTextHandler(g.streams.Err, &slog.HandlerOptions{Level: level})))}
	return append(opts, g.clientOpts...)
}

type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// exactArgs is cobra.ExactArgs returning a usage error.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("expected %s, got %d arguments", what, len(args))
		}
		return nil
	}
}

// NewRoot builds the command tree.
func NewRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "gdsvault",
		Short: "Read and write HashiCorp Vault (and OpenBao) secrets",
		Long: `gdsvault reads and writes Vault secrets with the VAULT_* environment the vault CLI uses
(VAULT_ADDR, VAULT_TOKEN or ~/.vault-token, VAULT_NAMESPACE, VAULT_CACERT, ...).

The auth method is VAULT_AUTH_METHOD (or --method), else the first that fits: Kubernetes in a
pod, cloud IAM when a cloud role is set, AppRole when its credentials are set, then the token.

Exit codes: 0 success, 1 error, 2 usage error, 3 not found, 4 permission denied, invalid token
or failed login, 5 response-wrapping token refused (possible interception).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(g.streams.In)
	root.SetOut(g.streams.Out)
	root.SetErr(g.streams.Err)
	root.PersistentFlags().StringVar(&g.address, "address", "", "Vault address (overrides VAULT_ADDR)")
	root.PersistentFlags().StringVar(&g.namespace, "namespace", "", "Vault namespace (overrides VAULT_NAMESPACE)")
	root.PersistentFlags().StringVar(&g.configFile, "config", "", "YAML file with one section per environment (default $GDSVAULT_CONFIG)")
	root.PersistentFlags().StringVarP(&g.env, "env", "e", "", "section of the YAML file to use (default $ENVIRONMENT, then development)")
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "log requests and token events to stderr (never tokens or secret values)")
	root.PersistentFlags().StringVar(&g.method, "method", "", "auth method (overrides VAULT_AUTH_METHOD): "+strings.Join(auth.Names(auth.Methods()), ", "))
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newGetCmd(g), newPutCmd(g), newListCmd(g), newDeleteCmd(g), newLoginCmd(g), newUnwrapCmd(g), newTokenCmd(g), newHealthCmd(g),
		newExecCmd(g), newAgentCmd(g), newDoctorCmd(g))
	return root
}

// Main runs the command line and returns the exit code.
func Main(ctx context.Context, args []string, streams Streams, lookup config.LookupFunc, opts ...Option) int {
	g := &globals{streams: streams, lookup: lookup}
	for _, o := range opts {
		if o != nil {
			o(g)
		}
	}
	root := NewRoot(g)
	root.SetArgs(longFlags(root, args))
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var es exitStatus
	if errors.As(err, &es) {
		return es.code // gdsvault exec passes its program's status on, silently
	}
	code := exitCode(err)
	fmt.Fprintln(streams.Err, errorLines(err))
	if h := hint(err); h != "" {
		fmt.Fprintln(streams.Err, "hint: "+escape(h, false))
	}
	if code == ExitUsage {
		fmt.Fprintln(streams.Err, "run 'gdsvault --help' for usage")
	}
	return code
}

// exitCode is the one place errors become exit codes.
func exitCode(err error) int {
	var ue usageError
	switch {
	case errors.As(err, &ue), isCobraUsage(err):
		return ExitUsage
	case errors.Is(err, gdsvault.ErrWrappingTampered):
		return ExitTampered
	case errors.Is(err, gdsvault.ErrNotFound):
		return ExitNotFound
	case errors.Is(err, gdsvault.ErrPermissionDenied), errors.Is(err, gdsvault.ErrInvalidToken), errors.Is(err, gdsvault.ErrAuthFailed):
		return ExitDenied
	default:
		return ExitError
	}
}

// isCobraUsage recognises cobra's own errors for unknown commands.
func isCobraUsage(err error) bool {
	m := err.Error()
	return strings.HasPrefix(m, "unknown command") || strings.HasPrefix(m, "unknown flag") || strings.HasPrefix(m, "unknown shorthand")
}

// errorLines is the error as Main prints it: "gdsvault: " and the message
// escaped (it may quote Vault's text). The lines of a joined error follow,
// indented, so no text can pass for a line of its own ("hint: ...").
func errorLines(err error) string {
	msg := escape(strings.TrimPrefix(err.Error(), "gdsvault: "), true)
	return "gdsvault: " + strings.ReplaceAll(msg, "\n", "\n  ")
}

// hint adds advice that the error does not carry itself. ErrCertificate and
// ErrOutcomeUnknown also match ErrConnection: they come first.
func hint(err error) string {
	switch {
	case errors.Is(err, gdsvault.ErrCertificate):
		// The library's message names the CA settings already.
		return "VAULT_SKIP_VERIFY turns verification off: development only"
	case errors.Is(err, gdsvault.ErrOutcomeUnknown):
		// The library's message says the write may have been applied.
		return "read the current state (gdsvault get) before retrying"
	case errors.Is(err, gdsvault.ErrConnection):
		return "is Vault running and reachable? check VAULT_ADDR (and VAULT_CACERT for TLS)"
	}
	return ""
}

// longFlags accepts the vault CLI's single-dash long flags ("-field=x",
// "-format json") by doubling their dash when the name is a known flag.
func longFlags(root *cobra.Command, args []string) []string {
	known := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		add := func(f *pflag.Flag) { known[f.Name] = true }
		c.Flags().VisitAll(add)
		c.PersistentFlags().VisitAll(add)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if a == "--" {
			copy(out[i:], args[i:])
			break
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if known[name] {
				out[i] = "-" + a
			}
		}
	}
	return out
}

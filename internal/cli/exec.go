//go:build unix

package cli

import (
	"context"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth"
	"github.com/gdsvault/gdsvault/internal/supervise"
	"github.com/spf13/cobra"
)

type execOptions struct {
	*globals
	secrets       []string
	from          []string
	prefix        string
	refresh       time.Duration
	debounce      time.Duration
	grace         time.Duration
	stopSignal    string
	restartSignal string
	changeSignal  string
	restart       string
	pristine      bool
}

func newExecCmd(g *globals) *cobra.Command {
	o := &execOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "exec [flags] -- PROGRAM [ARGS...]",
		Short: "Run a program with secrets in its environment, restarting it when they change",
		Long: `Run PROGRAM with variables read from Vault, with the same configuration as every other
command (VAULT_* variables, --config/--env, any auth method), and supervise it:

  -secret NAME=PATH#KEY   one key of a secret as variable NAME
  -secret-from PATH       every key of a secret, named as by 'get -format env' (upper-cased,
                          anything else than A-Z, 0-9 and _ replaced by _), after -prefix

KV secrets (and other secrets without a lease) are read again every -refresh; the program is
restarted only when a value it receives changed, once per batch of changes (-debounce). A
leased secret (database/creds/ROLE...) is renewed, and new credentials are read before its max
TTL; the program is then restarted with them (or sent -change-signal).

Signals sent to gdsvault (TERM, INT, HUP, QUIT, USR1, USR2) are forwarded to the program; after
TERM or INT it has -grace to exit before SIGKILL. The program runs in its own process group, unless
gdsvault's standard input is a terminal (the program may then read it, and gets Ctrl-C from it). gdsvault exits with the program's status
(128+n when signal n ended it). A program that exits is not started again unless
-restart on-failure. At exit, the leases taken and the token gdsvault logged in for are revoked.

Secrets never appear in the command line or in gdsvault's logs, and the program does not inherit
gdsvault's own Vault credentials (VAULT_TOKEN, VAULT_SECRET_ID, ...).`,
		Example: `  gdsvault exec -secret DB_PASS=secret/myapp/config#db_pass -- ./app
  gdsvault exec -secret-from secret/myapp/config -prefix MYAPP_ -refresh 1m -- ./app -port 8080
  gdsvault exec -secret DB_USER=database/creds/app#username -secret DB_PASS=database/creds/app#password \
      -restart on-failure -- ./app`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("no program to run: gdsvault exec [flags] -- PROGRAM [ARGS...]")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd.Context(), args) },
	}
	cmd.Flags().SetInterspersed(false) // the program's own flags are its own
	f := cmd.Flags()
	f.StringArrayVar(&o.secrets, "secret", nil, "NAME=PATH#KEY: set variable NAME to KEY of the secret at PATH (repeatable)")
	f.StringArrayVar(&o.from, "secret-from", nil, "PATH: set a variable for every key of the secret at PATH (repeatable)")
	f.StringVar(&o.prefix, "prefix", "", "put PREFIX before the variables of -secret-from (needed when a key would name PATH, LD_PRELOAD...)")
	f.StringVar(&o.prefix, "env-prefix", "", "same as -prefix")
	_ = f.MarkHidden("env-prefix")
	f.DurationVar(&o.refresh, "refresh", 5*time.Minute, "how often secrets without a lease are read again")
	f.DurationVar(&o.debounce, "debounce", 2*time.Second, "wait this long after a change for more changes before restarting (one restart per batch)")
	f.DurationVar(&o.grace, "grace", supervise.DefaultGrace, "how long the program has to exit after the stop signal before SIGKILL")
	f.StringVar(&o.stopSignal, "stop-signal", "TERM", "signal that asks the program to stop when gdsvault stops it")
	f.StringVar(&o.restartSignal, "restart-signal", "", "signal that asks the program to stop before a restart (default: -stop-signal)")
	f.StringVar(&o.changeSignal, "change-signal", "", "send this signal instead of restarting when secrets change (for a program that re-reads them itself: its environment cannot change)")
	f.StringVar(&o.restart, "restart", "never", "start the program again when it exits: never or on-failure (with backoff)")
	f.BoolVar(&o.pristine, "pristine", false, "give the program only the secrets, not gdsvault's environment")
	return cmd
}

// supervisorConfig checks the flags that need no Vault.
func (o *execOptions) supervisorConfig(args []string) (supervise.Config, error) {
	var cfg supervise.Config
	switch {
	case o.refresh <= 0:
		return cfg, usagef("-refresh must be positive, got %v", o.refresh)
	case o.debounce < 0:
		return cfg, usagef("-debounce must not be negative, got %v", o.debounce)
	case o.grace <= 0:
		return cfg, usagef("-grace must be positive, got %v", o.grace)
	}
	var err error
	if cfg.StopSignal, err = supervise.ParseSignal(o.stopSignal); err != nil {
		return cfg, usagef("-stop-signal: %v", err)
	}
	cfg.RestartSignal = cfg.StopSignal
	if o.restartSignal != "" {
		if cfg.RestartSignal, err = supervise.ParseSignal(o.restartSignal); err != nil {
			return cfg, usagef("-restart-signal: %v", err)
		}
	}
	if o.changeSignal != "" {
		if cfg.ChangeSignal, err = supervise.ParseSignal(o.changeSignal); err != nil {
			return cfg, usagef("-change-signal: %v", err)
		}
	}
	if cfg.Restart, err = supervise.ParseRestart(o.restart); err != nil {
		return cfg, usagef("-restart: %v", err)
	}
	cfg.Grace = o.grace
	cfg.Program = supervise.Program{Path: args[0], Args: args[1:], Stdin: o.streams.In, Stdout: o.streams.Out, Stderr: o.streams.Err,
		DeathSignal: syscall.SIGKILL}
	// A program on a terminal (psql...) stays in gdsvault's process group,
	// so that it may read the terminal; it then gets the terminal's Ctrl-C
	// itself. Otherwise it gets its own group (one Ctrl-C, forwarded; SIGKILL
	// reaches what it started).
	if f, ok := o.streams.In.(*os.File); ok && isInteractive(f) {
		cfg.Program.SameGroup = true
	}
	return cfg, nil
}

// logger is exec's own log: warnings always, what it does with -v. It never
// holds a value: variable names, paths, lease IDs, pids and signals only.
func (o *execOptions) logger(component string) *slog.Logger {
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(o.streams.Err, &slog.HandlerOptions{Level: level})).With("component", component)
}

func (o *execOptions) run(ctx context.Context, args []string) error {
	scfg, err := o.supervisorConfig(args)
	if err != nil {
		return err
	}
	log := o.logger("exec")
	scfg.Logger = log
	set, err := newSecretSet(o.secrets, o.from, o.prefix, log)
	if err != nil {
		return err
	}
	cfg, err := o.config()
	if err != nil {
		return err
	}
	c, _, err := auth.NewClient(cfg, o.clientOptions(cfg), o.authOpts...)
	if err != nil {
		return err
	}
	// Cleanup runs after a signal too: it must not inherit the cancellation.
	cleanup := func() context.Context {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		_ = cancel // released when the process ends; the deadline bounds it
		return cctx
	}
	defer func() { _ = c.Close(cleanup()) }()
	if err := c.Authenticate(ctx); err != nil {
		return err
	}
	defer func() {
		if err := set.close(cleanup()); err != nil {
			log.Warn("revoking leases failed", "error", err.Error())
		}
	}()
	if err := set.open(ctx, c); err != nil {
		return err
	}
	vars, err := set.vars()
	if err != nil {
		return err
	}
	w := &execWatcher{set: set, c: c, refresh: o.refresh, debounce: o.debounce, sent: vars, log: log,
		base: o.baseEnv(), drop: credentialDrops(cfg)}
	log.Info("starting the program", "program", args[0], "variables", slices.Sorted(maps.Keys(vars)), "leases", set.leases())

	signals := make(chan os.Signal, 8)
	signal.Notify(signals, supervise.ForwardedSignals...)
	defer signal.Stop(signals)
	runCtx, stop := stopContext(ctx)
	defer stop()
	restarts := make(chan []string)
	var wg sync.WaitGroup
	wg.Go(func() { w.run(runCtx, restarts) })
	exit, err := supervise.Run(runCtx, scfg, childEnv(w.base, w.drop, vars), restarts, signals)
	stop()
	wg.Wait()
	if err != nil {
		return err
	}
	if exit.Status() != 0 {
		return exitStatus{exit.Status()}
	}
	return nil
}

// baseEnv is the environment the child inherits: gdsvault's own, or none
// with -pristine.
func (o *execOptions) baseEnv() []string {
	if o.pristine {
		return nil
	}
	return os.Environ()
}

// stopContext is ctx, except that a cancellation with a cause of its own
// (os/signal.NotifyContext's "terminated signal received", from main) is
// left a moment to the signal forwarding, which receives the same signal:
// the child then gets it once, forwarded, not a second time as a stop.
func stopContext(ctx context.Context) (context.Context, context.CancelFunc) {
	out, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		select {
		case <-ctx.Done():
		case <-out.Done():
			return
		}
		if cause := context.Cause(ctx); cause != context.Canceled && cause != context.DeadlineExceeded {
			t := time.NewTimer(time.Second)
			defer t.Stop()
			select {
			case <-t.C:
			case <-out.Done():
				return
			}
		}
		cancel()
	}()
	return out, cancel
}

// execWatcher reads the static secrets again every refresh, hears of lease
// rotations, and hands the supervisor a new environment when, after the
// debounce, a value the child receives differs from what it has.
type execWatcher struct {
	set               *secretSet
	c                 *gdsvault.Client
	refresh, debounce time.Duration
	sent              map[string]string // what the running child has
	base              []string
	drop              map[string]bool
	log               *slog.Logger
}

func (w *execWatcher) run(ctx context.Context, restarts chan<- []string) {
	tick := time.NewTicker(w.refresh)
	defer tick.Stop()
	var timer *time.Timer
	var fire <-chan time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	arm := func(why string) {
		if fire == nil {
			w.log.Info("change seen; waiting for the rest of the batch", "why", why, "debounce", w.debounce)
			timer = time.NewTimer(w.debounce)
			fire = timer.C
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			w.set.refresh(ctx, w.c)
			if vars, err := w.set.vars(); err != nil || !maps.Equal(vars, w.sent) {
				arm("a secret changed")
			}
		case <-w.set.rotated:
			arm("a lease was replaced")
		case <-fire:
			fire = nil
			w.set.refresh(ctx, w.c) // pick up the rest of a batch written meanwhile
			vars, err := w.set.vars()
			if err != nil {
				w.log.Error("the new secret values cannot be used; the program keeps its current ones", "error", err.Error())
				continue
			}
			if maps.Equal(vars, w.sent) {
				w.log.Info("the values are those the program has: no restart")
				continue
			}
			w.log.Info("secrets changed", "variables", changedVars(w.sent, vars), "leases", w.set.leases())
			select {
			case restarts <- childEnv(w.base, w.drop, vars):
				w.sent = vars
			case <-ctx.Done():
				return
			}
		}
	}
}

// changedVars names the variables added, removed or changed.
func changedVars(old, cur map[string]string) []string {
	var out []string
	for k, v := range cur {
		if ov, ok := old[k]; !ok || ov != v {
			out = append(out, k)
		}
	}
	for k := range old {
		if _, ok := cur[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

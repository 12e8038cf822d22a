//go:build unix

package supervise

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"syscall"
	"time"
)

// Restart says when a child that exited by itself is started again.
type Restart int

const (
	// Never: the child's exit ends the supervision (the default).
	Never Restart = iota
	// OnFailure: a child that exits with a non-zero code or is killed by a
	// signal the supervisor did not send is started again, after a backoff.
	OnFailure
)

// ParseRestart reads "never" or "on-failure".
func ParseRestart(s string) (Restart, error) {
	switch s {
	case "never", "no", "":
		return Never, nil
	case "on-failure":
		return OnFailure, nil
	}
	return Never, fmt.Errorf("unknown restart policy %q: use never or on-failure", s)
}

// Defaults.
const (
	DefaultGrace       = 10 * time.Second
	DefaultBackoffBase = time.Second
	DefaultBackoffMax  = 30 * time.Second
	// healthyRun is how long a child must run for the backoff to start
	// again from its base.
	healthyRun = time.Minute
)

// Config is what a Supervisor does.
type Config struct {
	Program Program
	// StopSignal asks the child to stop when the supervision ends
	// (default SIGTERM).
	StopSignal syscall.Signal
	// RestartSignal asks the child to stop before a restart (default
	// StopSignal).
	RestartSignal syscall.Signal
	// ChangeSignal, when set, is sent to the running child instead of
	// restarting it when a new environment arrives (for a child that
	// re-reads its secrets by itself: its own environment cannot change).
	// A later start (after a failure) gets the new environment.
	ChangeSignal syscall.Signal
	// Grace is how long a child has to exit after a stop or restart
	// signal before it and its process group are killed (default 10 s).
	Grace time.Duration
	// Restart is the policy for a child that exits by itself.
	Restart Restart
	// BackoffBase and BackoffMax bound the delay before a restart after a
	// failure (defaults 1 s and 30 s).
	BackoffBase, BackoffMax time.Duration
	// Logger gets one line per start, stop, restart and forwarded signal
	// (pids, signals, exit statuses; never the environment). Default:
	// discard.
	Logger *slog.Logger
	// OnStart, when set, is called with the pid of every child started.
	OnStart func(pid int)
}

// StopSignals are the signals that, forwarded to the child, also end the
// supervision: the child gets Grace to exit, then SIGKILL.
func isStopSignal(s syscall.Signal) bool { return s == syscall.SIGTERM || s == syscall.SIGINT }

// ForwardedSignals are the signals a caller should catch and pass to Run.
var ForwardedSignals = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// Backoff is the delay before restart number n (0-based) after failures:
// base·2^n, capped at max, with the upper half jittered by r in [0,1) so that
// the delay is in [d/2, d).
func Backoff(n int, base, max time.Duration, r float64) time.Duration {
	if base <= 0 {
		base = DefaultBackoffBase
	}
	if max < base {
		max = base
	}
	d := base
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d/2 + time.Duration(r*float64(d/2))
}

func (c *Config) defaults() {
	if c.StopSignal == 0 {
		c.StopSignal = syscall.SIGTERM
	}
	if c.RestartSignal == 0 {
		c.RestartSignal = c.StopSignal
	}
	if c.Grace <= 0 {
		c.Grace = DefaultGrace
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = DefaultBackoffBase
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// ErrNotStarted: the program could not be started at all.
var ErrNotStarted = errors.New("cannot start the program")

// Run starts the program with env and supervises it until the supervision
// ends, and returns how the last child ended:
//
//   - each value received from restarts is a new environment: the child is
//     stopped with RestartSignal (SIGKILL after Grace) and started again with
//     it, or sent ChangeSignal when that is set. Values that arrive while a
//     restart is under way only replace the environment it will use: a
//     batch makes one restart.
//   - each signal received from signals is forwarded to the child; SIGTERM
//     and SIGINT also end the supervision once the child exits (SIGKILL
//     after Grace).
//   - when ctx is done, the child is sent StopSignal (SIGKILL after Grace),
//     unless a stop signal was already forwarded.
//   - a child that exits by itself ends the supervision, or is started
//     again after a backoff under OnFailure when it failed.
//
// The error is non-nil only when the program could not be started
// (ErrNotStarted) the first time, or, under Never, on a restart.
//
// The caller feeds signals from os/signal.Notify for every signal it
// forwards (ForwardedSignals): that is also what makes the child start with
// their default dispositions. A signal the supervisor inherited as ignored (HUP
// under nohup) and never asked for stays ignored in the child, which then
// cannot trap it.
func Run(ctx context.Context, cfg Config, env []string, restarts <-chan []string, signals <-chan os.Signal) (Exit, error) {
	cfg.defaults()
	log := cfg.Logger
	s := &run{cfg: cfg, env: env}
	if err := s.start(); err != nil {
		return Exit{Code: 127}, err
	}
	var (
		killTimer    <-chan time.Time
		backoffTimer <-chan time.Time
		stopping     bool // the supervision ends when the child exits
		restarting   bool // the child was asked to stop for a restart
		stopsByUs    bool // the child's end was asked for (stop or restart)
		failures     int
		last         Exit
		done         = ctx.Done()
	)
	armKill := func() {
		if killTimer == nil {
			killTimer = time.After(cfg.Grace)
		}
	}
	for {
		var childDone <-chan struct{}
		if s.c != nil {
			childDone = s.c.done
		}
		select {
		case <-childDone:
			c := s.c
			s.c, killTimer = nil, nil
			last = c.exit
			ranFor := time.Since(s.startedAt)
			if stopsByUs {
				c.killGroup() // what it left behind in its group
			}
			log.Info("child exited", "pid", c.pid(), "status", last.String(), "restarting", restarting && !stopping)
			switch {
			case stopping:
				return last, nil
			case restarting:
				restarting, stopsByUs = false, false
				if err := s.start(); err != nil {
					if cfg.Restart != OnFailure {
						return last, err
					}
					d := Backoff(failures, cfg.BackoffBase, cfg.BackoffMax, rand.Float64())
					failures++
					log.Warn("cannot start the program; retrying after a backoff", "error", err.Error(), "backoff", d.Round(time.Millisecond))
					backoffTimer = time.After(d)
				}
			case cfg.Restart == OnFailure && last.Failed():
				if ranFor >= healthyRun {
					failures = 0
				}
				d := Backoff(failures, cfg.BackoffBase, cfg.BackoffMax, rand.Float64())
				failures++
				log.Warn("child failed; restarting after a backoff", "status", last.String(), "backoff", d.Round(time.Millisecond))
				backoffTimer = time.After(d)
			default:
				return last, nil
			}

		case <-backoffTimer:
			backoffTimer = nil
			if err := s.start(); err != nil {
				d := Backoff(failures, cfg.BackoffBase, cfg.BackoffMax, rand.Float64())
				failures++
				log.Warn("cannot start the program; retrying after a backoff", "error", err.Error(), "backoff", d.Round(time.Millisecond))
				backoffTimer = time.After(d)
			}

		case env := <-restarts:
			if stopping {
				continue
			}
			s.env = env
			switch {
			case s.c == nil:
				// Waiting for a backoff: the next start takes env.
			case cfg.ChangeSignal != 0:
				log.Info("secrets changed: signalling the child", "pid", s.c.pid(), "signal", cfg.ChangeSignal.String())
				_ = s.c.signal(cfg.ChangeSignal)
			case restarting:
				// The restart under way will use env.
			default:
				log.Info("secrets changed: restarting the child", "pid", s.c.pid(), "signal", cfg.RestartSignal.String())
				restarting, stopsByUs = true, true
				_ = s.c.signal(cfg.RestartSignal)
				armKill()
			}

		case sig := <-signals:
			ss, ok := sig.(syscall.Signal)
			if !ok {
				continue
			}
			if s.c == nil {
				if isStopSignal(ss) {
					log.Info("stop signal while no child runs: exiting", "signal", ss.String())
					return last, nil
				}
				continue
			}
			if cfg.Program.SameGroup && (ss == syscall.SIGINT || ss == syscall.SIGQUIT) {
				// The terminal sent it to the whole group: the child has it.
				log.Info("signal from the terminal, already received by the child", "pid", s.c.pid(), "signal", ss.String())
			} else {
				log.Info("forwarding signal", "pid", s.c.pid(), "signal", ss.String())
				_ = s.c.signal(ss)
			}
			if isStopSignal(ss) {
				stopping, stopsByUs = true, true
				armKill()
			}

		case <-done:
			done = nil
			if stopping {
				continue
			}
			stopping, stopsByUs = true, true
			if s.c == nil {
				return last, nil
			}
			log.Info("stopping the child", "pid", s.c.pid(), "signal", cfg.StopSignal.String(), "grace", cfg.Grace)
			_ = s.c.signal(cfg.StopSignal)
			armKill()

		case <-killTimer:
			killTimer = nil
			if s.c != nil {
				log.Warn("child did not exit within the grace period: killing it", "pid", s.c.pid(), "grace", cfg.Grace)
				s.c.killGroup()
			}
		}
	}
}

type run struct {
	cfg       Config
	env       []string
	c         *child
	startedAt time.Time
}

func (s *run) start() error {
	c, err := start(s.cfg.Program, s.env)
	if err != nil {
		return fmt.Errorf("%w %s: %w", ErrNotStarted, s.cfg.Program.Path, err)
	}
	s.c, s.startedAt = c, time.Now()
	s.cfg.Logger.Info("child started", "pid", c.pid(), "program", s.cfg.Program.Path)
	if s.cfg.OnStart != nil {
		s.cfg.OnStart(c.pid())
	}
	return nil
}

//go:build unix

package supervise

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain asks for the forwarded signals as the CLI does, so children
// start with their default disposition even when the tests run under nohup
// (HUP inherited as ignored could not be trapped by the test scripts).
func TestMain(m *testing.M) {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
	goleak.VerifyTestMain(m)
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readLines(path string) []string {
	b, _ := os.ReadFile(path)
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func sh(script string) Program { return Program{Path: "/bin/sh", Args: []string{"-c", script}} }

type result struct {
	exit Exit
	err  error
}

// runAsync runs Run in a goroutine; when the test ends (a failed wait
// included) its context is cancelled, so no child outlives the test.
func runAsync(t *testing.T, ctx context.Context, cfg Config, env []string, restarts <-chan []string, signals <-chan os.Signal) <-chan result {
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	ch := make(chan result, 1)
	go func() {
		e, err := Run(ctx, cfg, env, restarts, signals)
		ch <- result{e, err}
	}()
	return ch
}

func wait(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return")
	}
	return result{}
}

func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   Exit
		status int
	}{
		{"exit 0", Exit{Code: 0}, 0},
		{"exit 3", Exit{Code: 3}, 3},
		{"kill -USR1 $$", Exit{Code: -1, Signal: syscall.SIGUSR1}, 128 + 10},
		{"kill -KILL $$", Exit{Code: -1, Signal: syscall.SIGKILL}, 137},
	} {
		e, err := Run(context.Background(), Config{Program: sh(tc.script)}, nil, nil, nil)
		if err != nil || e != tc.want || e.Status() != tc.status {
			t.Errorf("%s: %+v (status %d), %v; want %+v (%d)", tc.script, e, e.Status(), err, tc.want, tc.status)
		}
	}
	_, err := Run(context.Background(), Config{Program: Program{Path: "/nonexistent/program"}}, nil, nil, nil)
	if !errors.Is(err, ErrNotStarted) {
		t.Errorf("missing program: %v", err)
	}
}

func TestEnvironmentIsExactlyGiven(t *testing.T) {
	out := filepath.Join(t.TempDir(), "env")
	p := Program{Path: "/usr/bin/env"}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p.Stdout = f
	if _, err := Run(context.Background(), Config{Program: p}, []string{"ONLY=this"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := readLines(out); len(got) != 1 || got[0] != "ONLY=this" {
		t.Errorf("child environment = %q", got)
	}
}

// TestRestartWithNewEnvironment: each new environment restarts the child
// once, with that environment; the restart's exit does not end Run.
func TestRestartWithNewEnvironment(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	script := fmt.Sprintf(`echo "start $V" >> %s; trap 'echo "term $V" >> %s; exit 0' TERM; while :; do sleep 0.02; done`, log, log)
	restarts := make(chan []string)
	var starts atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := runAsync(t, ctx, Config{Program: sh(script), OnStart: func(int) { starts.Add(1) }}, []string{"V=1"}, restarts, nil)
	waitFor(t, "first start", func() bool { return len(readLines(log)) == 1 })
	restarts <- []string{"V=2"}
	waitFor(t, "restart", func() bool { return len(readLines(log)) == 3 })
	if got := readLines(log); strings.Join(got, ",") != "start 1,term 1,start 2" {
		t.Errorf("log = %q", got)
	}
	cancel()
	r := wait(t, ch)
	if r.err != nil || r.exit.Status() != 0 || starts.Load() != 2 {
		t.Errorf("end: %+v %v, %d starts", r.exit, r.err, starts.Load())
	}
}

// TestGraceThenKill: a child that ignores the stop signal is killed after
// the grace period, with its process group.
func TestGraceThenKill(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	script := fmt.Sprintf(`trap '' TERM; touch %s; while :; do sleep 0.02; done`, ready)
	ctx, cancel := context.WithCancel(context.Background())
	var pid atomic.Int64
	ch := runAsync(t, ctx, Config{Program: sh(script), Grace: 100 * time.Millisecond, OnStart: func(p int) { pid.Store(int64(p)) }}, nil, nil, nil)
	waitFor(t, "child ready", func() bool { _, err := os.Stat(ready); return err == nil })
	cancel()
	r := wait(t, ch)
	if r.exit.Signal != syscall.SIGKILL || r.exit.Status() != 137 {
		t.Errorf("exit %+v, want SIGKILL", r.exit)
	}
	// The group is gone too (the sleeps).
	waitFor(t, "process group gone", func() bool { return syscall.Kill(-int(pid.Load()), 0) != nil })
}

// TestForwardSignals: HUP and USR1 reach the child and do not stop it; TERM
// reaches it and ends Run with the child's status.
func TestForwardSignals(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	script := fmt.Sprintf(`trap 'echo hup >> %[1]s' HUP; trap 'echo usr1 >> %[1]s' USR1; trap 'echo term >> %[1]s; exit 7' TERM; echo ready >> %[1]s; while :; do sleep 0.02; done`, log)
	signals := make(chan os.Signal, 1)
	ch := runAsync(t, context.Background(), Config{Program: sh(script)}, nil, nil, signals)
	waitFor(t, "ready", func() bool { return len(readLines(log)) == 1 })
	signals <- syscall.SIGHUP
	waitFor(t, "hup", func() bool { return len(readLines(log)) == 2 })
	signals <- syscall.SIGUSR1
	waitFor(t, "usr1", func() bool { return len(readLines(log)) == 3 })
	signals <- syscall.SIGTERM
	r := wait(t, ch)
	if r.exit.Code != 7 || strings.Join(readLines(log), ",") != "ready,hup,usr1,term" {
		t.Errorf("exit %+v, log %q", r.exit, readLines(log))
	}
}

// TestChangeSignal: with ChangeSignal, a new environment signals the child
// instead of restarting it.
func TestChangeSignal(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	script := fmt.Sprintf(`trap 'echo hup >> %[1]s' HUP; echo start >> %[1]s; while :; do sleep 0.02; done`, log)
	restarts := make(chan []string)
	ctx, cancel := context.WithCancel(context.Background())
	ch := runAsync(t, ctx, Config{Program: sh(script), ChangeSignal: syscall.SIGHUP}, nil, restarts, nil)
	waitFor(t, "start", func() bool { return len(readLines(log)) == 1 })
	restarts <- []string{"X=1"}
	waitFor(t, "hup", func() bool { return len(readLines(log)) == 2 })
	cancel()
	wait(t, ch)
	if got := strings.Join(readLines(log), ","); got != "start,hup" {
		t.Errorf("log %q", got)
	}
}

// TestOnFailure: a failing child is started again (with backoff) until it
// succeeds; under Never its failure ends Run.
func TestOnFailure(t *testing.T) {
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	script := fmt.Sprintf(`echo x >> %[1]s; [ $(wc -l < %[1]s) -ge 3 ] && exit 0; exit 1`, count)
	var starts atomic.Int32
	r, err := Run(context.Background(), Config{Program: sh(script), Restart: OnFailure, BackoffBase: 5 * time.Millisecond,
		BackoffMax: 20 * time.Millisecond, OnStart: func(int) { starts.Add(1) }}, nil, nil, nil)
	if err != nil || r.Code != 0 || starts.Load() != 3 {
		t.Errorf("on-failure: %+v %v, %d starts", r, err, starts.Load())
	}
	os.Remove(count)
	r, _ = Run(context.Background(), Config{Program: sh(script)}, nil, nil, nil)
	if r.Code != 1 || len(readLines(count)) != 1 {
		t.Errorf("never: %+v, %d runs", r, len(readLines(count)))
	}
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		n      int
		r      float64
		lo, hi time.Duration
	}{
		{0, 0, 500 * time.Millisecond, 500 * time.Millisecond},
		{0, 0.999, 500 * time.Millisecond, time.Second},
		{1, 0, time.Second, time.Second},
		{3, 0.5, 6 * time.Second, 6 * time.Second},
		{10, 0, 15 * time.Second, 15 * time.Second},
		{1000, 0.999, 15 * time.Second, 30 * time.Second},
	} {
		d := Backoff(tc.n, time.Second, 30*time.Second, tc.r)
		if d < tc.lo || d > tc.hi {
			t.Errorf("Backoff(%d, r=%v) = %v, want [%v, %v]", tc.n, tc.r, d, tc.lo, tc.hi)
		}
	}
}

func TestParseRestart(t *testing.T) {
	if p, err := ParseRestart("on-failure"); err != nil || p != OnFailure {
		t.Error(p, err)
	}
	if _, err := ParseRestart("always"); err == nil || !strings.Contains(err.Error(), "never or on-failure") {
		t.Error(err)
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]syscall.Signal{"TERM": syscall.SIGTERM, "sigint": syscall.SIGINT, "SIGHUP": syscall.SIGHUP, "10": syscall.SIGUSR1, " usr2 ": syscall.SIGUSR2} {
		if got, err := ParseSignal(in); err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "BOGUS", "0", "99"} {
		if _, err := ParseSignal(in); err == nil {
			t.Errorf("ParseSignal(%q) accepted", in)
		}
	}
}

// TestSameGroup: a child in the supervisor's group does not get INT
// forwarded (the terminal delivers it to the whole group), but still gets
// HUP, and INT still ends the supervision.
func TestSameGroup(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	script := fmt.Sprintf(`trap 'echo hup >> %[1]s' HUP; trap 'echo int >> %[1]s; exit 0' INT; echo ready >> %[1]s; while :; do sleep 0.02; done`, log)
	signals := make(chan os.Signal, 1)
	p := sh(script)
	p.SameGroup = true
	var pid atomic.Int64
	ch := runAsync(t, context.Background(), Config{Program: p, Grace: 200 * time.Millisecond, OnStart: func(p int) { pid.Store(int64(p)) }}, nil, nil, signals)
	waitFor(t, "ready", func() bool { return len(readLines(log)) == 1 })
	if pgid, _ := syscall.Getpgid(int(pid.Load())); pgid != syscall.Getpgrp() {
		t.Errorf("child group %d, want the supervisor's %d", pgid, syscall.Getpgrp())
	}
	signals <- syscall.SIGHUP
	waitFor(t, "hup", func() bool { return len(readLines(log)) == 2 })
	signals <- syscall.SIGINT // not forwarded: the shell ignores nothing, so it would log "int"
	r := wait(t, ch)
	if r.exit.Signal != syscall.SIGKILL || strings.Join(readLines(log), ",") != "ready,hup" {
		t.Errorf("exit %+v, log %q: INT must not be forwarded, and the child killed after the grace period", r.exit, readLines(log))
	}
}

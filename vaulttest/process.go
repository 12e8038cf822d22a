package vaulttest

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// What the servers of this package (Vault dev and persistent servers,
// PostgreSQL) share: binding one to a test, retrying a start that lost its
// port, and starting and stopping its process.

// service is a server process a test starts.
type service interface {
	Logs() string
	Stop()
}

// skipOrFail ends a test whose server did not start: the test is skipped
// when err is missing (no binary) and the strict mode is off (see
// Required), with the line skip, and fails otherwise.
func skipOrFail(tb testing.TB, err, missing error, skip string) {
	tb.Helper()
	if errors.Is(err, missing) && !Required() {
		tb.Skip(skip)
	}
	if err != nil {
		tb.Fatal(err)
	}
}

// forTest gives tb the server s that a New function returned with err (see
// skipOrFail, for a missing Vault binary): s is stopped when the test ends,
// after its log ("<name> log") is shown if the test failed.
func forTest[S service](tb testing.TB, s S, err error, name string) S {
	tb.Helper()
	skipOrFail(tb, err, ErrNoBinary, skipLine)
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("%s log:\n%s", name, s.Logs())
		}
		s.Stop()
	})
	return s
}

// onFreePort runs start up to three times: a free port (see freePort) can
// be taken by another process between the probe and the server's bind.
func onFreePort[S any](start func() (S, error)) (s S, err error) {
	for attempt := 0; attempt < 3; attempt++ {
		if s, err = start(); err == nil {
			return s, nil
		}
	}
	return s, err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// runProcess starts cmd with its output into logs, to be killed with the
// test binary (Pdeathsig, set after a change of user, so a server running
// as postgres dies too). The channel is closed when the process has exited.
func runProcess(cmd *exec.Cmd, logs io.Writer) (chan struct{}, error) {
	cmd.Stdout, cmd.Stderr = logs, logs
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	return done, nil
}

// stopProcess sends sig to cmd's process, if it was started, and waits for
// it to exit (done), killing it after grace.
func stopProcess(cmd *exec.Cmd, done <-chan struct{}, sig os.Signal, grace time.Duration) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
	}
}

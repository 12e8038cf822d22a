//go:build unix

package supervise

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// Exit is how a child ended.
type Exit struct {
	// Code is the exit code when the child exited by itself (-1 when a
	// signal ended it).
	Code int
	// Signal is the signal that ended the child (0 when it exited).
	Signal syscall.Signal
}

// Status is the exit status a shell reports: Code, or 128+n for signal n.
func (e Exit) Status() int {
	if e.Signal != 0 {
		return 128 + int(e.Signal)
	}
	return e.Code
}

// Failed reports whether the child failed: a non-zero exit code or a signal.
func (e Exit) Failed() bool { return e.Signal != 0 || e.Code != 0 }

// String is "exit status 3" or "signal terminated".
func (e Exit) String() string {
	if e.Signal != 0 {
		return "signal " + e.Signal.String()
	}
	return "exit status " + strconv.Itoa(e.Code)
}

func exitOf(ps *os.ProcessState) Exit {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return Exit{Code: -1, Signal: ws.Signal()}
	}
	return Exit{Code: ps.ExitCode()}
}

// Program is what to run.
type Program struct {
	// Path is the program (resolved with exec.LookPath when it has no slash).
	Path string
	// Args are the arguments after the program name.
	Args []string
	// Dir is the working directory ("" for the current one).
	Dir string
	// Stdin, Stdout and Stderr are the child's; an *os.File is handed over
	// as is (no copying).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// DeathSignal is sent to the child by the kernel if the supervising
	// process dies without stopping it (0: none).
	DeathSignal syscall.Signal
	// SameGroup keeps the child in the supervisor's process group, for an
	// interactive program on a terminal: it may then read the terminal,
	// and receives the terminal's INT and QUIT itself (Run does not forward
	// those a second time). SIGKILL then reaches the child only.
	SameGroup bool
}

// child is one run of the program.
type child struct {
	cmd   *exec.Cmd
	done  chan struct{}
	exit  Exit
	group bool // the child leads its own process group
}

// start starts the program with env (exactly these variables).
func start(p Program, env []string) (*child, error) {
	cmd := exec.Command(p.Path, p.Args...)
	if cmd.Err != nil {
		return nil, cmd.Err
	}
	cmd.Env = env
	if cmd.Env == nil {
		cmd.Env = []string{} // nil would mean "the supervisor's environment"
	}
	cmd.Dir = p.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.Stdin, p.Stdout, p.Stderr
	cmd.SysProcAttr = sysProcAttr(p)
	// Copying goroutines (stdio that is not a file) must not hold Wait once
	// the child is gone.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, done: make(chan struct{}), group: !p.SameGroup}
	go func() {
		err := cmd.Wait()
		if cmd.ProcessState != nil {
			c.exit = exitOf(cmd.ProcessState)
		} else {
			c.exit = Exit{Code: -1}
			_ = err
		}
		close(c.done)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// signal sends sig to the child (not its group). A child that is already
// gone is not an error.
func (c *child) signal(sig syscall.Signal) error {
	err := c.cmd.Process.Signal(sig)
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// killGroup sends SIGKILL to the child's process group (the child and
// whatever it started that stayed in the group), or to the child alone when
// it shares the supervisor's group.
func (c *child) killGroup() {
	if !c.group {
		_ = c.signal(syscall.SIGKILL)
		return
	}
	_ = syscall.Kill(-c.pid(), syscall.SIGKILL)
}

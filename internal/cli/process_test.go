package cli

// The test binary plays two more programs, chosen by its first argument, so
// that tests drive real processes without building anything:
//
//	__gdsvault ARGS...     cmd/gdsvault's main: Main with the process's signals
//	__testchild FLAGS...   a child that reports its environment, the signals
//	                       it receives and its PostgreSQL logins to a file

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/vaulttest"
	"github.com/jackc/pgx/v5"
)

func init() {
	if len(os.Args) < 2 {
		return
	}
	switch os.Args[1] {
	case "__gdsvault":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Main(ctx, os.Args[2:], Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.LookupEnv)
		stop()
		os.Exit(code)
	case "__testchild":
		os.Exit(testChild(os.Args[2:]))
	}
}

// childEvent is one line of the test child's report.
type childEvent struct {
	Event  string            `json:"event"` // start, signal, pg
	Pid    int               `json:"pid"`
	Time   time.Time         `json:"time"`
	Env    map[string]string `json:"env,omitempty"`
	Signal string            `json:"signal,omitempty"`
	OK     bool              `json:"ok,omitempty"`
	User   string            `json:"user,omitempty"`
	Error  string            `json:"error,omitempty"`
}

func testChild(args []string) int {
	fs := flag.NewFlagSet("testchild", flag.ContinueOnError)
	report := fs.String("report", "", "file to append events to")
	exitCode := fs.Int("exit", -1, "exit at once with this code")
	die := fs.String("die", "", "kill itself with this signal at once")
	ignoreTerm := fs.Bool("ignore-term", false, "report TERM and keep running")
	failUntil := fs.Int("fail-until", 0, "exit 1 while the report holds fewer starts than this, then run")
	pgAddr := fs.String("pg", "", "PostgreSQL host:port to log in to with $DB_USER/$DB_PASS")
	pgDB := fs.String("pg-db", "", "PostgreSQL database")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var mu sync.Mutex
	emit := func(e childEvent) {
		e.Pid, e.Time = os.Getpid(), time.Now()
		b, _ := json.Marshal(e)
		mu.Lock()
		defer mu.Unlock()
		f, err := os.OpenFile(*report, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testchild:", err)
			os.Exit(99)
		}
		f.Write(append(b, '\n'))
		f.Close()
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	emit(childEvent{Event: "start", Env: env})
	if *failUntil > 0 && len(eventsOf(readReport(*report), "start")) < *failUntil {
		return 1
	}
	if *exitCode >= 0 {
		return *exitCode
	}
	if *die != "" {
		sig := map[string]syscall.Signal{"USR1": syscall.SIGUSR1, "KILL": syscall.SIGKILL, "TERM": syscall.SIGTERM}[*die]
		signal.Reset(sig)
		syscall.Kill(os.Getpid(), sig)
		time.Sleep(time.Minute)
	}
	if *pgAddr != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		user := os.Getenv("DB_USER")
		conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", user, os.Getenv("DB_PASS"), *pgAddr, *pgDB))
		e := childEvent{Event: "pg", User: user}
		if err == nil {
			var one int
			err = conn.QueryRow(ctx, "SELECT 1").Scan(&one)
			conn.Close(ctx)
		}
		if err != nil {
			e.Error = err.Error()
		} else {
			e.OK = true
		}
		cancel()
		emit(e)
	}
	for sig := range sigs {
		s := sig.(syscall.Signal)
		emit(childEvent{Event: "signal", Signal: s.String()})
		if (s == syscall.SIGTERM || s == syscall.SIGINT) && !*ignoreTerm {
			signal.Reset(s)
			syscall.Kill(os.Getpid(), s) // end as the signal would have
			time.Sleep(time.Minute)
		}
	}
	return 0
}

// readReport reads the child's events (a partial last line is skipped).
func readReport(path string) []childEvent {
	b, _ := os.ReadFile(path)
	var out []childEvent
	for _, line := range bytes.Split(b, []byte("\n")) {
		var e childEvent
		if json.Unmarshal(line, &e) == nil {
			out = append(out, e)
		}
	}
	return out
}

func eventsOf(es []childEvent, kind string) []childEvent {
	var out []childEvent
	for _, e := range es {
		if e.Event == kind {
			out = append(out, e)
		}
	}
	return out
}

// proc is a gdsvault process started by a test.
type proc struct {
	cmd    *exec.Cmd
	stdout *vaulttest.LogBuffer
	stderr *vaulttest.LogBuffer
	done   chan struct{}
	code   int
}

// startGdsvault runs gdsvault ARGS as its own process, with only env (and
// PATH), and kills it at the end of the test if it still runs.
func startGdsvault(t *testing.T, env map[string]string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"__gdsvault"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &proc{cmd: cmd, stdout: &vaulttest.LogBuffer{}, stderr: &vaulttest.LogBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.code = 128 + int(ws.Signal())
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("gdsvault %v stderr:\n%s", args, p.stderr.String())
		}
	})
	return p
}

func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// wait waits for the process to exit and returns its status.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(2 * time.Minute):
		t.Fatalf("gdsvault did not exit; stderr:\n%s", p.stderr.String())
	}
	return -1
}

// exited reports whether the process has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// eventually polls cond until it holds, or fails the test after a generous
// deadline (the machine is shared and busy).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// childArgs is the command line after "--" that runs the test child.
func childArgs(report string, flags ...string) []string {
	return append([]string{"--", os.Args[0], "__testchild", "-report", report}, flags...)
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(filepath.Join("/proc", fmt.Sprint(pid), "cmdline"))
	return string(bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
}

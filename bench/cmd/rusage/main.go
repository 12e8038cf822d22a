// Command rusage runs one command and reports its wall time and peak memory
// on file descriptor 3, as "wall_ns maxrss_kib exit_status". The bench
// program measures the CLIs through it.
//
// Why a helper: Go's os/exec starts children with vfork semantics
// (CLONE_VM), and Linux records the peak RSS of the address space an exec
// leaves into the new program's ru_maxrss, so a child of a big process
// reports at least its parent's peak. This helper stays tiny (a couple of
// MiB), which is below what any measured CLI uses, and ru_maxrss is a
// maximum, not a sum: the figure it reports is the command's own.
package main

import (
	"os"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		os.Stderr.WriteString("usage: rusage COMMAND [ARG...]   (reports on fd 3)\n")
		os.Exit(2)
	}
	syscall.CloseOnExec(3) // the command must not inherit the report's pipe
	report := os.NewFile(3, "report")
	t0 := time.Now()
	pid, err := syscall.ForkExec(os.Args[1], os.Args[1:], &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
	})
	if err != nil {
		os.Stderr.WriteString("rusage: " + err.Error() + "\n")
		os.Exit(127)
	}
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	for {
		_, err = syscall.Wait4(pid, &ws, 0, &ru)
		if err != syscall.EINTR {
			break
		}
	}
	wall := time.Since(t0)
	if err != nil {
		os.Stderr.WriteString("rusage: wait4: " + err.Error() + "\n")
		os.Exit(127)
	}
	code := ws.ExitStatus()
	if ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	_, _ = report.WriteString(strconv.FormatInt(wall.Nanoseconds(), 10) + " " + strconv.FormatInt(ru.Maxrss, 10) + " " + strconv.Itoa(code) + "\n")
	os.Exit(code)
}

//go:build unix && !linux

package supervise

import "syscall"

// sysProcAttr puts the child in its own process group (unless SameGroup).
// DeathSignal needs Linux.
func sysProcAttr(p Program) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: !p.SameGroup}
}

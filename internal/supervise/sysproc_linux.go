package supervise

import "syscall"

// sysProcAttr puts the child in its own process group (unless SameGroup)
// and asks the kernel to send it DeathSignal if the supervisor dies.
func sysProcAttr(p Program) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: !p.SameGroup, Pdeathsig: p.DeathSignal}
}

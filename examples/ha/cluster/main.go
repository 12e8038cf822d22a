// Command cluster starts a real Vault cluster of three nodes with integrated
// storage (vaulttest.StartCluster, the one the HA tests use: KV v2 at
// secret/), prints its addresses and root token, and waits while the
// signals below act on it. make demo-ha (scripts/demo-ha.sh) drives it;
// run it by hand to try examples/ha:
//
//	VAULT_BIN=$PWD/bin/vault go run ./examples/ha/cluster -env /tmp/cluster.env
//	. /tmp/cluster.env && go run ./examples/ha           # in another terminal
//	kill -USR1 <pid>                                      # kill the leader
//
// Signals:
//
//	SIGUSR1          kill the active node (SIGKILL), wait for a new leader
//	SIGUSR2          restart the killed nodes, unsealed; wait until they serve
//	SIGHUP           step the active node down, wait for another leader
//	SIGINT, SIGTERM  stop every node, remove their data, exit
//
// -kill-after, -restart-after and -step-down-after do the same on a timer,
// counted from when the cluster is ready. The root token is a throwaway
// cluster's: printing it is the point of a demo.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gdsvault/gdsvault/vaulttest"
)

func main() {
	nodes := flag.Int("nodes", 3, "nodes in the cluster")
	env := flag.String("env", "", "write VAULT_ADDRS, VAULT_ADDR and VAULT_TOKEN as shell exports to this file once the cluster is ready")
	killAfter := flag.Duration("kill-after", 0, "kill the leader this long after the cluster is ready (0: only on SIGUSR1)")
	restartAfter := flag.Duration("restart-after", 0, "restart the killed nodes this long after the cluster is ready (0: only on SIGUSR2)")
	stepDownAfter := flag.Duration("step-down-after", 0, "step the leader down this long after the cluster is ready (0: only on SIGHUP)")
	flag.Parse()

	// Registered before the slow start, so that a stop asked meanwhile is
	// not lost (SIGINT is ignored in a script's background job otherwise).
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	h := &harness{out: os.Stdout, start: time.Now()}
	if err := h.run(sigs, *nodes, *env, *killAfter, *restartAfter, *stepDownAfter); err != nil {
		h.say("error: %v", err)
		os.Exit(1)
	}
}

type harness struct {
	out    io.Writer
	start  time.Time
	cl     *vaulttest.Cluster
	killed []int // nodes killed and not restarted yet
}

func (h *harness) say(format string, args ...any) {
	fmt.Fprintf(h.out, "cluster %6.1fs: %s\n", time.Since(h.start).Seconds(), fmt.Sprintf(format, args...))
}

// action is what a signal or a timer asks for.
type action int

const (
	kill action = iota + 1
	restart
	stepDown
	stop
)

func (h *harness) run(sigs <-chan os.Signal, n int, envFile string, killAfter, restartAfter, stepDownAfter time.Duration) error {
	h.say("starting %d Vault nodes (raft storage), %s", n, binary())
	started := make(chan error, 1)
	go func() {
		cl, err := vaulttest.StartCluster(n, vaulttest.ClusterOptions{})
		h.cl = cl
		started <- err
	}()
	select {
	case err := <-started:
		if err != nil {
			return err
		}
	case <-sigs: // stopped during the start: let it finish, then close
		h.say("stopping (the start finishes first)")
		if err := <-started; err == nil {
			h.cl.Close()
		}
		return nil
	}
	defer func() {
		h.cl.Close()
		h.say("stopped every node and removed their data")
	}()

	addrs := h.cl.Addresses()
	leader, err := h.cl.WaitLeader(context.Background())
	if err != nil {
		return err
	}
	h.say("ready: %d nodes, leader %s", n, h.describe(leader))
	for i, a := range addrs {
		h.say("  %s  %s", h.cl.Node(i).ID, a)
	}
	h.say("VAULT_ADDRS=%s", strings.Join(addrs, ","))
	h.say("VAULT_TOKEN=%s (root, of this throwaway cluster)", h.cl.RootToken)
	if envFile != "" {
		if err := writeEnv(envFile, addrs, h.cl.RootToken); err != nil {
			return err
		}
		h.say("wrote %s", envFile)
	}
	h.say("signals: USR1 kills the leader, USR2 restarts killed nodes, HUP steps the leader down, TERM stops")

	actions := make(chan action, 8)
	ready := time.Now()
	for _, t := range []struct {
		after time.Duration
		a     action
	}{{killAfter, kill}, {restartAfter, restart}, {stepDownAfter, stepDown}} {
		if t.after > 0 {
			time.AfterFunc(time.Until(ready.Add(t.after)), func() { actions <- t.a })
		}
	}
	// An action can take a while (a restart, tens of seconds on a busy
	// machine): the signals queue meanwhile, a stop cancels it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for s := range sigs {
			switch s {
			case syscall.SIGUSR1:
				actions <- kill
			case syscall.SIGUSR2:
				actions <- restart
			case syscall.SIGHUP:
				actions <- stepDown
			default:
				cancel()
				actions <- stop
			}
		}
	}()
	for a := range actions {
		if ctx.Err() != nil || a == stop {
			h.say("stopping")
			return nil
		}
		if err := h.do(ctx, a); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			h.say("FAILED: %v", err) // the demo checks the reads; keep the cluster up
		}
	}
	return nil
}

func (h *harness) do(ctx context.Context, a action) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	switch a {
	case kill:
		leader, err := h.cl.Leader(ctx)
		if err != nil {
			return fmt.Errorf("kill the leader: %w", err)
		}
		if err := h.cl.Kill(leader); err != nil {
			return err
		}
		h.killed = append(h.killed, leader)
		at := time.Now()
		h.say("killed the leader %s with SIGKILL", h.describe(leader))
		next, err := h.cl.WaitLeader(ctx)
		if err != nil {
			return err
		}
		h.say("new leader %s, serving %.1fs after the kill", h.describe(next), time.Since(at).Seconds())
	case restart:
		if len(h.killed) == 0 {
			h.say("restart: no node was killed")
			return nil
		}
		for len(h.killed) > 0 {
			i := h.killed[0]
			h.say("restarting %s", h.describe(i))
			at := time.Now()
			if err := h.cl.Restart(ctx, i); err != nil {
				return err
			}
			h.killed = h.killed[1:]
			state := "standby"
			if status, err := h.cl.Health(ctx, i); err == nil && status == 200 {
				state = "active"
			}
			h.say("restarted %s: unsealed, serving as %s after %.1fs", h.describe(i), state, time.Since(at).Seconds())
		}
	case stepDown:
		leader, err := h.cl.Leader(ctx)
		if err != nil {
			return fmt.Errorf("step down: %w", err)
		}
		at := time.Now()
		next, err := h.cl.StepDown(ctx, leader)
		if err != nil {
			return err
		}
		h.say("%s stepped down; new leader %s after %.1fs", h.describe(leader), h.describe(next), time.Since(at).Seconds())
	}
	return nil
}

func (h *harness) describe(i int) string {
	n := h.cl.Node(i)
	return n.ID + " (" + n.Addr + ")"
}

func binary() string {
	b, err := vaulttest.Binary()
	if err != nil {
		return "no binary: " + err.Error()
	}
	return b
}

// writeEnv writes the exports whole (a rename), so that a script waiting
// for the file never reads half of it.
func writeEnv(path string, addrs []string, token string) error {
	body := fmt.Sprintf("export VAULT_ADDRS=%s\nexport VAULT_ADDR=%s\nexport VAULT_TOKEN=%s\n",
		strings.Join(addrs, ","), addrs[0], token)
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

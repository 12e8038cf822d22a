package gdsvault_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/approle"
	"github.com/gdsvault/gdsvault/vaulttest"
)

// casWriters are the writers of the HA scenarios: writer w writes versions
// of its own secret with check-and-set, and remembers what Vault
// acknowledged, to check afterwards that nothing acknowledged was lost.
type casWriters struct {
	c     *gdsvault.Client
	mount string
	mu    sync.Mutex
	acked map[int]map[int]int // writer -> version -> seq
	cur   map[int]int         // writer -> the version it believes current
}

func (w *casWriters) path(i int) string { return fmt.Sprintf("%s/data/w%d", w.mount, i) }

func (w *casWriters) write(ctx context.Context, i, seq int) error {
	w.mu.Lock()
	if w.acked == nil {
		w.acked, w.cur = map[int]map[int]int{}, map[int]int{}
	}
	if w.acked[i] == nil {
		w.acked[i] = map[int]int{}
	}
	cur := w.cur[i]
	w.mu.Unlock()
	md, err := w.c.KV().Put(ctx, w.path(i), map[string]any{"seq": seq}, gdsvault.CAS(cur))
	if err != nil {
		// The version moved under us (a try that went through before its
		// answer was lost, then a retry): learn the current version, and
		// whether it holds this write.
		if s, rerr := w.c.GetSecret(ctx, w.path(i), gdsvault.NoCache()); rerr == nil && s.VersionMetadata != nil {
			w.mu.Lock()
			w.cur[i] = s.VersionMetadata.Version
			w.mu.Unlock()
			if errors.Is(err, gdsvault.ErrCASMismatch) && fmt.Sprint(s.Data["seq"]) == fmt.Sprint(seq) {
				md, err = s.VersionMetadata, nil
			}
		}
	}
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.acked[i][md.Version] = seq
	w.cur[i] = max(w.cur[i], md.Version)
	w.mu.Unlock()
	return nil
}

// verify reads back every acknowledged version.
func (w *casWriters) verify(t *testing.T) int {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for i, versions := range w.acked {
		for v, seq := range versions {
			s, err := w.c.GetSecret(ctx(t), w.path(i), gdsvault.SecretVersion(v), gdsvault.NoCache())
			if err != nil || fmt.Sprint(s.Data["seq"]) != fmt.Sprint(seq) {
				t.Errorf("acknowledged write lost: writer %d version %d seq %d: %v, %v", i, v, seq, s, err)
			}
			n++
		}
	}
	return n
}

// nodeCounter counts the requests sent to each node.
type nodeCounter struct {
	gdsvault.NopObserver
	mu      sync.Mutex
	count   map[string]int
	changes int
}

func (n *nodeCounter) Notice(no gdsvault.Notice) {
	if no.Kind == gdsvault.NoticeNode {
		n.mu.Lock()
		n.changes++
		n.mu.Unlock()
	}
}

func (n *nodeCounter) StartRequest(ctx context.Context, r gdsvault.RequestInfo) (context.Context, func(gdsvault.RequestOutcome)) {
	n.mu.Lock()
	if n.count == nil {
		n.count = map[string]int{}
	}
	n.count[r.Node]++
	n.mu.Unlock()
	return ctx, func(gdsvault.RequestOutcome) {}
}

func (n *nodeCounter) get(addr string) int { n.mu.Lock(); defer n.mu.Unlock(); return n.count[addr] }

// TestHACluster runs a real 3-node Raft cluster under 32 readers and 4
// check-and-set writers while its nodes die, restart, step down and stay
// sealed. No read may fail, no acknowledged write may be lost, and the
// client never logs in again (the token is cluster-wide).
func TestHACluster(t *testing.T) {
	if testing.Short() {
		t.Skip("a 3-node cluster for about 2 minutes")
	}
	t.Parallel()
	cl := vaulttest.NewCluster(t, 3, vaulttest.ClusterOptions{})
	active, err := cl.Active(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	active.EnableSecrets(t, "kvha", "kv", map[string]any{"version": "2"})
	active.Must(t, http.MethodPost, "kvha/config", map[string]any{"max_versions": 100000})
	active.PutKV(t, "kvha", "app/config", map[string]any{"db_host": "postgres.example.com"})
	active.WritePolicy(t, "ha", `path "kvha/*" { capabilities = ["create", "read", "update"] }`)
	active.EnableAuth(t, "approle", "approle")
	active.CreateAppRole(t, "approle", "app", map[string]any{"token_policies": "ha", "token_ttl": "1h"})
	m, err := approle.New(gdsvault.CredentialValue(active.RoleID(t, "approle", "app")), gdsvault.CredentialValue(active.SecretID(t, "approle", "app")))
	if err != nil {
		t.Fatal(err)
	}
	var logins atomic.Int64
	nodes := &nodeCounter{}
	c := quietClient(t, cl.Addresses()[0], "", gdsvault.WithAddresses(cl.Addresses()...), gdsvault.WithAuth(m), gdsvault.WithObserver(nodes),
		gdsvault.WithEvents(func(e gdsvault.Event) {
			if e.Kind == gdsvault.EventLogin {
				logins.Add(1)
			}
		}))
	if err := c.Authenticate(ctx(t)); err != nil {
		t.Fatal(err)
	}
	writers := &casWriters{c: c, mount: "kvha"}
	load := vaulttest.Load{
		Readers: 32, Writers: 4, Pace: 5 * time.Millisecond,
		Read: func(ctx context.Context) error {
			s, err := c.GetSecret(ctx, "kvha/data/app/config")
			if err == nil && s.Data["db_host"] != "postgres.example.com" {
				err = errors.New("wrong data")
			}
			return err
		},
		Write: writers.write,
	}
	at := func(start time.Time, d time.Duration) { time.Sleep(time.Until(start.Add(d))) } // the scenario's timetable, not a wait for logic
	report := func(name string, r *vaulttest.LoadReport) {
		t.Logf("FIGURE %s: %d reads, %d failed; %d writes, %d failed; longest without a read %v (at %v), without a write %v",
			name, r.Reads, r.FailedReads, r.Writes, r.FailedWrites, r.LongestReadGap.Round(time.Millisecond), r.LongestGapAt.Round(time.Second),
			r.LongestWriteGap.Round(time.Millisecond))
		if r.FailedReads != 0 {
			t.Errorf("%s: %d of %d reads failed; first: %v", name, r.FailedReads, r.Reads, r.FirstReadError)
		}
		if r.FailedWrites != 0 {
			t.Logf("%s: %d writes failed (reported, not lost); first: %v", name, r.FailedWrites, r.FirstWriteError)
		}
	}

	t.Run("kill, restart, step down", func(t *testing.T) {
		var killed int
		var killAt, stepAt time.Duration
		var election time.Duration
		r := load.Run(func(start time.Time) {
			at(start, 15*time.Second)
			leader, err := cl.Leader(ctx(t))
			if err != nil {
				t.Error(err)
				return
			}
			killed, killAt = leader, time.Since(start)
			if err := cl.Kill(leader); err != nil {
				t.Error(err)
			}
			if _, err := cl.WaitLeader(ctx(t)); err == nil {
				election = time.Since(start) - killAt
			}
			at(start, 30*time.Second)
			if err := cl.Restart(ctx(t), killed); err != nil {
				t.Error(err)
			}
			at(start, 45*time.Second)
			leader, err = cl.Leader(ctx(t))
			if err == nil {
				stepAt = time.Since(start)
				if _, err := cl.StepDown(ctx(t), leader); err != nil {
					t.Error(err)
				}
			}
			at(start, 60*time.Second)
		})
		report("HA kill/restart/step-down 60 s", r)
		t.Logf("FIGURE HA leader killed at %v: new leader serving after %v (harness probe); first read after the kill %v, first write %v; first write after the step-down %v",
			killAt.Round(time.Millisecond), election.Round(time.Millisecond), r.FirstReadAfter(killAt).Round(time.Millisecond),
			r.FirstWriteAfter(killAt).Round(time.Millisecond), r.FirstWriteAfter(stepAt).Round(time.Millisecond))
		if election > 0 && r.LongestReadGap > election+2*time.Second {
			t.Logf("longest read gap %v exceeds the election time %v by more than 2 s", r.LongestReadGap, election)
		}
	})

	t.Run("rolling restart", func(t *testing.T) {
		r := load.Run(func(time.Time) {
			for i := range 3 {
				if err := cl.Kill(i); err != nil {
					t.Error(err)
				}
				if err := cl.Restart(ctx(t), i); err != nil {
					t.Error(err)
				}
				if _, err := cl.WaitLeader(ctx(t)); err != nil {
					t.Error(err)
				}
			}
		})
		report("HA rolling restart of 3 nodes", r)
	})

	t.Run("standby sealed", func(t *testing.T) {
		leader, err := cl.WaitLeader(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		standby := (leader + 1) % 3
		addr := cl.Node(standby).Addr
		var duringSeal int
		var downWhileSealed bool
		r := load.Run(func(time.Time) {
			if err := cl.RestartSealed(ctx(t), standby); err != nil {
				t.Error(err)
				return
			}
			// A client that starts now learns at its first request that
			// the node is sealed, and sends it nothing until it serves.
			fresh := quietClient(t, cl.Addresses()[0], "", gdsvault.WithAddresses(cl.Addresses()...), gdsvault.WithAuth(m), gdsvault.WithObserver(nodes))
			before := nodes.get(addr)
			for range 200 {
				if _, err := fresh.GetSecret(ctx(t), "kvha/data/app/config"); err != nil {
					t.Errorf("fresh client while a standby is sealed: %v", err)
					break
				}
			}
			duringSeal = nodes.get(addr) - before
			for _, n := range fresh.Nodes() {
				if n.Address == addr {
					downWhileSealed = !n.Up
				}
			}
			if err := cl.Unseal(ctx(t), standby); err != nil {
				t.Error(err)
			}
		})
		report("HA standby restarted sealed, then unsealed", r)
		t.Logf("requests to the sealed standby: %d; reported down while sealed: %t", duringSeal, downWhileSealed)
		if duringSeal > 1 {
			t.Errorf("%d requests went to the sealed standby", duringSeal)
		}
	})

	nodes.mu.Lock()
	t.Logf("FIGURE HA node changes over all scenarios: %d", nodes.changes)
	nodes.mu.Unlock()
	if n := logins.Load(); n != 1 {
		t.Errorf("%d logins: a failover forced a new login", n)
	}
	t.Logf("verified %d acknowledged writes", writers.verify(t))
}

package vaulttest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/vaulttest"
)

func TestClusterBadSize(t *testing.T) {
	for _, n := range []int{0, -1} {
		if c, err := vaulttest.StartCluster(n, vaulttest.ClusterOptions{}); err == nil || c != nil {
			t.Errorf("StartCluster(%d) = %v, %v; want an error", n, c, err)
		}
	}
	if _, err := vaulttest.StartCluster(3, vaulttest.ClusterOptions{StartTimeout: -time.Second}); err == nil {
		t.Error("StartCluster with a negative StartTimeout: no error")
	}
}

// clusterCtx bounds one step of the cluster test: generous, for a busy
// two-core machine.
func clusterCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// answer is what a node said to one request.
type answer struct {
	status   int
	location string
	body     string
	err      error
}

func (a answer) String() string {
	if a.err != nil {
		return "error: " + a.err.Error()
	}
	s := fmt.Sprintf("%d %s", a.status, strings.TrimSpace(a.body))
	if a.location != "" {
		s += " Location: " + a.location
	}
	return s
}

// rawRead sends GET addr/v1/path as root through hc, which does not follow
// redirects, with extra headers.
func rawRead(ctx context.Context, hc *http.Client, addr, path, token string, header map[string]string) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr+"/v1/"+path, nil)
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("X-Vault-Token", token)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return answer{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b), err: err}
}

// figure logs a measured figure in one greppable form.
func figure(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf("FIGURE "+format, args...)
}

// otherThan returns the first node index that is not in skip.
func otherThan(n int, skip ...int) int {
	for i := 0; i < n; i++ {
		found := false
		for _, s := range skip {
			found = found || s == i
		}
		if !found {
			return i
		}
	}
	return -1
}

func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("a three-node cluster takes a minute or more")
	}
	checkLeaks(t)
	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	began := time.Now()
	c := vaulttest.NewCluster(t, 3, vaulttest.ClusterOptions{})
	figure(t, "startup of 3 nodes to 3 raft voters: %s", time.Since(began).Round(time.Millisecond))

	ctx := clusterCtx(t)
	addrs := c.Addresses()
	if len(addrs) != 3 || c.RootToken == "" || c.UnsealKey == "" {
		t.Fatalf("cluster: addresses %v, root token %q, unseal key set %v", addrs, c.RootToken, c.UnsealKey != "")
	}
	for i, a := range addrs {
		n := c.Node(i)
		if n.Addr != a || n.ID != fmt.Sprintf("node%d", i) || !strings.HasPrefix(n.ClusterAddr, "https://127.0.0.1:") {
			t.Fatalf("node %d = %+v, address %s", i, n, a)
		}
		if b, err := os.ReadFile(n.Dir + "/vault.hcl"); err != nil || !strings.Contains(string(b), `storage "raft"`) || !strings.Contains(string(b), "retry_join") {
			t.Fatalf("node %d config: %v\n%s", i, err, b)
		}
	}
	peers, err := c.Peers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(peers) != 3 {
		t.Fatalf("raft peers = %+v", peers)
	}
	for _, p := range peers {
		if !p.Voter {
			t.Fatalf("raft peers = %+v, want three voters", peers)
		}
	}
	leader, err := c.Leader(ctx)
	if err != nil || leader != 0 {
		t.Fatalf("Leader = %d, %v; want node 0, which was initialised", leader, err)
	}

	ok := t.Run("ReadThroughEveryNode", func(t *testing.T) {
		c.Server(0).PutKV(t, "secret", "app", map[string]any{"k": "v1"})
		for i := range addrs {
			cl := vaultClient(t, addrs[i], c.RootToken)
			// An OpenBao standby answers "Waiting for the primary to
			// upgrade ... to versioned data" for a while after a KV v2
			// mount is created: poll.
			deadline := time.Now().Add(30 * time.Second)
			for {
				if _, err := cl.Read(vaulttest.Context(t), "secret/data/app"); err == nil || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond) // polling the real cluster, with a deadline
			}
			readEventually(t, cl, "app", "v1")
		}
		standby := otherThan(3, leader)
		if got, err := c.Health(ctx, standby); err != nil || got != http.StatusTooManyRequests {
			t.Fatalf("Health(%d) = %d, %v; want 429", standby, got, err)
		}
		a := rawRead(ctx, hc, addrs[standby], "secret/data/app", c.RootToken, map[string]string{"X-Vault-No-Request-Forwarding": "true"})
		figure(t, "standby read with X-Vault-No-Request-Forwarding: true: %s", a)
		// Vault sends it to the active node (307); OpenBao's standbys may
		// serve a read themselves (200).
		redirected := a.status == http.StatusTemporaryRedirect && strings.HasPrefix(a.location, addrs[leader]+"/v1/secret/data/app")
		if !redirected && a.status != http.StatusOK {
			t.Fatalf("no-forwarding read on a standby: %s; want 307 to %s (or 200 served by the standby)", a, addrs[leader])
		}
	})
	if !ok {
		t.FailNow()
	}

	killed := leader
	ok = t.Run("KillLeader", func(t *testing.T) {
		survivor := otherThan(3, killed)
		// While the others elect a leader, a survivor is asked for the
		// secret again and again: its answers show a standby without one.
		stop := make(chan struct{})
		var answers []string
		var probes sync.WaitGroup
		probes.Go(func() {
			start := time.Now()
			last := ""
			for {
				select {
				case <-stop:
					return
				default:
				}
				pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				sent := time.Since(start)
				a := rawRead(pctx, hc, addrs[survivor], "secret/data/app", c.RootToken, nil)
				cancel()
				s := a.String()
				if a.status == http.StatusOK {
					s = "200 (the secret)"
				}
				if s != last {
					answers = append(answers, fmt.Sprintf("at +%s (took %s): %s", sent.Round(time.Millisecond), (time.Since(start)-sent).Round(time.Millisecond), s))
					last = s
				}
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond): // probing pace
				}
			}
		})
		killedAt := time.Now()
		if err := c.Kill(killed); err != nil {
			t.Fatal(err)
		}
		next, err := c.WaitLeader(ctx)
		failover := time.Since(killedAt)
		close(stop)
		probes.Wait()
		if err != nil {
			t.Fatal(err)
		}
		figure(t, "SIGKILL of the leader until a new leader serves sys/health 200: %s (node%d -> node%d)", failover.Round(time.Millisecond), killed, next)
		for _, a := range answers {
			figure(t, "standby node%d KV read after the leader's SIGKILL %s", survivor, a)
		}
		if next == killed {
			t.Fatalf("the killed node %d is the leader", killed)
		}
		readEventually(t, vaultClient(t, addrs[survivor], c.RootToken), "app", "v1")
		if got, err := c.Health(ctx, killed); err == nil {
			t.Fatalf("the killed node answers sys/health %d", got)
		}
		_, err = vaultClient(t, addrs[killed], c.RootToken).Read(vaulttest.Context(t), "secret/data/app")
		if !errors.Is(err, gdsvault.ErrConnection) {
			t.Fatalf("read from the killed node: %v, want ErrConnection", err)
		}
	})
	if !ok {
		t.FailNow()
	}

	ok = t.Run("RestartKilled", func(t *testing.T) {
		began := time.Now()
		if err := c.Restart(ctx, killed); err != nil {
			t.Fatal(err)
		}
		figure(t, "restart of the killed node until it reports 429 (standby): %s", time.Since(began).Round(time.Millisecond))
		if got, err := c.Health(ctx, killed); err != nil || got != http.StatusTooManyRequests {
			t.Fatalf("Health(%d) after Restart = %d, %v; want 429", killed, got, err)
		}
		readEventually(t, vaultClient(t, addrs[killed], c.RootToken), "app", "v1")
		// The write goes through the restarted standby to the active node.
		c.Server(killed).PutKV(t, "secret", "app", map[string]any{"k": "v2"})
		for i := range addrs {
			readEventually(t, vaultClient(t, addrs[i], c.RootToken), "app", "v2")
		}
		peers, err := c.Peers(ctx)
		if err != nil || len(peers) != 3 {
			t.Fatalf("raft peers after the restart = %+v, %v", peers, err)
		}
	})
	if !ok {
		t.FailNow()
	}

	ok = t.Run("StepDown", func(t *testing.T) {
		from, err := c.Leader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		to, err := c.StepDown(ctx, from)
		if err != nil {
			t.Fatal(err)
		}
		figure(t, "step-down until another node serves sys/health 200: %s (node%d -> node%d)", time.Since(began).Round(time.Millisecond), from, to)
		if to == from {
			t.Fatalf("leader stayed on node %d", from)
		}
		if got, err := c.Health(ctx, from); err != nil || got != http.StatusTooManyRequests {
			t.Fatalf("Health(%d) after its step-down = %d, %v; want 429", from, got, err)
		}
		if _, err := c.StepDown(ctx, from); err == nil {
			t.Fatal("StepDown on a standby: no error")
		}
		readEventually(t, vaultClient(t, addrs[from], c.RootToken), "app", "v2")
	})
	if !ok {
		t.FailNow()
	}

	t.Run("SealStandby", func(t *testing.T) {
		active, err := c.Leader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		standby := otherThan(3, active)
		began := time.Now()
		if err := c.Seal(ctx, standby); err != nil {
			t.Fatal(err)
		}
		figure(t, "Seal of a standby (a restart left sealed): %s", time.Since(began).Round(time.Millisecond))
		cl := vaultClient(t, addrs[standby], c.RootToken)
		for range 3 { // sealed it stays, while the others serve
			if got, err := c.Health(ctx, standby); err != nil || got != http.StatusServiceUnavailable {
				t.Fatalf("Health(%d) after Seal = %d, %v; want 503", standby, got, err)
			}
			if _, err := cl.Read(vaulttest.Context(t), "secret/data/app"); !errors.Is(err, gdsvault.ErrSealed) {
				t.Fatalf("read from the sealed standby: %v, want ErrSealed", err)
			}
			readEventually(t, vaultClient(t, addrs[active], c.RootToken), "app", "v2")
		}
		if err := c.Seal(ctx, standby); err != nil { // sealed already: nothing to do
			t.Fatal(err)
		}
		if err := c.Unseal(ctx, standby); err != nil {
			t.Fatal(err)
		}
		if got, err := c.Health(ctx, standby); err != nil || got != http.StatusTooManyRequests {
			t.Fatalf("Health(%d) after Unseal = %d, %v; want 429", standby, got, err)
		}
		readEventually(t, cl, "app", "v2")
	})

	t.Run("SealActive", func(t *testing.T) {
		active, err := c.Leader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		if err := c.Seal(ctx, active); err != nil {
			t.Fatal(err)
		}
		sealed := time.Since(began)
		next, err := c.WaitLeader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		figure(t, "Seal of the active node: sealed after %s, a new leader serves after %s (node%d -> node%d)",
			sealed.Round(time.Millisecond), time.Since(began).Round(time.Millisecond), active, next)
		if next == active {
			t.Fatalf("the sealed node %d is the leader", active)
		}
		act, err := c.Active(ctx)
		if err != nil || act.Addr != addrs[next] {
			t.Fatalf("Active = %v, %v; want node %d", act, err, next)
		}
		began = time.Now()
		if err := c.Unseal(ctx, active); err != nil {
			t.Fatal(err)
		}
		figure(t, "Unseal of the sealed former leader until it serves as a standby: %s", time.Since(began).Round(time.Millisecond))
		readEventually(t, vaultClient(t, addrs[active], c.RootToken), "app", "v2")
	})

	t.Run("NoQuorum", func(t *testing.T) {
		active, err := c.Leader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		standby := otherThan(3, active)
		survivor := otherThan(3, active, standby)
		killedAt := time.Now()
		if err := c.Kill(active); err != nil {
			t.Fatal(err)
		}
		if err := c.Kill(standby); err != nil {
			t.Fatal(err)
		}
		// The survivor, a standby, cannot elect a leader alone. Once its
		// last heartbeat to the dead active node is 10 s old, sys/health
		// says 474; its answer to a read then is a standby's without a
		// leader.
		// (OpenBao keeps saying 429: after 20 s the test goes on.)
		var answers []string
		last := ""
		says474 := false
		for time.Since(killedAt) < 20*time.Second {
			a := rawRead(ctx, hc, addrs[survivor], "secret/data/app", c.RootToken, nil)
			if s := a.String(); s != last {
				answers = append(answers, fmt.Sprintf("at +%s: %s", time.Since(killedAt).Round(time.Millisecond), s))
				last = s
			}
			status, err := c.Health(ctx, survivor)
			if err == nil && status == 474 {
				says474 = true
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("the survivor never said 474: %d, %v", status, err)
			case <-time.After(200 * time.Millisecond): // probing pace
			}
		}
		figure(t, "2 of 3 nodes killed: the survivor says sys/health 474: %t, after %s", says474, time.Since(killedAt).Round(time.Millisecond))
		for _, a := range answers {
			figure(t, "standby without a leader (quorum lost), KV read %s", a)
		}
		a := rawRead(ctx, hc, addrs[survivor], "secret/data/app", c.RootToken, nil)
		figure(t, "standby without a leader (sys/health 474), KV read: %s", a)
		if _, err := c.Leader(ctx); !errors.Is(err, vaulttest.ErrNoLeader) {
			t.Fatalf("Leader without quorum: %v, want ErrNoLeader", err)
		} else {
			t.Logf("Leader without quorum: %v", err)
		}
		_, err = vaultClient(t, addrs[survivor], c.RootToken).Read(vaulttest.Context(t), "secret/data/app")
		figure(t, "standby without a leader, gdsvault read: %v", err)
		if err == nil && says474 {
			// Vault's standby forwards reads and has no one to forward to;
			// an OpenBao standby may answer from its own copy.
			t.Fatal("a gdsvault read through a standby without a leader succeeded")
		}
		began := time.Now()
		if err := c.Restart(ctx, active); err != nil {
			t.Fatal(err)
		}
		figure(t, "quorum lost: restart of one node until a leader serves again: %s", time.Since(began).Round(time.Millisecond))
		if err := c.Restart(ctx, standby); err != nil {
			t.Fatal(err)
		}
		for i := range addrs {
			// A node that rejoined may redirect to the dead leader for a
			// moment (a one-address client refuses that): poll.
			cl := vaultClient(t, addrs[i], c.RootToken)
			deadline := time.Now().Add(30 * time.Second)
			for {
				_, err := cl.Read(vaulttest.Context(t), "secret/data/app")
				if err == nil || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond) // polling the real cluster, with a deadline
			}
			readEventually(t, cl, "app", "v2")
		}
	})

	for _, bad := range []int{-1, 3} {
		if err := c.Kill(bad); err == nil {
			t.Errorf("Kill(%d): no error", bad)
		}
		if _, err := c.Health(ctx, bad); err == nil {
			t.Errorf("Health(%d): no error", bad)
		}
	}
}

// readEventually reads secret/data/<path> through c until k is want (or 30 s
// pass): an OpenBao standby answers reads from its own copy, which follows
// the active node's writes a moment later; Vault's forward them.
func readEventually(t *testing.T, c *gdsvault.Client, path, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := c.Read(vaulttest.Context(t), "secret/data/"+path)
		if err == nil {
			if data, _ := s.Data["data"].(map[string]any); data["k"] == want {
				return
			}
		}
		if time.Now().After(deadline) {
			mustRead(t, c, path, want) // fails with what it found
			return
		}
		time.Sleep(50 * time.Millisecond) // polling the real cluster, with a deadline
	}
}

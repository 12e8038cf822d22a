package gdsvault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// fakeCluster is an in-memory Vault cluster for the node selection tests:
// each node is active, standby, sealed, down (connection refused) or a
// standby without an active node; standbys forward to the active node, as
// open-source Vault does.
type fakeCluster struct {
	mu      sync.Mutex
	state   map[string]string // host -> active, standby, sealed, down, leaderless
	hits    map[string]int    // host + " " + path -> requests
	tokens  map[string]int    // host -> requests that carried a token
	redir   string            // when set, standbys answer 307 to this Location instead of forwarding
	version int
}

func newFakeCluster(states ...string) *fakeCluster {
	f := &fakeCluster{state: map[string]string{}, hits: map[string]int{}, tokens: map[string]int{}}
	for i, s := range states {
		f.state[nodeHost(i)] = s
	}
	return f
}

func nodeHost(i int) string { return "node" + string(rune('a'+i)) + ":8200" }
func nodeAddr(i int) string { return "http://" + nodeHost(i) }

func (f *fakeCluster) set(i int, state string) {
	f.mu.Lock()
	f.state[nodeHost(i)] = state
	f.mu.Unlock()
}
func (f *fakeCluster) count(i int, path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[nodeHost(i)+" "+path]
}

func (f *fakeCluster) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	host, path := req.URL.Host, strings.TrimPrefix(req.URL.Path, "/v1/")
	f.hits[host+" "+path]++
	if req.Header.Get("X-Vault-Token") != "" {
		f.tokens[host]++
	}
	reply := func(status int, v any) (*http.Response, error) {
		b, _ := json.Marshal(v)
		h := http.Header{"Content-Type": {"application/json"}}
		return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(b)), Request: req}, nil
	}
	state, known := f.state[host]
	if !known || state == "down" {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	if path == "sys/health" {
		switch state {
		case "active":
			return reply(200, map[string]any{"initialized": true})
		case "standby":
			return reply(429, map[string]any{"standby": true, "ha_connection_healthy": true})
		case "leaderless":
			return reply(429, map[string]any{"standby": true, "ha_connection_healthy": false})
		}
		return reply(503, map[string]any{"sealed": true})
	}
	switch state {
	case "sealed":
		return reply(503, map[string]any{"errors": []string{"Vault is sealed"}})
	case "leaderless":
		return reply(500, map[string]any{"errors": []string{"local node not active but active cluster node not found"}})
	case "standby":
		if f.redir != "" {
			h := http.Header{"Location": {f.redir + req.URL.Path}}
			return &http.Response{StatusCode: 307, Header: h, Body: http.NoBody, Request: req}, nil
		}
		active := false
		for _, s := range f.state {
			active = active || s == "active"
		}
		if !active {
			return reply(500, map[string]any{"errors": []string{"local node not active but active cluster node not found"}})
		}
	}
	switch {
	case path == "auth/approle/login":
		return reply(200, map[string]any{"auth": map[string]any{"client_token": "hvs.cluster", "lease_duration": 3600, "renewable": true}})
	case req.Method == http.MethodPost:
		f.version++
		return reply(200, map[string]any{"data": map[string]any{"version": f.version}, "echo": len(body)})
	}
	return reply(200, map[string]any{"data": map[string]any{"k": "v"}})
}

func newClusterClient(t *testing.T, f *fakeCluster, n int, opts ...Option) *Client {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = nodeAddr(i)
	}
	base := []Option{WithAddresses(addrs...), WithTransport(f), WithLogger(slog.New(slog.DiscardHandler)), WithAuth(fakeLogin)}
	c, err := New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// TestNodesPreferTheActiveNode: the client finds the active node once, then
// reads cost no health probes.
func TestNodesPreferTheActiveNode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeCluster("standby", "active", "standby")
		c := newClusterClient(t, f, 3)
		if _, err := c.Read(context.Background(), "secret/data/x"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the search for the active node
		for range 100 {
			if _, err := c.Read(context.Background(), "secret/data/x"); err != nil {
				t.Fatal(err)
			}
		}
		probes := f.count(0, "sys/health") + f.count(1, "sys/health") + f.count(2, "sys/health")
		if c.Address() != nodeAddr(1) || f.count(1, "secret/data/x") < 100 || probes > 3 {
			t.Errorf("address %s, reads on the active node %d, health probes %d", c.Address(), f.count(1, "secret/data/x"), probes)
		}
	})
}

// TestNodesFailover: the active node dies; reads move to a standby at once
// (no failed read, no new login), the prober takes the node back when it
// returns, and the new active node is preferred.
func TestNodesFailover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeCluster("active", "standby", "standby")
		var nodeNotices []Notice
		var mu sync.Mutex
		o := &recordingObserver{}
		c := newClusterClient(t, f, 3, WithObserver(o))
		if _, err := c.Read(context.Background(), "secret/data/x"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		f.set(0, "down")
		f.set(1, "active") // elected at once in this test
		for i := range 20 {
			if _, err := c.Read(context.Background(), "secret/data/x"); err != nil {
				t.Fatalf("read %d after the active node died: %v", i, err)
			}
		}
		if got := f.count(0, "auth/approle/login") + f.count(1, "auth/approle/login") + f.count(2, "auth/approle/login"); got != 1 {
			t.Errorf("%d logins: a failover forced a new login", got)
		}
		synctest.Wait()
		if c.Address() != nodeAddr(1) {
			t.Errorf("uses %s, want the new active node", c.Address())
		}
		st := c.Nodes()
		if st[0].Up || !st[1].Active || !strings.Contains(st[0].Reason, "no answer") {
			t.Errorf("nodes: %+v", st)
		}
		f.set(0, "standby") // restarted, rejoined
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if st := c.Nodes(); !st[0].Up || c.Address() != nodeAddr(1) {
			t.Errorf("after the node came back: %+v, using %s", st, c.Address())
		}
		o.mu.Lock()
		for _, n := range o.notices {
			if n.Kind == NoticeNode {
				mu.Lock()
				nodeNotices = append(nodeNotices, n)
				mu.Unlock()
			}
		}
		o.mu.Unlock()
		if len(nodeNotices) == 0 || nodeNotices[0].From != nodeAddr(0) || nodeNotices[0].Reason == "" {
			t.Errorf("node notices: %+v", nodeNotices)
		}
	})
}

// TestNodesElection: while no node serves (an election), a read waits for
// the new active node instead of failing, within the failover timeout.
func TestNodesElection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeCluster("active", "standby", "standby")
		c := newClusterClient(t, f, 3, WithFailoverTimeout(10*time.Second))
		if _, err := c.Read(context.Background(), "secret/data/x"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		f.set(0, "down")
		f.set(1, "leaderless")
		f.set(2, "leaderless")
		go func() {
			time.Sleep(2 * time.Second) // the election takes 2 s
			f.set(2, "active")
			f.set(1, "standby")
		}()
		start := time.Now()
		if _, err := c.Read(context.Background(), "secret/data/x"); err != nil {
			t.Fatalf("read during the election: %v", err)
		}
		if took := time.Since(start); took < 2*time.Second || took > 2500*time.Millisecond {
			t.Errorf("the read took %v: want the election time plus a probe interval", took)
		}
		// A cluster that never recovers: the error comes after the timeout.
		f.set(1, "sealed")
		f.set(2, "down")
		start = time.Now()
		_, err := c.Read(context.Background(), "secret/data/x")
		if err == nil || time.Since(start) < 10*time.Second || time.Since(start) > 11*time.Second {
			t.Errorf("no node for good: %v after %v", err, time.Since(start))
		}
	})
}

// TestNodesRedirect: a standby's 307 is followed only to a configured node,
// by the client itself; the token never goes to another host.
func TestNodesRedirect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeCluster("standby", "active")
		f.redir = nodeAddr(1)
		c := newClusterClient(t, f, 2)
		if _, err := c.Read(context.Background(), "secret/data/x"); err != nil {
			t.Fatal(err)
		}
		if f.count(1, "secret/data/x") != 1 {
			t.Errorf("the redirect to a configured node was not followed")
		}
		f2 := newFakeCluster("standby", "standby")
		f2.redir = "http://evil.example:8200"
		f2.state["evil.example:8200"] = "active"
		c2 := newClusterClient(t, f2, 2, WithFailoverTimeout(time.Second))
		_, err := c2.Read(context.Background(), "secret/data/x")
		f2.mu.Lock()
		leaked := f2.tokens["evil.example:8200"]
		f2.mu.Unlock()
		if err == nil || leaked != 0 {
			t.Errorf("redirect to an unknown host: err %v, %d requests with a token went there", err, leaked)
		}
	})
}

// TestNodesSealedStandbyUnused: a sealed node gets no request until it is
// unsealed.
func TestNodesSealedStandbyUnused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeCluster("sealed", "active")
		c := newClusterClient(t, f, 2)
		for range 10 {
			if _, err := c.Read(context.Background(), "secret/data/x"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
		}
		if n := f.count(0, "secret/data/x"); n > 1 {
			t.Errorf("%d reads went to the sealed node", n)
		}
		f.set(0, "standby")
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if !c.Nodes()[0].Up {
			t.Errorf("the unsealed node was not taken back: %+v", c.Nodes())
		}
	})
}

// TestNodesWrites: a write goes to another node only when it certainly did
// not run (connection refused, sealed); a lost answer is ErrOutcomeUnknown.
func TestNodesWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeCluster("active", "standby")
		c := newClusterClient(t, f, 2)
		if _, err := c.Read(context.Background(), "secret/data/x"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		f.set(0, "sealed")
		f.set(1, "active")
		if _, err := c.Write(context.Background(), "secret/data/x", map[string]any{"data": map[string]any{"a": 1}}); err != nil {
			t.Fatalf("write after the active node was sealed: %v", err)
		}
		if f.count(0, "secret/data/x")+f.count(1, "secret/data/x") < 2 {
			t.Error("the write did not move")
		}
		reset := &lostAnswer{next: f}
		c2 := newClusterClient(t, f, 2, WithTransport(reset))
		_, err := c2.Write(context.Background(), "secret/data/y", map[string]any{"a": 1})
		if !errors.Is(err, ErrOutcomeUnknown) || reset.n != 1 {
			t.Errorf("lost answer: %v after %d sends", err, reset.n)
		}
	})
}

// lostAnswer loses the answer of every write (the connection resets after
// the request went out).
type lostAnswer struct {
	next http.RoundTripper
	n    int
}

func (l *lostAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && !strings.Contains(req.URL.Path, "login") {
		l.n++
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	return l.next.RoundTrip(req)
}

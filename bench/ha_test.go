package bench

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/vaulttest"
)

// TestHAScenario runs the HA scenario (about 80 s: a 3-node cluster, the
// leader killed at 15 s, restarted at 30 s, the next leader stepped down at
// 45 s, load until 60 s) and logs its table:
//
//	cd bench && go test -run TestHAScenario -v .
//
// It asserts what gdsvault promises — no failed read — and nothing about
// timings or about the peer.
func TestHAScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("a 3-node cluster under load for a minute")
	}
	res, err := RunHA(t.Context(), DefaultHAConfig(), t.Logf)
	if errors.Is(err, vaulttest.ErrNoBinary) && !vaulttest.Required() {
		t.Skip("no Vault binary: the scenario needs a real Vault (VAULTTEST_REQUIRED=1 makes this fail)")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("High availability: the leader killed under load\n\n%s", res.Markdown())
	for _, p := range res.Problems {
		t.Errorf("scenario step failed: %s", p)
	}
	if len(res.Clients) != 2 {
		t.Fatalf("%d clients measured, want 2", len(res.Clients))
	}
	for _, c := range res.Clients {
		if c.Reads == 0 || c.Writes == 0 {
			t.Errorf("%s: %d reads, %d writes", c.Name, c.Reads, c.Writes)
		}
	}
	if g := res.Clients[0]; g.FailedReads != 0 {
		t.Errorf("gdsvault: %d of %d reads failed; first: %s", g.FailedReads, g.Reads, g.FirstReadError)
	}
}

// TestHAMarkdown renders a result without a server.
func TestHAMarkdown(t *testing.T) {
	res := &HAResult{Config: DefaultHAConfig(), Killed: "node0", KilledWasLeader: true, KilledAt: 15 * time.Second, Election: 1300 * time.Millisecond,
		RestartedAt: 30 * time.Second, Restarted: 10 * time.Second, SteppedDownAt: 45 * time.Second, StepDownElected: 600 * time.Millisecond,
		SteppedDown: "node2", NewLeader: "node1", Duration: 60 * time.Second,
		Clients: []HAClient{
			{Name: "gdsvault", Setup: "three addresses", Reads: 40000, Writes: 900, LongestGap: 1400 * time.Millisecond, GapAt: 15 * time.Second,
				FirstReadAfterKill: 1400 * time.Millisecond, FirstWriteAfterKill: 1500 * time.Millisecond, ReadsWhileDown: 10000},
			{Name: "vault/api", Setup: "one address", Reads: 20000, FailedReads: 150, Writes: 500, FailedWrites: 20,
				LongestGap: 25 * time.Second, GapAt: 15 * time.Second, FirstReadAfterKill: 25 * time.Second, FirstWriteAfterKill: -1,
				FailedWhileDown: 150, FirstReadError: "Get \"http://127.0.0.1:1/v1/secret/data/myapp/config\": dial tcp | refused\n"},
		},
		Problems: []string{"step down node2: timeout"},
	}
	md := res.Markdown()
	for _, want := range []string{
		"| | gdsvault | vault/api |\n|---|---|---|\n",
		"| failed reads | **0** (0.0%) | **150** (0.8%) |",
		"| longest time without a successful read | **1.4 s** (from 15.0 s) | **25.0 s** (from 15.0 s) |",
		"| reads begun while node0 was down (15.0 s → 40.0 s): served / failed | 10,000 / 0 | 0 / 150 |",
		"| first successful write after the kill | 1.5 s | never |",
		"dial tcp / refused`",
		"node0 (the leader) killed with SIGKILL at 15.0 s",
		"Steps of the scenario that failed: step down node2: timeout.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the table lacks %q:\n%s", want, md)
		}
	}
}

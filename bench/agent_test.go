package bench

import (
	"strings"
	"testing"
	"time"
)

// TestAgentTargets checks the goals against Vault Agent and the section's
// table without a server.
func TestAgentTargets(t *testing.T) {
	runs := func(start time.Duration, rss int64, counts ...[2]int) []AgentRun {
		var rs []AgentRun
		for _, c := range counts {
			rs = append(rs, AgentRun{Start: start, PeakRSS: rss, Idle: c[0], Change: c[1], Noticed: time.Second})
		}
		return rs
	}
	once := [2]int{0, 1}
	res := &AgentResult{Config: AgentConfig{Runs: 3, Refresh: time.Second, Debounce: 500 * time.Millisecond, Window: 3 * time.Second},
		Exec: AgentMode{
			Gds:   agentSide(runs(10*time.Millisecond, 12*1024, once, once, once)),
			Vault: agentSide(runs(2*time.Second, 144*1024, once, once, once)),
		},
		Template: AgentMode{
			Gds:   agentSide(runs(20*time.Millisecond, 16*1024, once, [2]int{1, 1}, once)), // a write with nothing changed
			Vault: agentSide(runs(60*time.Millisecond, 144*1024, once, once, [2]int{0, 2})),
		},
	}
	got := map[string]Target{}
	for _, tg := range res.targets() {
		got[tg.Key] = tg
	}
	for key, met := range map[string]bool{
		"agent-exec-start": true, "agent-exec-rss": true, "agent-exec-restarts": true,
		"agent-template-start": false, "agent-template-rss": false, "agent-template-restarts": false,
	} {
		tg, ok := got[key]
		if !ok {
			t.Errorf("no target %s", key)
			continue
		}
		if tg.Met != met {
			t.Errorf("%s: met %v, want %v (%s; %s)", key, tg.Met, met, tg.Measured, tg.Margin)
		}
	}
	if len(got) != 6 {
		t.Errorf("%d targets, want 6", len(got))
	}
	if m := got["agent-exec-start"].Measured; m != "200.0× (10.0 ms vs 2000.0 ms)" {
		t.Errorf("exec start: %q", m)
	}
	if m := got["agent-template-restarts"].Margin; m != "2 of 3 exact (Vault Agent: 2 of 3)" {
		t.Errorf("template restarts margin: %q", m)
	}
	md := res.Markdown("Vault v1.21.0")
	for _, want := range []string{
		"| **exec**: start → program running with its secret, median | 10.0 ms | 2000.0 ms | 200.0× |",
		"| peak memory of the supervisor (VmHWM), median | 12.0 MiB | 144.0 MiB | 12.0× |",
		"| writes while nothing changed, each run | 0, 1, 0 | 0, 0, 0 | |",
		"| writes for one change, each run | 1, 1, 1 | 1, 1, 2 | |",
		"`vault agent` of the lab's Vault binary, Vault v1.21.0",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the section lacks %q:\n%s", want, md)
		}
	}
}

func TestVmHWM(t *testing.T) {
	if n := vmHWM(1 << 30); n != -1 {
		t.Errorf("vmHWM of no process: %d, want -1", n)
	}
}

package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/vaulttest"
)

// TestSmoke runs every measurement with tiny counts (a few reads, three CLI
// runs, one run of each supervisor against Vault Agent; not the HA
// scenario, nor section 9, which bench/observe measures) and checks that each produced figures and that the report renders.
// It asserts nothing about timings: the figures of a smoke run mean
// nothing.
func TestSmoke(t *testing.T) {
	vaulttest.RequireBinary(t)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	gds, err := FindGdsvault()
	if err != nil {
		// Build it rather than depend on `make build` having run.
		if gds, err = BuildGdsvault(ctx, t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	cfg := SmokeConfig()
	cfg.Logf = t.Logf
	r, err := Run(ctx, cfg, gds)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Failures {
		t.Errorf("measurement failed: %s", f)
	}
	if t.Failed() {
		return
	}

	positive := func(name string, v float64) {
		t.Helper()
		if !(v > 0) {
			t.Errorf("%s = %v, want a positive figure", name, v)
		}
	}
	u := r.Uncached
	for _, l := range []struct {
		name string
		l    Latency
	}{{"seq gdsvault", u.Seq.Gds}, {"seq vault/api", u.Seq.Peer}, {"par gdsvault", u.Par.Gds}, {"par vault/api", u.Par.Peer}, {"par vault/api default pool", *u.PeerDefaultPool}} {
		positive(l.name+" reads", float64(l.l.Reads))
		positive(l.name+" p50", float64(l.l.P50))
		positive(l.name+" p99", float64(l.l.P99))
		positive(l.name+" reads/s", l.l.PerSec)
		positive(l.name+" allocs/read", l.l.AllocsPerRead)
	}
	c := r.Cached
	for _, h := range []struct {
		name string
		h    Hits
	}{{"field seq", c.Field.Seq}, {"field par", c.Field.Par}, {"get seq", c.Get.Seq}, {"get par", c.Get.Par}} {
		positive("cached "+h.name+" hits", float64(h.h.Hits))
		positive("cached "+h.name+" p50", float64(h.h.P50))
		positive("cached "+h.name+" hits/s", h.h.PerSec)
	}
	positive("cached field scaling", c.Field.Scaling)
	s := r.Stampede
	if len(s.DataGETs) != cfg.StampedeTrials || len(s.WarmMountDataGETs) != cfg.StampedeTrials {
		t.Errorf("stampede: %d and %d trials, want %d each", len(s.DataGETs), len(s.WarmMountDataGETs), cfg.StampedeTrials)
	}
	for _, n := range s.DataGETs {
		positive("stampede data GETs", float64(n))
	}
	m := r.Memory
	// HeapInuse moves by whole pages and can come out at 0 or a page
	// below for a few secrets; the live bytes cannot.
	positive("memory live heap", float64(m.HeapAlloc))
	if m.Cached != cfg.MemSecrets {
		t.Errorf("memory: %d secrets found cached, want %d", m.Cached, cfg.MemSecrets)
	}
	for _, cl := range []struct {
		name string
		r    *CLIResult
	}{{"CLI token", r.CLI}, {"CLI AppRole", r.AppRole}} {
		for _, p := range []struct {
			name string
			s    ProcStats
		}{{"gdsvault", cl.r.Gds}, {"vault", cl.r.Vault}} {
			if p.s.Runs != cfg.CLI.Runs {
				t.Errorf("%s %s: %d runs, want %d", cl.name, p.name, p.s.Runs, cfg.CLI.Runs)
			}
			positive(cl.name+" "+p.name+" wall", float64(p.s.Wall))
			positive(cl.name+" "+p.name+" max RSS", float64(p.s.MaxRSS))
		}
	}
	for _, m := range []struct {
		name string
		m    AgentMode
	}{{"exec", r.Agent.Exec}, {"template", r.Agent.Template}} {
		for _, side := range []struct {
			name string
			s    AgentSide
		}{{"gdsvault", m.m.Gds}, {"vault agent", m.m.Vault}} {
			if len(side.s.Runs) != cfg.Agent.Runs {
				t.Errorf("agent %s, %s: %d runs, want %d", m.name, side.name, len(side.s.Runs), cfg.Agent.Runs)
			}
			positive("agent "+m.name+" "+side.name+" start", float64(side.s.Start))
			positive("agent "+m.name+" "+side.name+" peak RSS", float64(side.s.PeakRSS))
			for _, run := range side.s.Runs {
				positive("agent "+m.name+" "+side.name+" restarts or writes per change", float64(run.Change))
			}
		}
	}
	positive("machine cores", float64(r.Machine.Cores))
	if r.Machine.VaultVersion == "" || r.Machine.GoVersion == "" {
		t.Errorf("machine: %+v", r.Machine)
	}

	if got := len(r.Targets()); got != 21 {
		t.Errorf("%d targets checked, want 21", got)
	}
	md := r.Markdown()
	for _, want := range []string{"## Targets", "## 1. Uncached", "## 2. Cached reads", "## 3. Cold-cache", "## 4. Memory",
		"## 5. The command line", "## 6. The command line", "## 8. Supervising a program", "## 9. Observers", "## Findings", r.Machine.CPU, r.Machine.VaultVersion} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s", md)
	}
}

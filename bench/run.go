package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Config sizes a whole run.
type Config struct {
	Uncached UncachedConfig
	Cached   CachedConfig

	StampedeGoroutines, StampedeTrials int
	StampedeTimeout                    time.Duration

	MemSecrets, MemGoroutines int
	MemTimeout                time.Duration

	CLI, AppRole CLIConfig

	// HA is the leader-kill scenario on a 3-node cluster (zero End: not run).
	HA HAConfig

	// Agent is the comparison with Vault Agent (zero Runs: not run).
	Agent AgentConfig

	// Only, when not empty, names the measurements to run: uncached,
	// cached, stampede, memory, cli, approle, ha, agent.
	Only map[string]bool

	// Logf reports progress (nil: silent).
	Logf func(format string, args ...any)
}

func (c Config) wants(name string) bool { return len(c.Only) == 0 || c.Only[name] }

// DefaultConfig is what `make bench` runs (about five minutes on 2 cores,
// two and a half of them the comparison with Vault Agent; every loop is
// also bounded in time, under the 15-minute default timeout of cmd/bench).
func DefaultConfig() Config {
	return Config{
		Uncached: UncachedConfig{Rounds: 10, SeqReads: 2000, ParReads: 8000, Goroutines: 16, Warmup: 500,
			BlockTimeout: 15 * time.Second, PeerDefaultRounds: 4},
		Cached:             CachedConfig{Goroutines: 16, Batch: 1000, Samples: 200, Rounds: 10, Timeout: 60 * time.Second},
		StampedeGoroutines: 1000, StampedeTrials: 10, StampedeTimeout: 30 * time.Second,
		MemSecrets: 10000, MemGoroutines: 16, MemTimeout: 3 * time.Minute,
		CLI:     CLIConfig{Runs: 31, Warmup: 2, Timeout: 30 * time.Second, Total: 2 * time.Minute},
		AppRole: CLIConfig{Runs: 31, Warmup: 2, Timeout: 30 * time.Second, Total: 2 * time.Minute},
		HA:      DefaultHAConfig(),
		Agent: AgentConfig{Runs: 5, Refresh: time.Second, Debounce: 500 * time.Millisecond, Window: 3 * time.Second,
			Timeout: 2 * time.Minute, Total: 6 * time.Minute},
	}
}

// SmokeConfig runs every measurement with tiny counts.
func SmokeConfig() Config {
	return Config{
		Uncached: UncachedConfig{Rounds: 2, SeqReads: 20, ParReads: 32, Goroutines: 4, Warmup: 8,
			BlockTimeout: 10 * time.Second, PeerDefaultRounds: 1},
		Cached:             CachedConfig{Goroutines: 4, Batch: 10, Samples: 5, Rounds: 2, Timeout: 10 * time.Second},
		StampedeGoroutines: 20, StampedeTrials: 1, StampedeTimeout: 10 * time.Second,
		MemSecrets: 100, MemGoroutines: 4, MemTimeout: 30 * time.Second,
		CLI:     CLIConfig{Runs: 3, Warmup: 0, Timeout: 20 * time.Second, Total: time.Minute},
		AppRole: CLIConfig{Runs: 3, Warmup: 0, Timeout: 20 * time.Second, Total: time.Minute},
		Agent: AgentConfig{Runs: 1, Refresh: time.Second, Debounce: 200 * time.Millisecond, Window: 1500 * time.Millisecond,
			Timeout: time.Minute, Total: 2 * time.Minute},
	}
}

// Machine describes where the figures were taken.
type Machine struct {
	CPU          string
	Cores        int
	GOMAXPROCS   int
	GoVersion    string
	OSArch       string
	VaultVersion string
	PeerVersion  string
	Kernel       string
}

// Report is everything one run measured.
type Report struct {
	Date     time.Time
	Machine  Machine
	Config   Config
	Duration time.Duration

	Uncached *UncachedResult
	Cached   *CachedResult
	Stampede *StampedeResult
	Memory   *MemoryResult
	CLI      *CLIResult
	AppRole  *CLIResult
	HA       *HAResult
	Agent    *AgentResult
	// Observers come from bench/observe (cmd/bench -observe), not from Run.
	Observers *ObserverResult

	// RSSFloorKiB is the peak memory the rusage helper reports for
	// /bin/true: the floor of the CLI peak-memory figures.
	RSSFloorKiB int64

	// Failures are the measurements that failed, with why.
	Failures []string
}

// Run starts a lab, runs every measurement and stops the lab. A failed
// measurement is recorded in Report.Failures and the others still run; the
// error is only for a lab that cannot start.
func Run(ctx context.Context, cfg Config, gdsBin string) (*Report, error) {
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	start := time.Now()
	lab, err := StartLab(ctx)
	if err != nil {
		return nil, err
	}
	defer lab.Close()
	var tmpDirs []string
	defer func() {
		for _, d := range tmpDirs {
			os.RemoveAll(d)
		}
	}()
	r := &Report{Date: start.UTC(), Config: cfg, Machine: machine(lab.VaultVersion)}
	logf("%s at %s; gdsvault CLI %s", lab.VaultVersion, lab.Addr, gdsBin)

	// step runs one measurement (key: its name for Config.Only).
	step := func(key, name string, f func() error) {
		if key != "" && !cfg.wants(key) {
			return
		}
		if ctx.Err() != nil {
			r.Failures = append(r.Failures, name+": "+ctx.Err().Error())
			return
		}
		t0 := time.Now()
		logf("%s ...", name)
		if err := f(); err != nil {
			r.Failures = append(r.Failures, name+": "+err.Error())
			logf("%s FAILED: %v", name, err)
			return
		}
		logf("%s done in %s", name, time.Since(t0).Round(time.Millisecond))
	}
	step("uncached", "uncached reads", func() (err error) { r.Uncached, err = lab.Uncached(ctx, cfg.Uncached); return })
	step("cached", "cached hits", func() (err error) { r.Cached, err = lab.Cached(ctx, cfg.Cached); return })
	step("stampede", "stampede", func() (err error) {
		r.Stampede, err = lab.Stampede(ctx, cfg.StampedeGoroutines, cfg.StampedeTrials, cfg.StampedeTimeout)
		return
	})
	step("memory", "memory", func() (err error) {
		r.Memory, err = lab.Memory(ctx, cfg.MemSecrets, cfg.MemGoroutines, cfg.MemTimeout)
		return
	})
	var runner *Runner
	if cfg.wants("cli") || cfg.wants("approle") {
		step("", "building the rusage helper", func() error {
			dir, err := os.MkdirTemp("", "gdsvault-bench-")
			if err != nil {
				return err
			}
			tmpDirs = append(tmpDirs, dir)
			runner, err = NewRunner(ctx, dir)
			if err != nil {
				return err
			}
			r.RSSFloorKiB = runner.FloorKiB
			return nil
		})
	}
	if runner != nil {
		step("cli", "CLI, token", func() (err error) { r.CLI, err = lab.CLIToken(ctx, runner, gdsBin, cfg.CLI); return })
		step("approle", "CLI, AppRole", func() (err error) { r.AppRole, err = lab.CLIAppRole(ctx, runner, gdsBin, cfg.AppRole); return })
	}
	if cfg.HA.End > 0 {
		step("ha", "HA: leader killed under load", func() (err error) { r.HA, err = RunHA(ctx, cfg.HA, logf); return })
	}
	if cfg.Agent.Runs > 0 {
		step("agent", "exec and templates against Vault Agent", func() (err error) { r.Agent, err = lab.Agent(ctx, gdsBin, cfg.Agent); return })
	}
	r.Duration = time.Since(start)
	return r, nil
}

func machine(vaultVersion string) Machine {
	m := Machine{Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		OSArch: runtime.GOOS + "/" + runtime.GOARCH, VaultVersion: vaultVersion, PeerVersion: "v1.22.0", CPU: "unknown"}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/hashicorp/vault/api" {
				m.PeerVersion = d.Version
			}
		}
	}
	return m
}

// String is a one-line summary for logs.
func (m Machine) String() string {
	return fmt.Sprintf("%s, %d cores, %s, %s, vault/api %s", m.CPU, m.Cores, m.GoVersion, m.VaultVersion, m.PeerVersion)
}

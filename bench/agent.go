package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gdsvault/gdsvault/vaulttest"
)

// The secret the supervisors hand out, changed once per run. The lab's
// policy lets the role myapp read it.
const (
	agentPath    = "secret/data/myapp/agent"
	agentCLIPath = "secret/myapp/agent"
	agentKey     = "db_pass"
)

// agentSleep is the program's sleep: long enough for any run, short
// enough that a program its supervisor failed to stop does not linger.
const agentSleep = "600"

// AgentConfig sizes the comparison of `gdsvault exec` and `gdsvault agent`
// with Vault Agent's exec mode and templates.
type AgentConfig struct {
	// Runs of each supervisor per mode, gdsvault and Vault Agent
	// alternated (the order swapped every run).
	Runs int
	// Refresh is how often both read the secret again (gdsvault's
	// -refresh or refresh:, Vault Agent's static_secret_render_interval).
	Refresh time.Duration
	// Debounce is gdsvault exec's -debounce.
	Debounce time.Duration
	// Window is how long a run watches with nothing changed, and again
	// after the one change.
	Window time.Duration
	// Timeout bounds a run's wait for the first start, and for the change.
	Timeout time.Duration
	// Total bounds the whole comparison: a round (one run of each
	// supervisor) not finished by then is left out, unless it is the
	// first.
	Total time.Duration
}

// AgentRun is one run of one supervisor.
type AgentRun struct {
	// Start is the time from starting the supervisor to its program
	// running with the secret (its first line) or the file rendered.
	Start time.Duration
	// PeakRSS is the supervisor's peak resident set in KiB (VmHWM), read
	// before it is stopped; its program is not counted.
	PeakRSS int64
	// Idle counts the restarts (or writes) while nothing changed; Change
	// those that followed the one change.
	Idle, Change int
	// Noticed is the time from the change written in Vault to the first
	// restart (or write) with it.
	Noticed time.Duration
}

// AgentSide is the runs of one supervisor in one mode.
type AgentSide struct {
	Runs []AgentRun
	// Start, Noticed and PeakRSS are medians; StartMin the fastest start.
	Start, StartMin, Noticed time.Duration
	PeakRSS                  int64
}

func agentSide(runs []AgentRun) AgentSide {
	s := AgentSide{Runs: runs}
	var starts, noticed []time.Duration
	var rss []int64
	for _, r := range runs {
		starts, noticed, rss = append(starts, r.Start), append(noticed, r.Noticed), append(rss, r.PeakRSS)
	}
	if len(runs) > 0 {
		s.StartMin = slices.Min(starts)
	}
	s.Start, s.Noticed, s.PeakRSS = median(starts), median(noticed), median(rss)
	return s
}

// Idle and Change list each run's restarts (or writes).
func (s AgentSide) Idle() []int   { return s.counts(func(r AgentRun) int { return r.Idle }) }
func (s AgentSide) Change() []int { return s.counts(func(r AgentRun) int { return r.Change }) }

func (s AgentSide) counts(f func(AgentRun) int) []int {
	out := make([]int, len(s.Runs))
	for i, r := range s.Runs {
		out[i] = f(r)
	}
	return out
}

// exactlyOnce says that every run restarted (or wrote) once for the
// change and never while nothing changed.
func (s AgentSide) exactlyOnce() bool {
	for _, r := range s.Runs {
		if r.Idle != 0 || r.Change != 1 {
			return false
		}
	}
	return len(s.Runs) > 0
}

// AgentMode is one comparison: gdsvault exec with Vault Agent's exec mode,
// or gdsvault agent's templates with Vault Agent's.
type AgentMode struct {
	Gds, Vault AgentSide
	// How each was run, as the report shows it: the command lines, and
	// the configuration files (GdsConfig: none for exec).
	GdsCmd, GdsConfig, VaultCmd, VaultConfig string
}

// AgentResult is the comparison with Vault Agent.
type AgentResult struct {
	Config         AgentConfig
	Exec, Template AgentMode
}

// supervisor is one side of one mode: how to start it, and what it does
// that the run counts.
type supervisor struct {
	name string
	// command builds the process, with the AppRole credentials in
	// roleFile and secretFile, its program's report (exec) or its
	// destination (templates) at out.
	command func(roleFile, secretFile, out string) (*exec.Cmd, error)
	// watch returns what the run polls at out.
	watch func(out string) watcher
}

// watcher reports, each time it is polled, the values the program was
// started with (one per start) or the file was written with (one per
// write), from the first.
type watcher interface {
	poll() []string
	// leftovers are processes the supervisor started that may outlive it.
	leftovers() []int
}

// agentBench is one comparison in progress.
type agentBench struct {
	lab     *Lab
	cfg     AgentConfig
	gdsBin  string
	dir     string
	version int // the value's version: "v<version>"
}

// Agent compares, on the lab's Vault, `gdsvault exec` with Vault Agent's
// exec mode (env_template and exec stanzas) and `gdsvault agent`'s
// templates with Vault Agent's, as whole processes: both log in with
// AppRole and read agentPath again every cfg.Refresh. Vault Agent is
// `vault agent` of the lab's Vault binary.
func (l *Lab) Agent(ctx context.Context, gdsBin string, cfg AgentConfig) (*AgentResult, error) {
	if cfg.Runs < 1 || cfg.Refresh <= 0 || cfg.Window <= 0 || cfg.Timeout <= 0 {
		return nil, fmt.Errorf("agent: need runs, refresh, window and timeout, got %+v", cfg)
	}
	parent := ctx
	if cfg.Total > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Total)
		defer cancel()
	}
	dir, err := os.MkdirTemp("", "gdsvault-bench-agent-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	a := &agentBench{lab: l, cfg: cfg, gdsBin: gdsBin, dir: dir}
	if err := a.write(ctx); err != nil {
		return nil, err
	}
	// As the report shows them: the files' paths are placeholders.
	program := agentProgram("REPORT")
	res := &AgentResult{Config: cfg,
		Exec: AgentMode{GdsCmd: "gdsvault " + shellJoin(a.execArgs(program...)),
			VaultCmd: "vault agent -config=agent.hcl", VaultConfig: a.vaultExecHCL("ADDR", "ROLE_ID_FILE", "SECRET_ID_FILE", program)},
		Template: AgentMode{GdsCmd: "gdsvault agent agent.yaml", GdsConfig: a.gdsTemplateYAML("DESTINATION"),
			VaultCmd: "vault agent -config=agent.hcl", VaultConfig: a.vaultTemplateHCL("ADDR", "ROLE_ID_FILE", "SECRET_ID_FILE", "DESTINATION")},
	}

	modes := []struct {
		mode  *AgentMode
		sides [2]supervisor
	}{
		{&res.Exec, [2]supervisor{a.gdsExec(), a.vaultExec()}},
		{&res.Template, [2]supervisor{a.gdsTemplate(), a.vaultTemplate()}},
	}
	runs := make([][2][]AgentRun, len(modes))
	// round runs every supervisor once, gdsvault or Vault Agent first.
	round := func(i int) error {
		for m, mode := range modes {
			for k := range 2 {
				side := (i + k) % 2
				r, err := a.run(ctx, mode.sides[side], i)
				if err != nil {
					return err
				}
				runs[m][side] = append(runs[m][side], r)
			}
		}
		return nil
	}
	for i := range cfg.Runs {
		err := round(i)
		if err != nil && i > 0 && parent.Err() == nil && ctx.Err() != nil {
			// Out of cfg.Total: keep the whole rounds.
			for m := range runs {
				runs[m][0], runs[m][1] = runs[m][0][:i], runs[m][1][:i]
			}
			break
		}
		if err != nil {
			return nil, err
		}
	}
	for m, mode := range modes {
		mode.mode.Gds, mode.mode.Vault = agentSide(runs[m][0]), agentSide(runs[m][1])
	}
	return res, nil
}

// value is the secret's current value.
func (a *agentBench) value() string { return "v" + strconv.Itoa(a.version) }

// write writes the current value in Vault.
func (a *agentBench) write(ctx context.Context) error {
	_, err := a.lab.Server.Do(ctx, "POST", agentPath, map[string]any{"data": map[string]any{agentKey: a.value(), "other": "x"}})
	if err != nil {
		return fmt.Errorf("writing %s: %w", agentPath, err)
	}
	return nil
}

// run runs one supervisor once: start it, wait for its program's first
// start (or the file) with the current value, watch a window with nothing
// changed, change the value, wait for it to arrive, watch a window, read
// the supervisor's peak memory, stop it.
func (a *agentBench) run(ctx context.Context, sup supervisor, i int) (AgentRun, error) {
	fail := func(format string, args ...any) (AgentRun, error) {
		return AgentRun{}, fmt.Errorf("%s, run %d: %s", sup.name, i+1, fmt.Sprintf(format, args...))
	}
	base := filepath.Join(a.dir, strings.ReplaceAll(sup.name, " ", "-")+"-"+strconv.Itoa(i))
	sid, err := a.lab.NewSecretID(ctx)
	if err != nil {
		return fail("%v", err)
	}
	roleFile, secretFile, out := base+".role-id", base+".secret-id", base+".out"
	if err := errors.Join(os.WriteFile(roleFile, []byte(a.lab.RoleID), 0o600), os.WriteFile(secretFile, []byte(sid), 0o600)); err != nil {
		return fail("%v", err)
	}
	cmd, err := sup.command(roleFile, secretFile, out)
	if err != nil {
		return fail("%v", err)
	}
	var logs vaulttest.LogBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	w := sup.watch(out)
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return fail("%v", err)
	}
	defer stopSupervisor(cmd, w)
	failLogs := func(what string) (AgentRun, error) {
		if ctx.Err() != nil {
			what += " (" + ctx.Err().Error() + ")"
		}
		return fail("%s; its output ends:\n%s", what, tail(logs.String(), 2000))
	}

	if !waitFor(ctx, w, func(n int) bool { return n > 0 }, t0.Add(a.cfg.Timeout)) {
		return failLogs(fmt.Sprintf("no start with the secret within %s", a.cfg.Timeout))
	}
	r := AgentRun{Start: time.Since(t0)}
	if got := w.poll()[0]; got != a.value() {
		return failLogs(fmt.Sprintf("first started with %q, want %q", got, a.value()))
	}
	waitFor(ctx, w, never, time.Now().Add(a.cfg.Window))
	before := len(w.poll())
	r.Idle = before - 1

	a.version++
	if err := a.write(ctx); err != nil {
		return fail("%v", err)
	}
	changed := time.Now()
	if !waitFor(ctx, w, func(n int) bool { return n > before }, changed.Add(a.cfg.Timeout)) {
		return failLogs(fmt.Sprintf("the change did not arrive within %s", a.cfg.Timeout))
	}
	r.Noticed = time.Since(changed)
	waitFor(ctx, w, never, time.Now().Add(a.cfg.Window))
	vals := w.poll()
	r.Change = len(vals) - before
	if last := vals[len(vals)-1]; last != a.value() {
		return failLogs(fmt.Sprintf("last started with %q, want %q", last, a.value()))
	}
	if r.PeakRSS = vmHWM(cmd.Process.Pid); r.PeakRSS <= 0 {
		return failLogs("no VmHWM in /proc (did it exit?)")
	}
	if ctx.Err() != nil { // the windows were cut short
		return fail("%v", ctx.Err())
	}
	return r, nil
}

func never(int) bool { return false }

// plural prints n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// shellJoin quotes args for a shell where they need it.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$;&|<>()*?`\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

// waitFor polls w every millisecond until done says yes for the number of
// values seen (true), until, or ctx ends (false).
func waitFor(ctx context.Context, w watcher, done func(n int) bool, until time.Time) bool {
	for {
		if done(len(w.poll())) {
			return true
		}
		if ctx.Err() != nil || time.Now().After(until) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
}

// stopSupervisor asks cmd to stop (SIGTERM, as a service manager would),
// kills it after 20 s, then kills what it started and left behind.
func stopSupervisor(cmd *exec.Cmd, w watcher) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	for _, pid := range w.leftovers() {
		// Only our program: its PID may have been reused.
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && string(b) == "sleep\x00"+agentSleep+"\x00" {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// vmHWM is a process's peak resident set in KiB, from /proc (-1: unknown).
// Unlike getrusage's ru_maxrss it starts afresh at exec, so the benchmark's
// own memory is not counted (see cmd/rusage).
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// agentProgram is the program both exec modes run: at each start it
// appends its PID and the secret to report, then sleeps (exec keeps the
// PID).
func agentProgram(report string) []string {
	return []string{"/bin/sh", "-c", `echo "$$ $DB_PASS" >> ` + report + `; exec sleep ` + agentSleep}
}

// starts reads the program's report: one line per start.
type starts struct {
	path string
	pids []int
}

func (s *starts) poll() []string {
	b, _ := os.ReadFile(s.path)
	var vals []string
	s.pids = s.pids[:0]
	for l := range strings.Lines(string(b)) {
		if !strings.HasSuffix(l, "\n") {
			break // being written
		}
		pid, v, _ := strings.Cut(strings.TrimSuffix(l, "\n"), " ")
		if n, err := strconv.Atoi(pid); err == nil {
			s.pids = append(s.pids, n)
		}
		vals = append(vals, v)
	}
	return vals
}

func (s *starts) leftovers() []int { s.poll(); return s.pids }

// writes watches a rendered file: a write is a new inode, size or
// modification time; its value is what follows "pass=".
type writes struct {
	path string
	last struct {
		ino  uint64
		size int64
		mod  time.Time
	}
	vals []string
}

func (w *writes) poll() []string {
	fi, err := os.Stat(w.path)
	if err != nil {
		return w.vals
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	var ino uint64
	if st != nil {
		ino = st.Ino
	}
	if ino == w.last.ino && fi.Size() == w.last.size && fi.ModTime().Equal(w.last.mod) {
		return w.vals
	}
	w.last.ino, w.last.size, w.last.mod = ino, fi.Size(), fi.ModTime()
	b, err := os.ReadFile(w.path)
	if err != nil {
		return w.vals
	}
	w.vals = append(w.vals, strings.TrimPrefix(string(bytes.TrimSpace(b)), "pass="))
	return w.vals
}

func (w *writes) leftovers() []int { return nil }

func (a *agentBench) gdsEnv(roleFile, secretFile string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + a.dir, "VAULT_ADDR=" + a.lab.Addr, "VAULT_AUTH_METHOD=approle",
		"VAULT_ROLE_ID_FILE=" + roleFile, "VAULT_SECRET_ID_FILE=" + secretFile}
}

func (a *agentBench) vaultEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + a.dir}
}

func (a *agentBench) execArgs(program ...string) []string {
	return append([]string{"exec", "-refresh", a.cfg.Refresh.String(), "-debounce", a.cfg.Debounce.String(),
		"-secret", "DB_PASS=" + agentCLIPath + "#" + agentKey, "--"}, program...)
}

func (a *agentBench) gdsExec() supervisor {
	return supervisor{name: "gdsvault exec",
		command: func(roleFile, secretFile, out string) (*exec.Cmd, error) {
			cmd := exec.Command(a.gdsBin, a.execArgs(agentProgram(out)...)...)
			cmd.Env = a.gdsEnv(roleFile, secretFile)
			return cmd, nil
		},
		watch: func(out string) watcher { return &starts{path: out} }}
}

func (a *agentBench) vaultExec() supervisor {
	return supervisor{name: "vault agent exec",
		command: func(roleFile, secretFile, out string) (*exec.Cmd, error) {
			return a.vaultAgent(out+".hcl", a.vaultExecHCL(a.lab.Addr, roleFile, secretFile, agentProgram(out)))
		},
		watch: func(out string) watcher { return &starts{path: out} }}
}

func (a *agentBench) gdsTemplate() supervisor {
	return supervisor{name: "gdsvault agent",
		command: func(roleFile, secretFile, out string) (*exec.Cmd, error) {
			cfg := out + ".yaml"
			if err := os.WriteFile(cfg, []byte(a.gdsTemplateYAML(out)), 0o600); err != nil {
				return nil, err
			}
			cmd := exec.Command(a.gdsBin, "agent", cfg)
			cmd.Env = a.gdsEnv(roleFile, secretFile)
			return cmd, nil
		},
		watch: func(out string) watcher { return &writes{path: out} }}
}

func (a *agentBench) vaultTemplate() supervisor {
	return supervisor{name: "vault agent template",
		command: func(roleFile, secretFile, out string) (*exec.Cmd, error) {
			return a.vaultAgent(out+".hcl", a.vaultTemplateHCL(a.lab.Addr, roleFile, secretFile, out))
		},
		watch: func(out string) watcher { return &writes{path: out} }}
}

// vaultAgent writes hcl to cfg and returns `vault agent -config=cfg`.
func (a *agentBench) vaultAgent(cfg, hcl string) (*exec.Cmd, error) {
	if err := os.WriteFile(cfg, []byte(hcl), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(a.lab.VaultBin, "agent", "-config="+cfg)
	cmd.Env = a.vaultEnv()
	return cmd, nil
}

func (a *agentBench) gdsTemplateYAML(dest string) string {
	return fmt.Sprintf("refresh: %s\ntemplates:\n  - contents: 'pass={{ secret \"%s\" \"%s\" }}'\n    destination: %s\n",
		a.cfg.Refresh, agentCLIPath, agentKey, dest)
}

// vaultAutoAuth is the part both Vault Agent configurations share.
func vaultAutoAuth(addr, roleFile, secretFile string) string {
	return fmt.Sprintf(`vault { address = %q }
auto_auth {
  method "approle" {
    config = {
      role_id_file_path = %q
      secret_id_file_path = %q
      remove_secret_id_file_after_reading = false
    }
  }
}
`, addr, roleFile, secretFile)
}

func (a *agentBench) vaultExecHCL(addr, roleFile, secretFile string, program []string) string {
	quoted := make([]string, len(program))
	for i, p := range program {
		quoted[i] = strconv.Quote(p)
	}
	return vaultAutoAuth(addr, roleFile, secretFile) + fmt.Sprintf(`template_config {
  static_secret_render_interval = %q
  exit_on_retry_failure = true
}
env_template "DB_PASS" {
  contents = "{{ with secret \"%s\" }}{{ .Data.data.%s }}{{ end }}"
  error_on_missing_key = true
}
exec {
  command = [%s]
  restart_on_secret_changes = "always"
  restart_stop_signal = "SIGTERM"
}
`, a.cfg.Refresh, agentPath, agentKey, strings.Join(quoted, ", "))
}

func (a *agentBench) vaultTemplateHCL(addr, roleFile, secretFile, dest string) string {
	return vaultAutoAuth(addr, roleFile, secretFile) + fmt.Sprintf(`template_config {
  static_secret_render_interval = %q
}
template {
  contents = "pass={{ with secret \"%s\" }}{{ .Data.data.%s }}{{ end }}"
  destination = %q
}
`, a.cfg.Refresh, agentPath, agentKey, dest)
}

// Markdown renders the comparison (no heading: the report adds its own);
// vaultVersion is the lab's Vault, whose binary runs `vault agent`.
func (a *AgentResult) Markdown(vaultVersion string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	c := a.Config
	w("One program and one file, each supervised in turn by gdsvault (bin/gdsvault) and by Vault Agent (`vault agent` of the lab's Vault "+
		"binary, %s), against the lab's Vault. Both log in with AppRole (the role %s: its role ID and a fresh secret ID per run, in files) and read "+
		"`%s` (%s) again every %s (gdsvault's `-refresh` or `refresh:`, Vault Agent's `static_secret_render_interval`). **exec**: the program "+
		"`%s` appends a line at each start. **templates**: one file, `pass=<%s>`; a write is a new inode, size or modification time.\n\n",
		vaultVersion, LabRole, agentCLIPath, agentKey, c.Refresh, shellJoin(agentProgram("REPORT")), agentKey)
	w("Each run starts the supervisor and waits for the program's first line (or the file) with the current value: the start time. It watches "+
		"%s with nothing changed, writes a new %s, waits for it to arrive (up to one refresh, plus gdsvault exec's `-debounce %s`), watches %s "+
		"more, reads the supervisor's peak resident set (VmHWM in /proc/PID/status: the supervisor alone, not its program; unlike ru_maxrss it "+
		"starts afresh at exec, so sections 5-6's helper is not needed) and stops it with SIGTERM. Everything is polled every millisecond. "+
		"%s of each, gdsvault and Vault Agent alternated (who goes first swapped every run); medians.\n\n",
		c.Window, agentKey, c.Debounce, c.Window, plural(len(a.Exec.Gds.Runs), "run"))
	w("| | gdsvault | Vault Agent | Vault Agent / gdsvault |\n|---|---|---|---|\n")
	for _, m := range []struct {
		name, ready, events string
		m                   AgentMode
	}{{"exec", "program running with its secret", "restarts", a.Exec}, {"templates", "file rendered", "writes", a.Template}} {
		g, v := m.m.Gds, m.m.Vault
		w("| **%s**: start → %s, median | %s | %s | %.1f× |\n", m.name, m.ready, ms(g.Start), ms(v.Start), ratio(float64(v.Start), float64(g.Start)))
		w("| start, fastest | %s | %s | %.1f× |\n", ms(g.StartMin), ms(v.StartMin), ratio(float64(v.StartMin), float64(g.StartMin)))
		w("| peak memory of the supervisor (VmHWM), median | %s | %s | %.1f× |\n", kib(g.PeakRSS), kib(v.PeakRSS), ratio(float64(v.PeakRSS), float64(g.PeakRSS)))
		w("| %s while nothing changed, each run | %s | %s | |\n", m.events, ints(g.Idle()), ints(v.Idle()))
		w("| %s for one change, each run | %s | %s | |\n", m.events, ints(g.Change()), ints(v.Change()))
		w("| change written → first %s with it, median | %s | %s | |\n", strings.TrimSuffix(m.events, "s"), ms(g.Noticed), ms(v.Noticed))
	}
	w("\nHow each ran (paths in capitals stand for the run's own files):\n\n")
	w("- gdsvault exec: `%s`, with VAULT_ADDR, VAULT_AUTH_METHOD=approle, VAULT_ROLE_ID_FILE and VAULT_SECRET_ID_FILE\n", a.Exec.GdsCmd)
	w("- gdsvault agent: `%s`, the same variables, agent.yaml:\n\n```yaml\n%s```\n\n", a.Template.GdsCmd, a.Template.GdsConfig)
	w("- Vault Agent, exec: `%s`, agent.hcl:\n\n```hcl\n%s```\n\n", a.Exec.VaultCmd, a.Exec.VaultConfig)
	shared := vaultAutoAuth("ADDR", "ROLE_ID_FILE", "SECRET_ID_FILE")
	w("- Vault Agent, templates: `%s`, agent.hcl: the same `vault` and `auto_auth` blocks, then:\n\n```hcl\n%s```\n\n",
		a.Template.VaultCmd, strings.TrimPrefix(a.Template.VaultConfig, shared))
	return b.String()
}

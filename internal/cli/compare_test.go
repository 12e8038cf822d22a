package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/vaulttest"
)

// TestCompareWithVaultAgent measures `gdsvault exec` and `gdsvault agent`
// side by side with Vault Agent's exec mode (env_template + exec) and its
// template rendering, on the same real Vault, AppRole login, secret and
// child: time from start to the child running with its secret (or the file
// rendered), the supervisor's peak RSS (VmHWM), restarts (or writes) while
// nothing changes, and per change. It reports medians; nothing is asserted
// on the figures. It runs only with GDSVAULT_COMPARE=1 (a few minutes):
//
//	GDSVAULT_COMPARE=1 go test -run TestCompareWithVaultAgent -v ./internal/cli/
func TestCompareWithVaultAgent(t *testing.T) {
	vault.Require(t)
	if os.Getenv("GDSVAULT_COMPARE") != "1" {
		t.Skip("set GDSVAULT_COMPARE=1 to measure gdsvault against Vault Agent (a few minutes)")
	}
	runs := 5
	if n, err := strconv.Atoi(os.Getenv("GDSVAULT_COMPARE_RUNS")); err == nil && n > 0 {
		runs = n
	}
	dir := t.TempDir()
	gds := filepath.Join(dir, "gdsvault")
	build := exec.Command("go", "build", "-o", gds, ".")
	build.Dir = filepath.Join("..", "..", "cmd", "gdsvault") // a module of its own
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	vaultBin := vault.Bin
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	vault.PutKV(t, mount, "app", map[string]any{"db_pass": "v0", "other": "x"})
	env, _ := approleEnv(t, vault.Addr, `path "`+mount+`/*" { capabilities = ["read"] }`)
	roleFile := filepath.Join(dir, "role-id")
	secretFile := filepath.Join(dir, "secret-id")
	os.WriteFile(roleFile, []byte(env["VAULT_ROLE_ID"]), 0o600)
	os.WriteFile(secretFile, []byte(env["VAULT_SECRET_ID"]), 0o600)
	const interval = time.Second // both re-read static secrets every second
	const window = 3 * time.Second

	type sample struct {
		start    time.Duration
		rssKiB   int64
		idle     int // restarts (or writes) with nothing changed
		onChange int // restarts (or writes) for one change
	}
	version := 0
	// measure runs one supervisor: start it, wait for the child's first
	// line (or the file), watch a window with nothing changed, change the
	// secret once, wait for its effect, watch a window, read VmHWM, stop.
	measure := func(name string, cmd *exec.Cmd, events func() int) sample {
		var stderr vaulttest.LogBuffer
		cmd.Stdout, cmd.Stderr = &stderr, &stderr
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		}()
		deadline := time.Now().Add(2 * time.Minute)
		for events() < 1 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no child/file after 2 minutes:\n%s", name, stderr.String())
			}
			time.Sleep(time.Millisecond)
		}
		s := sample{start: time.Since(t0)}
		time.Sleep(window) // observation window: nothing changes
		s.idle = events() - 1
		before := events()
		version++
		vault.PutKV(t, mount, "app", map[string]any{"db_pass": fmt.Sprintf("v%d", version), "other": "x"})
		for events() == before {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the change never arrived:\n%s", name, stderr.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(window) // observation window after the change
		s.onChange = events() - before
		s.rssKiB = vmHWM(cmd.Process.Pid)
		return s
	}

	// exec: the child appends its variable to a file at each start.
	execChild := func(report string) []string {
		return []string{"/bin/sh", "-c", `echo "$DB_PASS" >> ` + report + `; exec sleep 100000`}
	}
	countLines := func(p string) func() int { return func() int { return lines(p) } }
	results := map[string][]sample{}
	for i := range runs {
		// gdsvault exec
		report := filepath.Join(dir, fmt.Sprintf("gds-exec-%d", i))
		cmd := exec.Command(gds, append([]string{"exec", "-refresh", interval.String(), "-debounce", "500ms",
			"-secret", "DB_PASS=" + mount + "/app#db_pass", "--"}, execChild(report)...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "VAULT_ADDR=" + vault.Addr, "VAULT_AUTH_METHOD=approle",
			"VAULT_ROLE_ID_FILE=" + roleFile, "VAULT_SECRET_ID_FILE=" + secretFile}
		results["exec gdsvault"] = append(results["exec gdsvault"], measure("gdsvault exec", cmd, countLines(report)))

		// vault agent exec
		report = filepath.Join(dir, fmt.Sprintf("va-exec-%d", i))
		child := execChild(report)
		autoAuth := fmt.Sprintf(`vault { address = %q }
auto_auth {
  method "approle" {
    config = {
      role_id_file_path = %q
      secret_id_file_path = %q
      remove_secret_id_file_after_reading = false
    }
  }
}
`, vault.Addr, roleFile, secretFile)
		hcl := autoAuth + fmt.Sprintf(`template_config {
  static_secret_render_interval = %q
  exit_on_retry_failure = true
}
env_template "DB_PASS" {
  contents = "{{ with secret \"%s/data/app\" }}{{ .Data.data.db_pass }}{{ end }}"
  error_on_missing_key = true
}
exec {
  command = [%q, %q, %q]
  restart_on_secret_changes = "always"
  restart_stop_signal = "SIGTERM"
}
`, interval.String(), mount, child[0], child[1], child[2])
		cfgFile := filepath.Join(dir, fmt.Sprintf("va-exec-%d.hcl", i))
		os.WriteFile(cfgFile, []byte(hcl), 0o600)
		cmd = exec.Command(vaultBin, "agent", "-config="+cfgFile)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
		results["exec vault"] = append(results["exec vault"], measure("vault agent exec", cmd, countLines(report)))

		// templates: count the writes of the destination (inode or mtime changes).
		dest := filepath.Join(dir, fmt.Sprintf("gds-out-%d.txt", i))
		agentCfg := filepath.Join(dir, fmt.Sprintf("gds-agent-%d.yaml", i))
		os.WriteFile(agentCfg, []byte(fmt.Sprintf("refresh: %s\ntemplates:\n  - contents: 'pass={{ secret \"%s/app\" \"db_pass\" }}'\n    destination: %s\n",
			interval, mount, dest)), 0o600)
		cmd = exec.Command(gds, "agent", agentCfg)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "VAULT_ADDR=" + vault.Addr, "VAULT_AUTH_METHOD=approle",
			"VAULT_ROLE_ID_FILE=" + roleFile, "VAULT_SECRET_ID_FILE=" + secretFile}
		w := watchWrites(dest)
		results["template gdsvault"] = append(results["template gdsvault"], measure("gdsvault agent", cmd, w.count))
		w.stop()

		dest = filepath.Join(dir, fmt.Sprintf("va-out-%d.txt", i))
		hcl = autoAuth + fmt.Sprintf(`template_config {
  static_secret_render_interval = %q
}
template {
  contents = "pass={{ with secret \"%s/data/app\" }}{{ .Data.data.db_pass }}{{ end }}"
  destination = %q
}
`, interval.String(), mount, dest)
		cfgFile = filepath.Join(dir, fmt.Sprintf("va-agent-%d.hcl", i))
		os.WriteFile(cfgFile, []byte(hcl), 0o600)
		cmd = exec.Command(vaultBin, "agent", "-config="+cfgFile)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
		w = watchWrites(dest)
		results["template vault"] = append(results["template vault"], measure("vault agent template", cmd, w.count))
		w.stop()
	}

	med := func(name string) (time.Duration, int64, []int, []int) {
		ss := results[name]
		var starts []time.Duration
		var rss []int64
		var idle, change []int
		for _, s := range ss {
			starts, rss = append(starts, s.start), append(rss, s.rssKiB)
			idle, change = append(idle, s.idle), append(change, s.onChange)
		}
		slices.Sort(starts)
		slices.Sort(rss)
		return starts[len(starts)/2], rss[len(rss)/2], idle, change
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d runs each, medians; static secrets re-read every %v; windows of %v\n", runs, interval, window)
	fmt.Fprintf(&b, "%-22s %10s %14s   %-24s %s\n", "", "start", "peak RSS", "restarts/writes, idle", "per change (each run)")
	for _, mode := range []string{"exec", "template"} {
		gs, gr, gi, gc := med(mode + " gdsvault")
		vs, vr, vi, vc := med(mode + " vault")
		fmt.Fprintf(&b, "%-22s %10v %10d KiB   %-24s %s\n", mode+": gdsvault", gs.Round(time.Millisecond), gr, ints(gi), ints(gc))
		fmt.Fprintf(&b, "%-22s %10v %10d KiB   %-24s %s\n", mode+": vault agent", vs.Round(time.Millisecond), vr, ints(vi), ints(vc))
		fmt.Fprintf(&b, "%-22s %9.1fx %13.1fx\n", mode+": vault / gdsvault", float64(vs)/float64(gs), float64(vr)/float64(gr))
	}
	t.Log(b.String())
	if out := os.Getenv("GDSVAULT_COMPARE_OUT"); out != "" {
		os.WriteFile(out, []byte(b.String()), 0o644)
	}
}

func ints(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, " ")
}

// vmHWM is a process's peak resident set (KiB), from /proc.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return -1
}

// writeWatcher counts the writes of a file by polling its inode and
// modification time.
type writeWatcher struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     chan struct{}
	n      int
}

func watchWrites(path string) *writeWatcher {
	ctx, cancel := context.WithCancel(context.Background())
	w := &writeWatcher{cancel: cancel, done: make(chan struct{}), mu: make(chan struct{}, 1)}
	go func() {
		defer close(w.done)
		var lastIno uint64
		var lastMod time.Time
		for ctx.Err() == nil {
			if fi, err := os.Stat(path); err == nil {
				ino := fi.Sys().(*syscall.Stat_t).Ino
				if ino != lastIno || !fi.ModTime().Equal(lastMod) {
					lastIno, lastMod = ino, fi.ModTime()
					w.mu <- struct{}{}
					w.n++
					<-w.mu
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return w
}

func (w *writeWatcher) count() int {
	w.mu <- struct{}{}
	defer func() { <-w.mu }()
	return w.n
}

func (w *writeWatcher) stop() { w.cancel(); <-w.done }

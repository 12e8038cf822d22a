package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Proc is one process run.
type Proc struct {
	Wall time.Duration
	// MaxRSS is the peak resident set in KiB (getrusage ru_maxrss).
	MaxRSS int64
}

// ProcStats summarises runs of one command.
type ProcStats struct {
	Runs int
	// Wall and MaxRSS are medians; WallMin the fastest run.
	Wall, WallMin time.Duration
	MaxRSS        int64
}

func procStats(ps []Proc) ProcStats {
	walls := make([]time.Duration, len(ps))
	rss := make([]int64, len(ps))
	for i, p := range ps {
		walls[i], rss[i] = p.Wall, p.MaxRSS
	}
	s := ProcStats{Runs: len(ps)}
	if len(ps) > 0 {
		s.WallMin = slices.Min(walls)
	}
	s.Wall, s.MaxRSS = median(walls), median(rss)
	return s
}

// median sorts xs; the mean of the two middle values for an even count.
func median[T int64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	percentile(xs, 50) // sorts
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// CLIResult is one CLI comparison.
type CLIResult struct {
	Gds, Vault ProcStats
	// GdsCmd and VaultCmd are the command lines, as shown in the report.
	GdsCmd, VaultCmd string
}

// Runner runs processes through the rusage helper (cmd/rusage), which
// reports each one's own wall time and peak memory (see that command for
// why a child of this process cannot be measured directly).
type Runner struct {
	// Helper is the built rusage helper.
	Helper string
	// FloorKiB is the helper's own peak memory when it runs /bin/true: a
	// command reported near this figure used less than the helper.
	FloorKiB int64
}

// NewRunner builds the rusage helper into dir.
func NewRunner(ctx context.Context, dir string) (*Runner, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	out := filepath.Join(dir, "rusage")
	cmd := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", out, "./cmd/rusage")
	cmd.Dir = filepath.Join(root, "bench")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("building the rusage helper: %w\n%s", err, stderr.String())
	}
	r := &Runner{Helper: out}
	if _, err := os.Stat("/bin/true"); err == nil {
		if p, _, err := r.run(ctx, 10*time.Second, nil, "/bin/true"); err == nil {
			r.FloorKiB = p.MaxRSS
		}
	}
	return r, nil
}

// run runs bin with args and env (nothing else) and returns its time, peak
// memory and trimmed output.
func (r *Runner) run(ctx context.Context, timeout time.Duration, env []string, bin string, args ...string) (Proc, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pr, pw, err := os.Pipe()
	if err != nil {
		return Proc{}, "", err
	}
	defer pr.Close()
	cmd := exec.CommandContext(ctx, r.Helper, append([]string{bin}, args...)...)
	cmd.Env = env
	cmd.ExtraFiles = []*os.File{pw} // fd 3
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return Proc{}, "", err
	}
	rep, _ := io.ReadAll(io.LimitReader(pr, 1024))
	if err := cmd.Wait(); err != nil {
		return Proc{}, "", fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), strings.Join(redactArgs(args), " "), err, strings.TrimSpace(stderr.String()))
	}
	var wall, rss int64
	var code int
	if _, err := fmt.Sscan(string(rep), &wall, &rss, &code); err != nil {
		return Proc{}, "", fmt.Errorf("rusage helper: cannot read its report %q: %w", rep, err)
	}
	return Proc{Wall: time.Duration(wall), MaxRSS: rss}, strings.TrimSpace(stdout.String()), nil
}

// redactArgs hides secret_id=... in error messages.
func redactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if k, _, ok := strings.Cut(a, "="); ok && (k == "secret_id" || k == "role_id") {
			a = k + "=…"
		}
		out[i] = a
	}
	return out
}

// CLIConfig sizes the CLI comparisons.
type CLIConfig struct {
	// Runs per command (after Warmup unrecorded runs), alternated.
	Runs, Warmup int
	// Timeout bounds one process; Total all the runs of one comparison.
	Timeout, Total time.Duration
}

func (l *Lab) cliEnv(home string, extra ...string) []string {
	return append([]string{"HOME=" + home, "VAULT_ADDR=" + l.Addr}, extra...)
}

// CLIToken compares `gdsvault get -field db_host secret/myapp/config` with
// `vault kv get -field=db_host secret/myapp/config`, token in VAULT_TOKEN.
func (l *Lab) CLIToken(ctx context.Context, r *Runner, gdsBin string, cfg CLIConfig) (*CLIResult, error) {
	home, err := os.MkdirTemp("", "gdsvault-bench-home-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(home)
	env := l.cliEnv(home, "VAULT_TOKEN="+l.Token)
	gds := func() (Proc, error) {
		p, out, err := r.run(ctx, cfg.Timeout, env, gdsBin, "get", "-field", "db_host", LabCLIPath)
		return p, checkOut("gdsvault", out, err)
	}
	vault := func() (Proc, error) {
		p, out, err := r.run(ctx, cfg.Timeout, env, l.VaultBin, "kv", "get", "-field=db_host", LabCLIPath)
		return p, checkOut("vault", out, err)
	}
	res := &CLIResult{
		GdsCmd:   "gdsvault get -field db_host " + LabCLIPath,
		VaultCmd: "vault kv get -field=db_host " + LabCLIPath,
	}
	res.Gds, res.Vault, err = alternate(ctx, cfg, gds, vault)
	return res, err
}

// CLIAppRole compares an AppRole login plus a read as whole processes:
// gdsvault with VAULT_AUTH_METHOD=approle (one process) against
// `vault write -field=token auth/approle/login ...` then `vault kv get`
// with that token (two processes: times summed, the larger peak memory).
// Each run gets a fresh secret ID, generated outside the timing.
func (l *Lab) CLIAppRole(ctx context.Context, r *Runner, gdsBin string, cfg CLIConfig) (*CLIResult, error) {
	home, err := os.MkdirTemp("", "gdsvault-bench-home-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(home)
	gds := func() (Proc, error) {
		sid, err := l.NewSecretID(ctx)
		if err != nil {
			return Proc{}, err
		}
		env := l.cliEnv(home, "VAULT_AUTH_METHOD=approle", "VAULT_ROLE_ID="+l.RoleID, "VAULT_SECRET_ID="+sid)
		p, out, err := r.run(ctx, cfg.Timeout, env, gdsBin, "get", "-field", "db_host", LabCLIPath)
		return p, checkOut("gdsvault", out, err)
	}
	vault := func() (Proc, error) {
		sid, err := l.NewSecretID(ctx)
		if err != nil {
			return Proc{}, err
		}
		login, tok, err := r.run(ctx, cfg.Timeout, l.cliEnv(home), l.VaultBin,
			"write", "-field=token", "auth/approle/login", "role_id="+l.RoleID, "secret_id="+sid)
		if err != nil {
			return Proc{}, err
		}
		if tok == "" {
			return Proc{}, errors.New("vault write auth/approle/login printed no token")
		}
		read, out, err := r.run(ctx, cfg.Timeout, l.cliEnv(home, "VAULT_TOKEN="+tok), l.VaultBin,
			"kv", "get", "-field=db_host", LabCLIPath)
		if err := checkOut("vault", out, err); err != nil {
			return Proc{}, err
		}
		return Proc{Wall: login.Wall + read.Wall, MaxRSS: max(login.MaxRSS, read.MaxRSS)}, nil
	}
	res := &CLIResult{
		GdsCmd: "VAULT_AUTH_METHOD=approle VAULT_ROLE_ID=… VAULT_SECRET_ID=… gdsvault get -field db_host " + LabCLIPath,
		VaultCmd: "vault write -field=token auth/approle/login role_id=… secret_id=…; " +
			"VAULT_TOKEN=<token> vault kv get -field=db_host " + LabCLIPath,
	}
	res.Gds, res.Vault, err = alternate(ctx, cfg, gds, vault)
	return res, err
}

func checkOut(name, out string, err error) error {
	if err != nil {
		return err
	}
	if out != LabHost {
		return fmt.Errorf("%s printed %q, want %q", name, out, LabHost)
	}
	return nil
}

// alternate runs a and b Warmup times each unrecorded, then Runs times each,
// alternating which goes first, within cfg.Total.
func alternate(ctx context.Context, cfg CLIConfig, a, b func() (Proc, error)) (ProcStats, ProcStats, error) {
	deadline := time.Now().Add(cfg.Total)
	fns := [2]func() (Proc, error){a, b}
	for range cfg.Warmup {
		for _, f := range fns {
			if _, err := f(); err != nil {
				return ProcStats{}, ProcStats{}, err
			}
		}
	}
	var got [2][]Proc
	for r := range cfg.Runs {
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		for k := range 2 {
			i := (r + k) % 2
			p, err := fns[i]()
			if err != nil {
				return ProcStats{}, ProcStats{}, err
			}
			got[i] = append(got[i], p)
		}
	}
	if len(got[0]) == 0 {
		return ProcStats{}, ProcStats{}, errors.New("no run completed in time")
	}
	return procStats(got[0]), procStats(got[1]), nil
}

func jsonSize(v any) int {
	b, _ := json.Marshal(v)
	return len(b)
}

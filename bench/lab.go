// Package bench measures gdsvault side by side with its peers — the
// official Go client github.com/hashicorp/vault/api, the vault CLI and
// Vault Agent — on one real dev Vault, in one run: uncached and cached KV
// v2 reads, a cold-cache stampede, the heap of 10,000 cached secrets, the
// command line as a whole process (token and AppRole), a leader killed
// under load on a 3-node cluster, and `gdsvault exec` and `gdsvault agent`
// against Vault Agent's exec mode and templates. `make bench` runs
// cmd/bench, which writes BENCHMARKS.md at the repository root, with the
// observers' overhead that the nested module bench/observe measured just
// before (ObserverResult).
//
// It is a nested module (github.com/gdsvault/gdsvault/bench) so that
// vault/api stays out of the root go.mod.
package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/vaulttest"
)

// The seed's lab.
const (
	// LabPath is the path every read benchmark asks for, in the seed's
	// API form.
	LabPath = "secret/data/myapp/config"
	// LabCLIPath is the same secret in the CLI form.
	LabCLIPath = "secret/myapp/config"
	// LabHost is db_host's value, checked on every read.
	LabHost = "postgres.example.com"
	// LabRole is the AppRole role.
	LabRole = "myapp"
	// LabPolicy is the policy of the role.
	LabPolicy = "myapp-policy"
)

const labPolicyHCL = `path "secret/data/myapp/*" {
  capabilities = ["read"]
}
`

// Lab is one running dev Vault provisioned with the seed's lab:
// secret/myapp/config (db_host, db_user, db_pass), policy myapp-policy and
// the AppRole role myapp.
type Lab struct {
	Server *vaulttest.Server
	// Addr and Token are the server's address and root token.
	Addr, Token string
	// VaultBin is the Vault binary (server and CLI are one program).
	VaultBin string
	// VaultVersion is what `vault version` prints ("Vault v1.21.0 ...").
	VaultVersion string
	// RoleID is the role ID of the AppRole role myapp.
	RoleID string
}

// StartLab starts one dev Vault with vaulttest and provisions the lab.
// Close stops it.
func StartLab(ctx context.Context) (*Lab, error) {
	srv, err := vaulttest.NewServer(vaulttest.Options{})
	if err != nil {
		return nil, err
	}
	l := &Lab{Server: srv, Addr: srv.Addr, Token: srv.RootToken, VaultBin: srv.Bin}
	if err := l.provision(ctx); err != nil {
		srv.Stop()
		return nil, fmt.Errorf("provisioning the lab: %w", err)
	}
	return l, nil
}

// Close stops the server. It is idempotent.
func (l *Lab) Close() { l.Server.Stop() }

func (l *Lab) provision(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	steps := []struct {
		method, path string
		body         any
	}{
		// -dev mounts secret/ as KV v2 already.
		{"POST", "secret/data/myapp/config", map[string]any{"data": map[string]any{
			"db_host": LabHost, "db_user": "myapp", "db_pass": "secret123"}}},
		{"PUT", "sys/policies/acl/" + LabPolicy, map[string]any{"policy": labPolicyHCL}},
		{"POST", "sys/auth/approle", map[string]any{"type": "approle"}},
		{"POST", "auth/approle/role/" + LabRole, map[string]any{
			"token_policies": LabPolicy, "token_ttl": "1h", "token_max_ttl": "4h"}},
	}
	for _, s := range steps {
		if _, err := l.Server.Do(ctx, s.method, s.path, s.body); err != nil {
			return fmt.Errorf("%s %s: %w", s.method, s.path, err)
		}
	}
	out, err := l.Server.Do(ctx, "GET", "auth/approle/role/"+LabRole+"/role-id", nil)
	if err != nil {
		return err
	}
	l.RoleID, _ = vaulttest.Data(out)["role_id"].(string)
	if l.RoleID == "" {
		return errors.New("no role_id in Vault's answer")
	}
	cmd := exec.CommandContext(ctx, l.VaultBin, "version")
	cmd.Env = []string{"HOME=" + os.TempDir()}
	v, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s version: %w", l.VaultBin, err)
	}
	l.VaultVersion = strings.TrimSpace(string(v))
	return nil
}

// NewSecretID generates a fresh secret ID for the role myapp.
func (l *Lab) NewSecretID(ctx context.Context) (string, error) {
	out, err := l.Server.Do(ctx, "POST", "auth/approle/role/"+LabRole+"/secret-id", nil)
	if err != nil {
		return "", err
	}
	id, _ := vaulttest.Data(out)["secret_id"].(string)
	if id == "" {
		return "", errors.New("no secret_id in Vault's answer")
	}
	return id, nil
}

// discard is the logger every benchmarked client gets.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// NewGdsvault builds the gdsvault client the benchmarks use: address, root
// token, a discarding logger, and extra options (WithCache, WithTransport).
func (l *Lab) NewGdsvault(extra ...gdsvault.Option) (*gdsvault.Client, error) {
	opts := append([]gdsvault.Option{gdsvault.WithAddress(l.Addr), gdsvault.WithToken(l.Token), gdsvault.WithLogger(discard)}, extra...)
	return gdsvault.New(opts...)
}

// FindGdsvault returns the gdsvault binary to measure: $GDSVAULT_BIN, else
// bin/gdsvault in the enclosing checkout (built by `make build`).
func FindGdsvault() (string, error) {
	if b := os.Getenv("GDSVAULT_BIN"); b != "" {
		return exec.LookPath(b)
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	b := filepath.Join(root, "bin", "gdsvault")
	if _, err := os.Stat(b); err != nil {
		return "", fmt.Errorf("no %s: run `make build` (or set GDSVAULT_BIN)", b)
	}
	return b, nil
}

// BuildGdsvault builds the gdsvault CLI from the enclosing checkout into
// dir (for the smoke test, which must not depend on `make build`).
func BuildGdsvault(ctx context.Context, dir string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "gdsvault")
	// As the Makefile builds bin/gdsvault: static and stripped.
	cmd := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Dir = filepath.Join(root, "cmd", "gdsvault") // a module of its own
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gdsvault: %w\n%s", err, stderr.String())
	}
	return out, nil
}

// RepoRoot finds the gdsvault checkout above the working directory (the
// directory whose go.mod is module github.com/gdsvault/gdsvault).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && string(firstModuleLine(b)) == "module github.com/gdsvault/gdsvault" {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside a gdsvault checkout")
		}
		dir = parent
	}
}

func firstModuleLine(gomod []byte) []byte {
	for _, line := range bytes.Split(gomod, []byte("\n")) {
		if t := bytes.TrimSpace(line); bytes.HasPrefix(t, []byte("module ")) {
			return t
		}
	}
	return nil
}

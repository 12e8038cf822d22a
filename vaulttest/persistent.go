package vaulttest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// PersistentOptions change how a persistent server starts.
type PersistentOptions struct {
	// Args are extra arguments for `vault server -config=...`.
	Args []string
	// StartTimeout bounds each wait for the server to answer, initialise
	// and unseal (default 60 s).
	StartTimeout time.Duration
}

// PersistentServer is a Vault server (not a dev server) on file storage in
// Dir, initialised with one unseal key, that a test can kill and restart on
// the same address and storage: secrets, mounts, policies and tokens survive.
// KV v2 is mounted at secret/ as on a dev server.
//
// It embeds *Server, so Addr, RootToken, UnsealKey, Dir, Bin, the provisioning
// helpers (Do, Must, EnableAuth, EnableSecrets, WritePolicy, CreateAppRole,
// RoleID, SecretID, PutKV, CreateToken...), Seal, Logs, Env, UniqueName and
// Stop work as they do for a dev server.
type PersistentServer struct {
	*Server
	// Config is the server's HCL configuration file (in Dir).
	Config string
	// Storage is the file storage directory (in Dir).
	Storage string

	listen string
	popts  PersistentOptions
}

// StartPersistent starts, initialises and unseals a persistent server for one
// test, and stops it (removing its storage) when the test ends.
func StartPersistent(tb testing.TB, opts PersistentOptions) *PersistentServer {
	tb.Helper()
	s, err := NewPersistentServer(opts)
	return forTest(tb, s, err, "vault server")
}

// NewPersistentServer is StartPersistent without a test: stop the server with
// Stop.
func NewPersistentServer(opts PersistentOptions) (*PersistentServer, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	return onFreePort(func() (*PersistentServer, error) { return newPersistent(bin, opts) })
}

func newPersistent(bin string, opts PersistentOptions) (*PersistentServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("vaulttest: no free port: %w", err)
	}
	dir, err := os.MkdirTemp("", "vaulttest-persistent-")
	if err != nil {
		return nil, err
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	s := &PersistentServer{
		Server: &Server{
			Addr: "http://" + listen,
			Dir:  dir,
			Bin:  bin,
			logs: &LogBuffer{},
			done: make(chan struct{}),
		},
		Config:  filepath.Join(dir, "vault.hcl"),
		Storage: filepath.Join(dir, "data"),
		listen:  listen,
		popts:   opts,
	}
	close(s.done) // no process yet: Stop has nothing to wait for
	hcl := fmt.Sprintf(`storage "file" {
  path = %s
}

listener "tcp" {
  address     = %q
  tls_disable = true
}

disable_mlock = true
api_addr      = %q
ui            = false
`, strconv.Quote(s.Storage), listen, s.Addr)
	if err := os.WriteFile(s.Config, []byte(hcl), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	fail := func(err error) (*PersistentServer, error) {
		s.Stop()
		return nil, fmt.Errorf("%w\nvault server log:\n%s", err, tail(s.Logs(), 4096))
	}
	if err := s.startProcess(); err != nil {
		return fail(err)
	}
	h, err := s.waitHealth(func(h health) bool { return true })
	if err != nil {
		return fail(err)
	}
	if h.Initialized {
		return fail(fmt.Errorf("vaulttest: the new server at %s says it is initialised already", s.Addr))
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout())
	defer cancel()
	out, err := s.Do(ctx, http.MethodPut, "sys/init", map[string]any{"secret_shares": 1, "secret_threshold": 1})
	if err != nil {
		return fail(err)
	}
	keys, _ := out["keys"].([]any)
	root, _ := out["root_token"].(string)
	if len(keys) != 1 || root == "" {
		return fail(fmt.Errorf("vaulttest: sys/init answered no key or no root token"))
	}
	s.UnsealKey, _ = keys[0].(string)
	s.RootToken = root
	if err := s.unseal(); err != nil {
		return fail(err)
	}
	if _, err := s.Do(ctx, http.MethodPost, "sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}}); err != nil {
		return fail(err)
	}
	if err := s.waitKV(); err != nil {
		return fail(err)
	}
	return s, nil
}

func (s *PersistentServer) timeout() time.Duration {
	if s.popts.StartTimeout > 0 {
		return s.popts.StartTimeout
	}
	return 60 * time.Second
}

// startProcess starts `vault server -config` (the previous process must have
// exited).
func (s *PersistentServer) startProcess() error {
	args := append([]string{"server", "-config=" + s.Config}, s.popts.Args...)
	cmd := exec.Command(s.Bin, args...)
	cmd.Env = serverEnv(s.Dir)
	done, err := runProcess(cmd, s.logs)
	if err != nil {
		return fmt.Errorf("vaulttest: starting %s: %w", s.Bin, err)
	}
	s.cmd, s.done = cmd, done
	return nil
}

// health is the answer of sys/health.
type health struct {
	Initialized bool `json:"initialized"`
	Sealed      bool `json:"sealed"`
	Standby     bool `json:"standby"`
}

// waitHealth polls sys/health until ok accepts the answer, the process exits
// or the start timeout passes.
func (s *PersistentServer) waitHealth(ok func(health) bool) (health, error) {
	timeout := s.timeout()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		select {
		case <-s.done:
			return health{}, fmt.Errorf("vaulttest: %s exited (%s)", s.Bin, s.cmd.ProcessState)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		b, status, err := s.raw(ctx, http.MethodGet, "sys/health", nil, "")
		cancel()
		var h health
		switch {
		case err != nil:
			last = err.Error()
		case json.Unmarshal(b, &h) != nil:
			last = fmt.Sprintf("%d, not JSON: %.200s", status, b)
		default:
			last = fmt.Sprintf("%d %+v", status, h)
			if ok(h) {
				return h, nil
			}
		}
		if time.Now().After(deadline) {
			return health{}, fmt.Errorf("vaulttest: %s at %s not ready within %s (last sys/health: %s)", s.Bin, s.Addr, timeout, last)
		}
		time.Sleep(50 * time.Millisecond) // polling an external process, with a deadline
	}
}

func (s *PersistentServer) unseal() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout())
	defer cancel()
	if _, err := s.Do(ctx, http.MethodPut, "sys/unseal", map[string]any{"key": s.UnsealKey}); err != nil {
		return err
	}
	_, err := s.waitHealth(func(h health) bool { return h.Initialized && !h.Sealed && !h.Standby })
	return err
}

// waitKV waits until the KV v2 mount at secret/ serves requests: after a mount
// or an unseal it may answer 4xx/5xx for a moment while it sets itself up.
func (s *PersistentServer) waitKV() error {
	timeout := s.timeout()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := s.Do(ctx, http.MethodGet, "secret/config", nil)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("vaulttest: KV mount secret/ not ready within %s: %w", timeout, err)
		}
		time.Sleep(50 * time.Millisecond) // polling an external process, with a deadline
	}
}

// Kill kills the server process with SIGKILL and waits for it to exit. The
// storage stays; Restart or StartSealed brings the server back.
func (s *PersistentServer) Kill() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Running reports whether the server process runs.
func (s *PersistentServer) Running() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// StartSealed starts the server again (killing it first if it runs) on the
// same address and storage, and waits until it answers, sealed.
func (s *PersistentServer) StartSealed(tb testing.TB) {
	tb.Helper()
	if err := s.startSealed(); err != nil {
		tb.Fatal(err)
	}
}

func (s *PersistentServer) startSealed() error {
	s.Kill()
	var err error
	for attempt := 0; attempt < 3; attempt++ { // the port may still be held for a moment
		if err = s.startProcess(); err != nil {
			return err
		}
		if _, err = s.waitHealth(func(h health) bool { return h.Initialized }); err == nil {
			return nil
		}
		s.Kill()
	}
	return fmt.Errorf("%w\nvault server log:\n%s", err, tail(s.Logs(), 4096))
}

// Restart is StartSealed then Unseal: the server comes back on the same
// address and storage, unsealed and active, with the same root token.
func (s *PersistentServer) Restart(tb testing.TB) {
	tb.Helper()
	s.StartSealed(tb)
	s.Unseal(tb)
}

// Unseal unseals the server with its unseal key and waits until it is
// unsealed, active and its KV mount at secret/ serves requests.
func (s *PersistentServer) Unseal(tb testing.TB) {
	tb.Helper()
	if err := s.unseal(); err != nil {
		tb.Fatal(err)
	}
	if err := s.waitKV(); err != nil {
		tb.Fatal(err)
	}
}

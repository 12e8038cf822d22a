package vaulttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options change how a server starts.
type Options struct {
	// TLS starts the listener with TLS (Vault's -dev-tls); Server.CACert is
	// then the CA to trust.
	TLS bool
	// Args are extra arguments for `vault server`.
	Args []string
	// StartTimeout bounds the wait for the server to answer (default 60 s).
	StartTimeout time.Duration
}

// Server is a running Vault dev server.
type Server struct {
	// Addr is the server's address, e.g. http://127.0.0.1:41234.
	Addr string
	// RootToken is the dev server's root token (unique per server).
	RootToken string
	// UnsealKey unseals the server after Seal.
	UnsealKey string
	// CACert is the CA file to trust when the server runs with TLS.
	CACert string
	// Dir is a temporary directory owned by the server (removed at Stop).
	Dir string
	// Bin is the server binary.
	Bin string

	cmd  *exec.Cmd
	logs *LogBuffer
	done chan struct{}
	opts Options

	stopOnce sync.Once
	nameSeq  int
	nameMu   sync.Mutex
	http     *http.Client
}

// ErrNoBinary is returned when no Vault binary can be found.
var ErrNoBinary = errors.New("vaulttest: no Vault binary found: run `make vault` in the gdsvault checkout " +
	"(builds bin/vault from the pinned Go module, about 15 minutes the first time), or set VAULT_BIN to a vault or bao binary")

// Binary finds the Vault binary (see the package doc for the order).
func Binary() (string, error) {
	if b := os.Getenv("VAULT_BIN"); b != "" {
		if p, err := exec.LookPath(b); err == nil {
			return p, nil
		}
		return "", fmt.Errorf("vaulttest: VAULT_BIN=%s is not an executable file: %w", b, ErrNoBinary)
	}
	if dir, err := os.Getwd(); err == nil {
		for {
			if _, err := os.Stat(filepath.Join(dir, "tools", "vault", "go.mod")); err == nil {
				b := filepath.Join(dir, "bin", "vault")
				if _, err := os.Stat(b); err == nil {
					return b, nil
				}
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if p, err := exec.LookPath("vault"); err == nil {
		return p, nil
	}
	return "", ErrNoBinary
}

// NewServer starts a dev server and waits until it answers. Stop it with Stop.
func NewServer(opts Options) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	return onFreePort(func() (*Server, error) { return start(bin, opts) })
}

// RequiredEnv names the variable that makes real-server tests fail instead
// of skip when no Vault binary is found (make test and CI set it).
const RequiredEnv = "VAULTTEST_REQUIRED"

// Required reports whether real-server tests must run: RequiredEnv is set
// to anything but "" or "0".
func Required() bool {
	v := os.Getenv(RequiredEnv)
	return v != "" && v != "0"
}

// skipLine is the one line a skipped real-server test shows.
const skipLine = "vaulttest: no Vault binary: real-server tests skip (run `make vault` or set VAULT_BIN; " +
	RequiredEnv + "=1 makes them fail instead)"

// Require skips the test when the package runs without a server (s is nil:
// no Vault binary and not Required). Real-server tests start with it:
//
//	func TestSomething(t *testing.T) {
//		vault.Require(t)
//		...
func (s *Server) Require(tb testing.TB) {
	tb.Helper()
	if s == nil {
		tb.Skip(skipLine)
	}
}

// Start starts a server for one test and stops it when the test ends.
// Without a Vault binary the test is skipped, unless Required.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := NewServer(opts)
	return forTest(tb, s, err, "vault server")
}

// Main starts one shared server, runs the tests and stops the server. It
// returns the exit code for os.Exit. Each setup function runs once the server
// answers, before the tests.
//
// Without a Vault binary, when not Required, Main prints one line, leaves
// *srv nil and runs the tests that need no server: each real-server test
// begins with srv.Require(t), which skips it, and Example functions (which
// cannot skip) are left out with -test.skip.
func Main(m *testing.M, opts Options, srv **Server, setup ...func(*Server)) int {
	s, err := NewServer(opts)
	if errors.Is(err, ErrNoBinary) && !Required() {
		fmt.Fprintln(os.Stderr, skipLine)
		if f := flag.Lookup("test.skip"); f != nil && f.Value.String() == "" {
			_ = f.Value.Set("^Example")
		}
		*srv = nil
		return m.Run()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	*srv = s
	for _, f := range setup {
		f(s)
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "vault server log (last 4 KiB):\n%s\n", tail(s.Logs(), 4096))
	}
	s.Stop()
	return code
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var unsealRE = regexp.MustCompile(`Unseal Key: (\S+)`)

func start(bin string, opts Options) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("vaulttest: no free port: %w", err)
	}
	dir, err := os.MkdirTemp("", "vaulttest-")
	if err != nil {
		return nil, err
	}
	s := &Server{
		RootToken: "root-" + randomHex(12),
		Dir:       dir,
		Bin:       bin,
		logs:      &LogBuffer{},
		opts:      opts,
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	args := []string{"server", "-dev", "-dev-root-token-id=" + s.RootToken, "-dev-listen-address=" + listen, "-dev-no-store-token"}
	scheme := "http"
	if opts.TLS {
		certDir := filepath.Join(dir, "tls")
		if err := os.MkdirAll(certDir, 0o700); err != nil {
			return nil, err
		}
		args = append(args, "-dev-tls", "-dev-tls-cert-dir="+certDir)
		s.CACert = filepath.Join(certDir, "vault-ca.pem")
		scheme = "https"
	}
	args = append(args, opts.Args...)
	s.Addr = scheme + "://" + listen
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = serverEnv(dir)
	if s.done, err = runProcess(s.cmd, s.logs); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("vaulttest: starting %s: %w", bin, err)
	}

	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	deadline := time.Now().Add(timeout)
	if err := s.waitReady(timeout); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%w\nvault server log:\n%s", err, tail(s.Logs(), 4096))
	}
	// The banner with the unseal key may come a moment after the first answer.
	for s.UnsealKey == "" && time.Now().Before(deadline) {
		if m := unsealRE.FindStringSubmatch(s.Logs()); m != nil {
			s.UnsealKey = m[1]
			break
		}
		time.Sleep(20 * time.Millisecond) // polling the server's output, with a deadline
	}
	return s, nil
}

// serverEnv is the environment minus VAULT_* and BAO_* (so a developer's own
// settings cannot leak into the server), with HOME in the server's directory.
func serverEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VAULT_") || strings.HasPrefix(kv, "BAO_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+dir)
}

func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-s.done:
			return fmt.Errorf("vaulttest: %s exited before answering", s.Bin)
		default:
		}
		if s.CACert != "" && s.http == nil {
			if _, err := os.Stat(s.CACert); err == nil {
				if hc, err := httpClientFor(s.CACert); err == nil {
					s.http = hc
				}
			}
		}
		if s.http != nil || s.CACert == "" {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, status, err := s.raw(ctx, http.MethodGet, "sys/health", nil, "")
			cancel()
			if err == nil && status == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("vaulttest: %s did not answer at %s within %s", s.Bin, s.Addr, timeout)
		}
		time.Sleep(50 * time.Millisecond) // polling an external process, with a deadline
	}
}

// Stop kills the server and removes its directory. It is idempotent.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		stopProcess(s.cmd, s.done, syscall.SIGTERM, 5*time.Second)
		os.RemoveAll(s.Dir)
	})
}

// Logs returns what the server printed so far.
func (s *Server) Logs() string { return s.logs.String() }

// Env is the environment the vault CLI (or gdsvault) needs to talk to the
// server as root: VAULT_ADDR, VAULT_TOKEN and, with TLS, VAULT_CACERT.
func (s *Server) Env() []string {
	env := []string{"VAULT_ADDR=" + s.Addr, "VAULT_TOKEN=" + s.RootToken}
	if s.CACert != "" {
		env = append(env, "VAULT_CACERT="+s.CACert)
	}
	return env
}

// UniqueName returns prefix plus a suffix unique within this server, for
// mounts and roles that keep tests apart.
func (s *Server) UniqueName(prefix string) string {
	s.nameMu.Lock()
	defer s.nameMu.Unlock()
	s.nameSeq++
	return fmt.Sprintf("%s-%d-%s", prefix, s.nameSeq, randomHex(3))
}

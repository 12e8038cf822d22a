package vaulttest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A throwaway PostgreSQL server for tests of Vault's database secrets engine
// (the built-in postgresql-database-plugin).
//
// It uses the server binaries of Debian's postgresql package (initdb,
// postgres) and its psql client; no Go PostgreSQL driver is imported here, so
// that importing vaulttest adds nothing to a module's build graph. Tests that
// want a driver import one themselves (this package's tests use pgx).
//
// PostgreSQL refuses to run as root. When the tests run as root, initdb and
// postgres run as the `postgres` OS user (created by the package) on a data
// directory it owns; otherwise they run as the current user.

// ErrNoPostgres is returned when the PostgreSQL server binaries are missing.
var ErrNoPostgres = errors.New("vaulttest: no PostgreSQL server binaries (initdb, postgres) found: " +
	"install Debian's postgresql package (apt-get install postgresql), " +
	"or set VAULTTEST_PG_BINDIR to a directory holding initdb, postgres and psql")

// PostgresConnection is the name of the connection ConfigurePostgres writes
// (mount/config/postgres); roles refer to it as db_name.
const PostgresConnection = "postgres"

// Postgres is a running PostgreSQL server.
type Postgres struct {
	// Host and Port are where the server listens (TCP, 127.0.0.1 only).
	Host string
	Port int
	// User and Password are the superuser's; Database is a database created
	// for the test.
	User, Password, Database string
	// Dir is a temporary directory holding the data directory, the socket
	// directory and the password file; Stop removes it.
	Dir string
	// BinDir holds the PostgreSQL binaries in use.
	BinDir string

	cred     *syscall.Credential // nil: run as the current user
	cmd      *exec.Cmd
	logs     *LogBuffer
	done     chan struct{}
	stopOnce sync.Once
}

// PostgresBinDir finds the directory of the PostgreSQL server binaries:
// $VAULTTEST_PG_BINDIR; `pg_config --bindir`; the newest
// /usr/lib/postgresql/<version>/bin (Debian); initdb on $PATH (symbolic links
// resolved). The directory must hold initdb and postgres.
func PostgresBinDir() (string, error) {
	if d := os.Getenv("VAULTTEST_PG_BINDIR"); d != "" {
		if hasPostgresBinaries(d) {
			return d, nil
		}
		return "", fmt.Errorf("VAULTTEST_PG_BINDIR=%s holds no initdb and postgres: %w", d, ErrNoPostgres)
	}
	var candidates []string
	if pgConfig, err := exec.LookPath("pg_config"); err == nil {
		if out, err := exec.Command(pgConfig, "--bindir").Output(); err == nil {
			candidates = append(candidates, strings.TrimSpace(string(out)))
		}
	}
	if dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin"); len(dirs) > 0 {
		sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
		candidates = append(candidates, dirs...)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, d := range candidates {
		if hasPostgresBinaries(d) {
			return d, nil
		}
	}
	return "", ErrNoPostgres
}

// pgVersion reads the major version out of /usr/lib/postgresql/<v>/bin.
func pgVersion(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func hasPostgresBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// psqlPath is psql next to the server binaries, else psql on $PATH.
func (p *Postgres) psqlPath() (string, error) {
	if b := filepath.Join(p.BinDir, "psql"); isExecutable(b) {
		return b, nil
	}
	if b, err := exec.LookPath("psql"); err == nil {
		return b, nil
	}
	return "", fmt.Errorf("vaulttest: no psql client next to %s or on $PATH: install Debian's postgresql package (apt-get install postgresql)", p.BinDir)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// StartPostgres starts a server for one test and stops it when the test ends
// (printing its log if the test failed). Without PostgreSQL's server
// binaries the test is skipped, unless Required.
func StartPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	p, err := NewPostgres()
	skipOrFail(tb, err, ErrNoPostgres, "vaulttest: no PostgreSQL server binaries: this test skips (apt-get install postgresql, or set VAULTTEST_PG_BINDIR; "+
		RequiredEnv+"=1 makes it fail instead)")
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("postgres server log:\n%s", tail(p.Logs(), 8192))
		}
		p.Stop()
	})
	return p
}

// NewPostgres starts a server on a free port of 127.0.0.1 with its own data
// directory, a superuser with a random password (scram-sha-256 for every
// connection, TCP or socket: nothing is trusted) and an empty database, and
// waits until a real query as that superuser works. Stop it with Stop.
func NewPostgres() (*Postgres, error) {
	binDir, err := PostgresBinDir()
	if err != nil {
		return nil, err
	}
	p := &Postgres{
		Host:     "127.0.0.1",
		User:     "vaulttest",
		Password: randomHex(16),
		Database: "vaulttest",
		BinDir:   binDir,
		logs:     &LogBuffer{},
	}
	if err := p.initdb(); err != nil {
		p.removeDir()
		return nil, err
	}
	if _, err := onFreePort(func() (*Postgres, error) { return p, p.start() }); err != nil {
		p.Stop()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := p.psql(ctx, "postgres", "CREATE DATABASE "+quoteIdent(p.Database)); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

// initdb makes the temporary directory (owned by the user the server runs
// as) and initializes the data directory in it.
func (p *Postgres) initdb() error {
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("vaulttest: PostgreSQL refuses to run as root and there is no postgres user (%v): %w", err, ErrNoPostgres)
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("vaulttest: postgres user has uid %q gid %q", u.Uid, u.Gid)
		}
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
	}
	base := os.TempDir()
	if p.cred != nil && !searchableByAll(base) {
		base = "/tmp" // the postgres user could not reach a data directory under $TMPDIR
	}
	dir, err := os.MkdirTemp(base, "vaulttest-pg-")
	if err != nil {
		return err
	}
	p.Dir = dir
	if err := os.Mkdir(filepath.Join(dir, "sock"), 0o700); err != nil {
		return err
	}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(p.Password+"\n"), 0o600); err != nil {
		return err
	}
	if p.cred != nil {
		for _, f := range []string{dir, filepath.Join(dir, "sock"), pwfile} {
			if err := os.Chown(f, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
				return fmt.Errorf("vaulttest: chown %s to the postgres user: %w", f, err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(p.BinDir, "initdb"),
		"--pgdata="+p.dataDir(),
		"--username="+p.User,
		"--pwfile="+pwfile,
		"--auth-local=scram-sha-256",
		"--auth-host=scram-sha-256",
		"--encoding=UTF8",
		"--locale=C",
		"--no-sync",
		"--no-instructions",
	)
	cmd.Dir = dir
	cmd.Env = pgEnv(dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("vaulttest: initdb: %w\n%s", err, out)
	}
	return os.Remove(pwfile)
}

func (p *Postgres) dataDir() string { return filepath.Join(p.Dir, "data") }

// start runs the postmaster on a fresh free port and waits until it answers.
func (p *Postgres) start() error {
	port, err := freePort()
	if err != nil {
		return fmt.Errorf("vaulttest: no free port: %w", err)
	}
	p.Port = port
	p.cmd = exec.Command(filepath.Join(p.BinDir, "postgres"),
		"-D", p.dataDir(),
		"-p", strconv.Itoa(port),
		"-k", filepath.Join(p.Dir, "sock"),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "password_encryption=scram-sha-256",
		// A throwaway server: durability is not needed, speed is.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "log_min_messages=warning",
		"-c", "log_connections=off",
	)
	p.cmd.Dir = p.Dir
	p.cmd.Env = pgEnv(p.Dir)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	if p.done, err = runProcess(p.cmd, p.logs); err != nil {
		return fmt.Errorf("vaulttest: starting postgres: %w", err)
	}
	if err := p.waitReady(60 * time.Second); err != nil {
		p.kill()
		return fmt.Errorf("%w\npostgres server log:\n%s", err, tail(p.Logs(), 4096))
	}
	return nil
}

// waitReady polls until a TCP connection opens and a query as the superuser
// over TCP (with its password) answers.
func (p *Postgres) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	addr := net.JoinHostPort(p.Host, strconv.Itoa(p.Port))
	var lastErr error
	for {
		select {
		case <-p.done:
			return fmt.Errorf("vaulttest: postgres exited before answering on %s", addr)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := p.psql(ctx, "postgres", "SELECT 1")
			cancel()
			if err == nil {
				return nil
			}
			lastErr = err
		} else {
			lastErr = err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("vaulttest: postgres did not answer on %s within %s: %v", addr, timeout, lastErr)
		}
		time.Sleep(25 * time.Millisecond) // polling an external process, with a deadline
	}
}

// Exec runs SQL (one or more statements) as the superuser in p.Database with
// psql and returns psql's unaligned, tuples-only output.
func (p *Postgres) Exec(ctx context.Context, sql string) (string, error) {
	return p.psql(ctx, p.Database, sql)
}

// MustExec is Exec for tests: it fails the test on error.
func (p *Postgres) MustExec(tb testing.TB, sql string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := p.Exec(ctx, sql)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func (p *Postgres) psql(ctx context.Context, database, sql string) (string, error) {
	bin, err := p.psqlPath()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, bin,
		"-X", "-w", "-q", "-A", "-t",
		"-v", "ON_ERROR_STOP=1",
		"-h", p.Host, "-p", strconv.Itoa(p.Port), "-U", p.User, "-d", database,
		"-c", sql,
	)
	cmd.Env = append(pgEnv(p.Dir), "PGPASSWORD="+p.Password, "PGCONNECT_TIMEOUT=5", "PGSSLMODE=disable")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("vaulttest: psql %.80q: %w: %s", sql, err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// pgEnv is the environment minus PG* (so a developer's PGHOST, PGDATA or
// PGPASSWORD cannot reach the server or psql) with HOME in dir and the C locale.
func pgEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+dir, "LANG=C", "LC_ALL=C")
}

// searchableByAll reports whether every directory from / to dir lets
// others through (so the postgres user can reach what is under it).
func searchableByAll(dir string) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}

// Stop shuts the server down (SIGINT: PostgreSQL's fast shutdown, then
// SIGKILL after 10 s) and removes its directory. It is idempotent.
func (p *Postgres) Stop() {
	p.stopOnce.Do(func() {
		stopProcess(p.cmd, p.done, syscall.SIGINT, 10*time.Second)
		p.removeDir()
	})
}

// kill kills the postmaster and waits for it.
func (p *Postgres) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *Postgres) removeDir() {
	if p.Dir != "" {
		os.RemoveAll(p.Dir)
	}
}

// Logs returns what the server printed so far.
func (p *Postgres) Logs() string { return p.logs.String() }

// Addr is host:port.
func (p *Postgres) Addr() string { return net.JoinHostPort(p.Host, strconv.Itoa(p.Port)) }

// URL is the superuser's connection URL:
// postgres://user:pass@127.0.0.1:port/db?sslmode=disable.
func (p *Postgres) URL() string { return p.URLFor(p.User, p.Password) }

// URLFor is the connection URL to p.Database for other credentials (for
// example those Vault issued).
func (p *Postgres) URLFor(user, password string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, password),
		Host:     p.Addr(),
		Path:     "/" + p.Database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// ConnectionURLTemplate is the connection_url for Vault's database config:
// postgresql://{{username}}:{{password}}@127.0.0.1:port/db?sslmode=disable.
func (p *Postgres) ConnectionURLTemplate() string {
	return "postgresql://{{username}}:{{password}}@" + p.Addr() + "/" + url.PathEscape(p.Database) + "?sslmode=disable"
}

// DBRole is a role of Vault's database secrets engine.
type DBRole struct {
	Name string
	// DefaultTTL and MaxTTL of a dynamic role's leases (0: the mount's).
	DefaultTTL, MaxTTL time.Duration
	// Static makes a static role: StaticUsername (default Name) is created
	// in PostgreSQL as a login role, then handed to Vault, which rotates its
	// password at once and every RotationPeriod (default 1h; Vault's
	// minimum is 5 s).
	Static         bool
	StaticUsername string
	RotationPeriod time.Duration
}

// Statements of dynamic roles. The creation statement limits the role's
// validity (VALID UNTIL: the lease's expiry plus Vault's 5 s buffer); the
// revocation statements make the role unable to log in, end its sessions,
// drop its privileges and drop it, so revoked credentials stop working at
// once, including open connections.
var (
	PostgresCreationStatements = []string{
		`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
		`GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";`,
	}
	PostgresRevocationStatements = []string{
		`ALTER ROLE "{{name}}" NOLOGIN;`,
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{{name}}' AND pid <> pg_backend_pid();`,
		`DROP OWNED BY "{{name}}";`,
		`DROP ROLE IF EXISTS "{{name}}";`,
	}
)

// ConfigurePostgres enables the database secrets engine at mount, writes the
// connection mount/config/postgres (PostgresConnection) for p's superuser
// with the built-in postgresql-database-plugin (allowed_roles "*", the
// connection verified), then writes each role: mount/roles/<name> for a
// dynamic role, mount/static-roles/<name> for a static one (whose PostgreSQL
// user it creates first).
func (s *Server) ConfigurePostgres(tb testing.TB, mount string, p *Postgres, roles ...DBRole) {
	tb.Helper()
	s.EnableSecrets(tb, mount, "database", nil)
	s.Must(tb, http.MethodPost, mount+"/config/"+PostgresConnection, map[string]any{
		"plugin_name":       "postgresql-database-plugin",
		"connection_url":    p.ConnectionURLTemplate(),
		"username":          p.User,
		"password":          p.Password,
		"allowed_roles":     "*",
		"verify_connection": true,
	})
	for _, r := range roles {
		s.AddPostgresRole(tb, mount, p, r)
	}
}

// AddPostgresRole writes one more role to a mount set up by ConfigurePostgres.
func (s *Server) AddPostgresRole(tb testing.TB, mount string, p *Postgres, r DBRole) {
	tb.Helper()
	if r.Name == "" {
		tb.Fatal("vaulttest: DBRole without a Name")
	}
	if !r.Static {
		body := map[string]any{
			"db_name":               PostgresConnection,
			"creation_statements":   PostgresCreationStatements,
			"revocation_statements": PostgresRevocationStatements,
		}
		if r.DefaultTTL > 0 {
			body["default_ttl"] = durationSeconds(r.DefaultTTL)
		}
		if r.MaxTTL > 0 {
			body["max_ttl"] = durationSeconds(r.MaxTTL)
		}
		s.Must(tb, http.MethodPost, mount+"/roles/"+r.Name, body)
		return
	}
	username := r.StaticUsername
	if username == "" {
		username = r.Name
	}
	period := r.RotationPeriod
	if period == 0 {
		period = time.Hour
	}
	// No password: Vault sets one when it takes the role over.
	p.MustExec(tb, fmt.Sprintf(`CREATE ROLE %[1]s WITH LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO %[1]s;`, quoteIdent(username)))
	s.Must(tb, http.MethodPost, mount+"/static-roles/"+r.Name, map[string]any{
		"db_name":         PostgresConnection,
		"username":        username,
		"rotation_period": durationSeconds(period),
	})
}

func durationSeconds(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10) + "s"
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

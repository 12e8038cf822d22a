package vaulttest

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pgConnect connects with pgx and closes the connection when the test ends.
func pgConnect(tb testing.TB, ctx context.Context, url string) *pgx.Conn {
	tb.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// wantAuthFailure checks that connecting fails because PostgreSQL refused
// the credentials (SQLSTATE 28P01, which it also answers for a role that
// does not exist).
func wantAuthFailure(tb testing.TB, ctx context.Context, url string) {
	tb.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err == nil {
		_ = conn.Close(ctx)
		tb.Fatal("connected with credentials that should no longer work")
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		tb.Fatalf("connect error = %v, want SQLSTATE 28P01 (password authentication failed)", err)
	}
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func num(m map[string]any, key string) int {
	f, _ := m[key].(float64)
	return int(f)
}

func TestPostgresStartStop(t *testing.T) {
	t.Parallel()
	begin := time.Now()
	p, err := NewPostgres()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("PostgreSQL from %s answered in %s on %s", p.BinDir, time.Since(begin).Round(time.Millisecond), p.Addr())
	defer p.Stop()
	if p.Host != "127.0.0.1" || p.Port == 0 || p.User == "" || len(p.Password) < 32 || p.Database == "" {
		t.Fatalf("postgres = %+v", p)
	}
	if want := "postgres://" + p.User + ":" + p.Password + "@127.0.0.1:" + strconv.Itoa(p.Port) + "/" + p.Database + "?sslmode=disable"; p.URL() != want {
		t.Errorf("URL() = %q, want %q", p.URL(), want)
	}
	if want := "postgresql://{{username}}:{{password}}@127.0.0.1:" + strconv.Itoa(p.Port) + "/" + p.Database + "?sslmode=disable"; p.ConnectionURLTemplate() != want {
		t.Errorf("ConnectionURLTemplate() = %q, want %q", p.ConnectionURLTemplate(), want)
	}

	// The data directory belongs to the user the server runs as.
	fi, err := os.Stat(filepath.Join(p.Dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 && fi.Sys().(*syscall.Stat_t).Uid == 0 {
		t.Error("the data directory belongs to root")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := pgConnect(t, ctx, p.URL())
	var user, db string
	var super bool
	if err := conn.QueryRow(ctx, `SELECT current_user, current_database(), rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&user, &db, &super); err != nil {
		t.Fatal(err)
	}
	if user != p.User || db != p.Database || !super {
		t.Fatalf("connected as %q to %q (superuser %v), want superuser %q to %q", user, db, super, p.User, p.Database)
	}
	// Nothing is trusted: a wrong password is refused.
	wantAuthFailure(t, ctx, p.URLFor(p.User, "wrong"))
	if out := p.MustExec(t, "SELECT 40 + 2"); out != "42" {
		t.Errorf("MustExec = %q", out)
	}
	if _, err := p.Exec(ctx, "SELECT * FROM no_such_table"); err == nil || !strings.Contains(err.Error(), "no_such_table") {
		t.Errorf("Exec of a bad query: %v", err)
	}
	_ = conn.Close(ctx)

	p.Stop()
	p.Stop() // idempotent
	if _, err := os.Stat(p.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("postgres dir left behind: %v", err)
	}
	if c, err := pgx.Connect(ctx, p.URL()); err == nil {
		_ = c.Close(ctx)
		t.Error("connected after Stop")
	}
	if !strings.Contains(p.Logs(), "shutting down") && !strings.Contains(p.Logs(), "shut down") {
		t.Logf("postgres log:\n%s", p.Logs())
	}
}

func TestPostgresMissingBinaries(t *testing.T) {
	t.Setenv("VAULTTEST_PG_BINDIR", t.TempDir())
	_, err := NewPostgres()
	if !errors.Is(err, ErrNoPostgres) || !strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Fatalf("err = %v, want ErrNoPostgres naming apt-get install postgresql", err)
	}
}

func TestPostgresVaultDynamicCredentials(t *testing.T) {
	t.Parallel()
	p := StartPostgres(t)
	p.MustExec(t, `CREATE TABLE things (id int); INSERT INTO things VALUES (42)`)
	s := Start(t, Options{})
	mount := s.UniqueName("database")
	s.ConfigurePostgres(t, mount, p, DBRole{Name: "app", DefaultTTL: time.Minute, MaxTTL: 2 * time.Minute})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := s.Do(ctx, http.MethodGet, mount+"/creds/app", nil)
	if err != nil {
		t.Fatal(err)
	}
	leaseID, _ := out["lease_id"].(string)
	renewable, _ := out["renewable"].(bool)
	user, pass := str(Data(out), "username"), str(Data(out), "password")
	if !strings.HasPrefix(leaseID, mount+"/creds/app/") || num(out, "lease_duration") != 60 || !renewable || user == "" || pass == "" {
		t.Fatalf("creds = lease %q duration %v renewable %v user %q", leaseID, out["lease_duration"], renewable, user)
	}

	conn := pgConnect(t, ctx, p.URLFor(user, pass))
	var id int
	if err := conn.QueryRow(ctx, "SELECT id FROM things").Scan(&id); err != nil || id != 42 {
		t.Fatalf("SELECT as the dynamic user: %d %v", id, err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO things VALUES (1)"); err == nil {
		t.Fatal("the dynamic user (SELECT only) could insert")
	}
	// VALID UNTIL is the lease's expiry plus Vault's 5 s buffer.
	validFor := func() int {
		t.Helper()
		s := p.MustExec(t, "SELECT extract(epoch FROM rolvaliduntil - now())::int FROM pg_roles WHERE rolname = '"+user+"'")
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("rolvaliduntil of %s: %q", user, s)
		}
		return n
	}
	if v := validFor(); v < 55 || v > 66 {
		t.Errorf("role valid for %d s, want about 65", v)
	}

	// Renewal moves VALID UNTIL; an increment past max_ttl is capped.
	ren := s.Must(t, http.MethodPut, "sys/leases/renew", map[string]any{"lease_id": leaseID, "increment": 90})
	if d := num(ren, "lease_duration"); d != 90 {
		t.Errorf("renew 90s: lease_duration %d", d)
	}
	if v := validFor(); v < 85 || v > 96 {
		t.Errorf("after renewing for 90 s the role is valid for %d s", v)
	}
	ren = s.Must(t, http.MethodPut, "sys/leases/renew", map[string]any{"lease_id": leaseID, "increment": 3600})
	if d := num(ren, "lease_duration"); d > 120 || d < 100 {
		t.Errorf("renew past max_ttl: lease_duration %d, want capped at about 120", d)
	}

	// Revocation (synchronous) drops the role and ends its sessions.
	s.Must(t, http.MethodPut, "sys/leases/revoke", map[string]any{"lease_id": leaseID})
	if n := p.MustExec(t, "SELECT count(*) FROM pg_roles WHERE rolname = '"+user+"'"); n != "0" {
		t.Errorf("role %s still exists after revocation", user)
	}
	if err := conn.QueryRow(ctx, "SELECT id FROM things").Scan(&id); err == nil {
		t.Error("a session opened before the revocation still works")
	}
	wantAuthFailure(t, ctx, p.URLFor(user, pass))
	if _, err := s.Do(ctx, http.MethodPut, "sys/leases/lookup", map[string]any{"lease_id": leaseID}); err == nil {
		t.Error("the revoked lease can still be looked up")
	}
}

func TestPostgresVaultStaticCredentials(t *testing.T) {
	t.Parallel()
	p := StartPostgres(t)
	s := Start(t, Options{})
	mount := s.UniqueName("database")
	s.ConfigurePostgres(t, mount, p, DBRole{Name: "svc", Static: true, StaticUsername: "svc_user", RotationPeriod: time.Hour})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	first := Data(s.Must(t, http.MethodGet, mount+"/static-creds/svc", nil))
	user, pass := str(first, "username"), str(first, "password")
	if user != "svc_user" || pass == "" || num(first, "rotation_period") != 3600 || num(first, "ttl") <= 0 {
		t.Fatalf("static creds = %v", first)
	}
	old := pgConnect(t, ctx, p.URLFor(user, pass))
	var who string
	if err := old.QueryRow(ctx, "SELECT current_user").Scan(&who); err != nil || who != user {
		t.Fatalf("SELECT current_user: %q %v", who, err)
	}

	s.Must(t, http.MethodPost, mount+"/rotate-role/svc", nil)
	second := Data(s.Must(t, http.MethodGet, mount+"/static-creds/svc", nil))
	newPass := str(second, "password")
	if newPass == "" || newPass == pass || str(second, "username") != user {
		t.Fatalf("after rotate-role: %v", second)
	}
	if str(second, "last_vault_rotation") == str(first, "last_vault_rotation") {
		t.Errorf("last_vault_rotation did not move: %v", second["last_vault_rotation"])
	}
	wantAuthFailure(t, ctx, p.URLFor(user, pass))
	conn := pgConnect(t, ctx, p.URLFor(user, newPass))
	if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&who); err != nil || who != user {
		t.Fatalf("with the rotated password: %q %v", who, err)
	}
	// Rotation changes the password only: a session opened before it lives on.
	if err := old.QueryRow(ctx, "SELECT current_user").Scan(&who); err != nil {
		t.Errorf("the session opened before the rotation: %v", err)
	}
}

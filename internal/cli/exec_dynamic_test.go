package cli

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/vaulttest"
	"github.com/jackc/pgx/v5"
)

// liveLeases lists the leases under prefix (sys/leases/lookup), none when
// Vault has no entry left.
func liveLeases(t *testing.T, prefix string) []any {
	t.Helper()
	out, err := vault.Do(context.Background(), "LIST", "sys/leases/lookup/"+prefix, nil)
	if err != nil {
		return nil // 404: nothing there
	}
	keys, _ := vaulttest.Data(out)["keys"].([]any)
	return keys
}

// TestExecDynamicPostgres: database credentials with a 15 s max TTL are
// replaced before it, the child is restarted once per rotation and logs in
// to PostgreSQL with the new ones; at exit the leases and the token are
// revoked and the credentials no longer log in.
func TestExecDynamicPostgres(t *testing.T) {
	vault.Require(t)
	pg := vaulttest.StartPostgres(t)
	mount := vault.UniqueName("database")
	vault.ConfigurePostgres(t, mount, pg, vaulttest.DBRole{Name: "app", DefaultTTL: 5 * time.Second, MaxTTL: 15 * time.Second})
	env, role := approleEnv(t, vault.Addr, `path "`+mount+`/creds/app" { capabilities = ["read"] }
path "sys/leases/revoke" { capabilities = ["update"] }`)
	report := filepath.Join(t.TempDir(), "report")
	p := startGdsvault(t, env, append([]string{"exec", "-v", "-debounce", "200ms",
		"-secret", "DB_USER=" + mount + "/creds/app#username", "-secret", "DB_PASS=" + mount + "/creds/app#password"},
		childArgs(report, "-pg", pg.Addr(), "-pg-db", pg.Database)...)...)

	logins := func() []childEvent { return eventsOf(readReport(report), "pg") }
	eventually(t, "the first child's login", func() bool { return len(logins()) >= 1 || p.exited() })
	eventually(t, "a rotation and the second child's login", func() bool { return len(logins()) >= 2 || p.exited() })
	starts := eventsOf(readReport(report), "start")
	ls := logins()
	if len(starts) < 2 || len(ls) < 2 {
		t.Fatalf("starts %d, logins %d", len(starts), len(ls))
	}
	for i, l := range ls[:2] {
		if !l.OK || l.Pid != starts[i].Pid {
			t.Errorf("child %d (pid %d) login: %+v", i, starts[i].Pid, l)
		}
	}
	if ls[0].User == ls[1].User {
		t.Errorf("the restarted child got the same user %s", ls[0].User)
	}
	t.Logf("first child at %s, second (new credentials) %.1f s later (max TTL 15 s)",
		starts[0].Time.Format(time.StampMilli), starts[1].Time.Sub(starts[0].Time).Seconds())
	if secrets := secretsIn(p.stderr.String(), starts[0].Env["DB_PASS"], starts[1].Env["DB_PASS"]); len(secrets) > 0 {
		t.Errorf("gdsvault logged passwords: %v", secrets)
	}
	if len(liveLeases(t, mount+"/creds/app/")) == 0 {
		t.Error("no lease while running")
	}

	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit status %d", code)
	}
	if n := len(liveLeases(t, mount+"/creds/app/")); n != 0 {
		t.Errorf("%d leases left after exit", n)
	}
	if toks := roleTokens(t, role); len(toks) != 0 {
		t.Errorf("token not revoked: %v", toks)
	}
	final := eventsOf(readReport(report), "start")
	last := final[len(final)-1]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.URLFor(last.Env["DB_USER"], last.Env["DB_PASS"]))
	if err == nil {
		conn.Close(ctx)
		t.Error("the last credentials still log in after exit")
	} else if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("PostgreSQL: %v", err)
	}
}

package cli

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/vaulttest"
)

// TestAgentLeasedSecret: a template naming database credentials holds one
// lease (username and password from the same one), re-renders when the
// lease is replaced before its max TTL, and revokes it at exit.
func TestAgentLeasedSecret(t *testing.T) {
	vault.Require(t)
	pg := vaulttest.StartPostgres(t)
	mount := vault.UniqueName("database")
	vault.ConfigurePostgres(t, mount, pg, vaulttest.DBRole{Name: "app", DefaultTTL: 5 * time.Second, MaxTTL: 15 * time.Second})
	env, _ := approleEnv(t, vault.Addr, `path "`+mount+`/creds/app" { capabilities = ["read"] }
path "sys/leases/revoke" { capabilities = ["update"] }`)
	dir := t.TempDir()
	dest := filepath.Join(dir, "db.conf")
	cfg := writeAgentConfig(t, dir, fmt.Sprintf(`templates:
  - contents: '{{ secret "%[1]s/creds/app" "username" }}:{{ secret "%[1]s/creds/app" "password" }}'
    destination: db.conf
`, mount))
	p := startGdsvault(t, env, "agent", cfg)
	var seen []string
	eventually(t, "two renders of different credentials", func() bool {
		if s, ok := stat(t, dest); ok && (len(seen) == 0 || seen[len(seen)-1] != s.content) {
			seen = append(seen, s.content)
		}
		return len(seen) >= 2 || p.exited()
	})
	u0, _, _ := strings.Cut(seen[0], ":")
	u1, _, _ := strings.Cut(seen[1], ":")
	if u0 == "" || u0 == u1 {
		t.Errorf("renders %q", seen)
	}
	if n := len(liveLeases(t, mount+"/creds/app/")); n == 0 || n > 2 {
		t.Errorf("%d leases while running, want the current one (and the previous one in its grace period)", n)
	}
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Errorf("exit %d", code)
	}
	if n := len(liveLeases(t, mount+"/creds/app/")); n != 0 {
		t.Errorf("%d leases left after exit", n)
	}
	if found := secretsIn(p.stderr.String(), strings.SplitN(seen[1], ":", 2)[1]); len(found) > 0 {
		t.Error("the agent logged a password")
	}
}

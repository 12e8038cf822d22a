package bench

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/vaulttest"
)

// TestCLIRequests: `gdsvault get` makes no request it does not need. With a
// token: the mount lookup and the read, nothing else (no lookup-self). With
// AppRole: the login, the mount lookup, the read, and the revocation of its
// token at exit. A proxy in front of the lab's Vault counts them.
func TestCLIRequests(t *testing.T) {
	lab := benchLab(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	gds, err := FindGdsvault()
	if err != nil {
		if gds, err = BuildGdsvault(ctx, t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	sid, err := lab.NewSecretID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []string
		want map[string]int
	}{
		{"token", []string{"VAULT_TOKEN=" + lab.Token}, map[string]int{
			"sys/internal/ui/mounts/secret/myapp/config": 1, "secret/data/myapp/config": 1}},
		{"approle", []string{"VAULT_AUTH_METHOD=approle", "VAULT_ROLE_ID=" + lab.RoleID, "VAULT_SECRET_ID=" + sid}, map[string]int{
			"auth/approle/login": 1, "sys/internal/ui/mounts/secret/myapp/config": 1, "secret/data/myapp/config": 1, "auth/token/revoke-self": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := vaulttest.NewProxy(t, lab.Addr)
			cmd := exec.CommandContext(ctx, gds, "get", "-field", "db_host", LabCLIPath)
			cmd.Env = append([]string{"HOME=" + t.TempDir(), "VAULT_ADDR=" + p.Addr, "PATH=" + os.Getenv("PATH")}, tt.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil || strings.TrimSpace(string(out)) != LabHost {
				t.Fatalf("gdsvault get: %q, %v: %s", out, err, stderr.String())
			}
			st := p.Stats()
			for path, n := range st.Paths {
				if tt.want[path] != n {
					t.Errorf("%s: %d requests, want %d", path, n, tt.want[path])
				}
			}
			for path, n := range tt.want {
				if st.Paths[path] != n {
					t.Errorf("%s: %d requests, want %d", path, st.Paths[path], n)
				}
			}
		})
	}
}

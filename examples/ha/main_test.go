package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/vaulttest"
)

// TestReadsThroughLeaderKill runs the program against a real 3-node cluster,
// kills the leader while it reads, and stops it once reads go on elsewhere:
// it must report a node change and 0 failed reads, and print no secret.
func TestReadsThroughLeaderKill(t *testing.T) {
	if testing.Short() {
		t.Skip("a 3-node cluster")
	}
	cl := vaulttest.NewCluster(t, 3, vaulttest.ClusterOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	leader, err := cl.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const secretValue = "example-s3cret-never-shown"
	cl.Server(leader).PutKV(t, "secret", "myapp/config", map[string]any{"db_host": "postgres.example.com", "db_pass": secretValue})
	env := map[string]string{"VAULT_ADDRS": strings.Join(cl.Addresses(), ","), "VAULT_TOKEN": cl.RootToken, "HOME": t.TempDir()}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	out := &vaulttest.LogBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(runCtx, []string{"-readers", "4"}, lookup, out) }()

	// waitFor polls the output until re matches after offset from, and
	// returns the end of the match.
	waitFor := func(what string, re *regexp.Regexp, from int) int {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			s := out.String()
			if m := re.FindStringIndex(s[from:]); m != nil {
				return from + m[1]
			}
			select {
			case err := <-done:
				t.Fatalf("the program stopped before %s: %v\n%s", what, err, s)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s within 2 minutes; output:\n%s", what, s)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	reading := regexp.MustCompile(`(?m)^\s*\S+s\s+[1-9]\d* reads/s`)
	at := waitFor("reads", reading, 0)
	if err := cl.Kill(leader); err != nil {
		t.Fatal(err)
	}
	at = waitFor("node change", regexp.MustCompile(`node change: `+regexp.QuoteMeta(cl.Node(leader).Addr)+` -> `), at)
	// A whole second of reads through one of the nodes left.
	var others []string
	for i, a := range cl.Addresses() {
		if i != leader {
			others = append(others, regexp.QuoteMeta(a))
		}
	}
	waitFor("a second of reads through another node", regexp.MustCompile(`(?m)^\s*\S+s\s+[1-9]\d* reads/s\s+0 failed\s+via (`+strings.Join(others, "|")+`)  \[`), at)
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	case <-time.After(time.Minute):
		t.Fatal("the program did not stop")
	}
	if !regexp.MustCompile(`summary: [1-9]\d* reads in \S+, 0 failed, `).MatchString(out.String()) {
		t.Errorf("no summary with 0 failed reads:\n%s", out)
	}
	t.Logf("output:\n%s", out)
	vaulttest.AssertNoSecret(t, "output", out.String(), secretValue, cl.RootToken)
}

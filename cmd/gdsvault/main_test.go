package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/internal/cli"
	"github.com/gdsvault/gdsvault/vaulttest"
)

var vault *vaulttest.Server

func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m, vaulttest.Options{}, &vault)) }

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// TestAWSIsLinked: the command line logs in with AWS IAM like with every
// other method: without AWS credentials the AWS SDK's chain says so,
// where a build without the AWS module says the method is not linked.
func TestAWSIsLinked(t *testing.T) {
	vault.Require(t)
	var out, errOut bytes.Buffer
	env := map[string]string{"VAULT_ADDR": vault.Addr, "VAULT_AUTH_METHOD": "aws", "VAULT_AWS_ROLE": "r", "HOME": t.TempDir(),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
	code := cli.Main(t.Context(), []string{"login"}, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut}, lookup(env), options()...)
	if code == 0 || strings.Contains(errOut.String(), "not linked") || !strings.Contains(errOut.String(), "AWS") {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
}

// TestAgentServesMetrics: `gdsvault agent -listen` serves the Prometheus
// collector's series for its client on /metrics, with no token in them.
func TestAgentServesMetrics(t *testing.T) {
	vault.Require(t)
	dir := t.TempDir()
	vault.PutKV(t, "secret", "metrics-app", map[string]any{"v": "rendered-value"})
	cfg := filepath.Join(dir, "agent.yaml")
	dest := filepath.Join(dir, "out.txt")
	yaml := "refresh: 1s\ntemplates:\n  - contents: '{{ secret \"secret/metrics-app\" \"v\" }}'\n    destination: " + dest + "\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	var errOut vaulttest.LogBuffer
	env := map[string]string{"VAULT_ADDR": vault.Addr, "VAULT_TOKEN": vault.RootToken, "HOME": dir}
	go func() {
		done <- cli.Main(ctx, []string{"agent", "-listen", addr, cfg}, cli.Streams{In: strings.NewReader(""), Out: io.Discard, Err: &errOut}, lookup(env), options()...)
	}()
	var body string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(b), "gdsvault_request_duration_seconds_count") {
				body = string(b)
				break
			}
		}
		time.Sleep(50 * time.Millisecond) // polling the agent, with a deadline
	}
	cancel()
	<-done
	if body == "" {
		t.Fatalf("no /metrics with gdsvault series; agent log:\n%s", errOut.String())
	}
	for _, want := range []string{`gdsvault_request_duration_seconds_count{method="GET"`, "gdsvault_cache_", "gdsvault_clients 1"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	vaulttest.AssertNoSecret(t, "/metrics", body, vault.RootToken, "rendered-value")
}

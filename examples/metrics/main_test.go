package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/vaulttest"
)

// TestServesMetricsWhileReading runs the program against a real Vault on a
// free port, scrapes /metrics until the reads show in it (a fetch, then
// cache hits), and stops it.
func TestServesMetricsWhileReading(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	const secretValue = "example-s3cret-never-shown"
	srv.PutKV(t, "secret", "myapp/config", map[string]any{"db_pass": secretValue})
	env := map[string]string{"VAULT_ADDR": srv.Addr, "VAULT_TOKEN": srv.RootToken, "HOME": t.TempDir()}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &vaulttest.LogBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-every", "50ms"}, lookup, out) }()

	deadline := time.Now().Add(30 * time.Second)
	addr := regexp.MustCompile(`serving metrics on (http://\S+)`)
	var url, text string
	for {
		if m := addr.FindStringSubmatch(out.String()); m != nil && url == "" {
			url = m[1]
		}
		if url != "" {
			text = scrape(t, url)
			if strings.Contains(text, `gdsvault_cache_fetches_total{cache="kv"} 1`) && regexp.MustCompile(`gdsvault_cache_hits_total\{cache="kv"\} [1-9]`).MatchString(text) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no cache hits in /metrics after 30 s; output:\n%s\nmetrics:\n%s", out.String(), text)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{
		`gdsvault_request_duration_seconds_count{method="GET",mount="secret",status_class="2xx"} 1`,
		`gdsvault_clients 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the program did not stop")
	}
	if !strings.Contains(out.String(), "read KVSecret{path=secret/myapp/config") {
		t.Errorf("output:\n%s", out.String())
	}
	for what, s := range map[string]string{"output": out.String(), "/metrics": text} {
		vaulttest.AssertNoSecret(t, what, s, secretValue, srv.RootToken)
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

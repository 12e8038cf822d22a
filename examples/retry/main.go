// Command retry is the second exercise of the course's "Caching and retry"
// lesson: a read that meets a sealed Vault is retried with exponential
// backoff and full jitter until Vault is unsealed (make demo unseals it while
// this runs). Each HTTP request (the token lookup that comes first, the mount
// lookup, the read) is printed by a small transport wrapper: the 503s of
// the sealed Vault, spaced by growing, jittered waits, then the 200s.
//
//	VAULT_ADDR=... VAULT_TOKEN=... go run ./examples/retry
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth"
	"github.com/gdsvault/gdsvault/retry"
)

// attempts prints every HTTP attempt to the secret.
type attempts struct {
	n     atomic.Int64
	start time.Time
}

func (a *attempts) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	n := a.n.Add(1)
	at := time.Since(a.start).Round(time.Millisecond)
	switch {
	case err != nil:
		fmt.Printf("  request %d at +%v: %s %s: %v\n", n, at, req.Method, req.URL.Path, err)
	default:
		fmt.Printf("  request %d at +%v: %s %s: HTTP %d\n", n, at, req.Method, req.URL.Path, resp.StatusCode)
	}
	return resp, err
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "retry:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tr := &attempts{start: time.Now()}
	client, err := auth.FromEnv(os.LookupEnv,
		gdsvault.WithTransport(tr),
		gdsvault.WithRetry(retry.Policy{MaxAttempts: 10, BaseDelay: 200 * time.Millisecond, MaxDelay: 2 * time.Second}),
	)
	if err != nil {
		return err
	}
	defer client.Close(ctx)

	fmt.Println("reading secret/data/myapp/config (503 while Vault is sealed; retried with backoff):")
	secret, err := client.GetSecret(ctx, "secret/data/myapp/config")
	if err != nil {
		return err
	}
	fmt.Printf("Database: %v, after %d requests\n", secret.Data["db_host"], tr.n.Load())
	return nil
}

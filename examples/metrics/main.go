// Command metrics serves a gdsvault client's Prometheus metrics on /metrics
// while it reads a secret periodically (through the client's cache, so that
// the cache counters move too). It never prints a secret value: only how
// many keys the secret holds.
//
//	VAULT_ADDR=... VAULT_TOKEN=... go run ./examples/metrics -listen 127.0.0.1:9464 -path secret/data/myapp/config -every 5s
//	curl -s http://127.0.0.1:9464/metrics | grep ^gdsvault_
//
// Any auth method auth.FromEnv knows works (VAULT_ROLE_ID and
// VAULT_SECRET_ID for AppRole...). It is a nested module: run it from its
// directory (cd examples/metrics && go run .).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth"
	"github.com/gdsvault/gdsvault/config"
	"github.com/gdsvault/gdsvault/metrics/prom"
	"github.com/gdsvault/gdsvault/secretcache"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "metrics:", err)
		os.Exit(1)
	}
}

// run serves /metrics and reads the secret until ctx ends.
func run(ctx context.Context, args []string, lookup config.LookupFunc, out io.Writer) error {
	fs := flag.NewFlagSet("metrics", flag.ContinueOnError)
	fs.SetOutput(out)
	listen := fs.String("listen", "127.0.0.1:9464", "address to serve /metrics on")
	path := fs.String("path", "secret/data/myapp/config", "secret to read")
	every := fs.Duration("every", 5*time.Second, "time between reads")
	cacheTTL := fs.Duration("cache-ttl", 30*time.Second, "how long a read is served from the cache")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *every <= 0 {
		return errors.New("-every must be positive")
	}

	// The collector is the client's observer and a prometheus.Collector.
	col, err := prom.NewCollector()
	if err != nil {
		return err
	}
	client, err := auth.FromEnv(lookup, gdsvault.WithCache(secretcache.WithTTL(*cacheTTL)), gdsvault.WithObserver(col))
	if err != nil {
		return err
	}
	defer client.Close(context.WithoutCancel(ctx))

	reg := prometheus.NewRegistry()
	reg.MustRegister(col, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(out, "serving metrics on http://%s/metrics\n", ln.Addr())

	tick := time.NewTicker(*every)
	defer tick.Stop()
	for {
		read(ctx, client, *path, out)
		select {
		case <-ctx.Done():
			shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(shutdown); err != nil {
				return err
			}
			if err := <-served; !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		case err := <-served:
			return err
		case <-tick.C:
		}
	}
}

// read reads the secret once and says how it went, without its values.
func read(ctx context.Context, c *gdsvault.Client, path string, out io.Writer) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := c.GetSecret(ctx, path)
	switch {
	case ctx.Err() != nil:
	case err != nil:
		fmt.Fprintf(out, "read %s: %v (%s)\n", path, err, gdsvault.ErrorKind(err))
	default:
		fmt.Fprintf(out, "read %v (stale %v)\n", s, s.Stale) // path, version and keys: never the values
	}
}

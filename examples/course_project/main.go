// Command course_project is the course project as a small service: it reads
// its settings from the environment (and GDSVAULT_CONFIG's YAML section),
// logs in with AppRole in production and with a token in development (the
// seed's decision tree), reads its configuration from KV through a cache
// with stale fallback and retries, and talks to PostgreSQL with dynamic
// credentials that gdsvault renews and rotates underneath a pgx pool. Its
// JSON logs never hold a token, a secret ID or a password.
//
//	ENVIRONMENT=development VAULT_ADDR=... VAULT_TOKEN=... \
//	APP_DB_ADDR=127.0.0.1:5432 APP_DB_NAME=app go run ./examples/course_project
//
//	ENVIRONMENT=production VAULT_ADDR=... VAULT_ROLE_ID=... VAULT_SECRET_ID_FILE=/run/secrets/secret-id ...
//
// Settings: APP_CONFIG_PATH (default secret/data/myapp/config, or
// secret_path_prefix + /myapp/config from the YAML file), APP_DB_CREDS_PATH
// (default database/creds/app), APP_DB_ADDR, APP_DB_NAME, APP_RUN_FOR
// (default 15s; 0 runs until SIGINT or SIGTERM).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth"
	"github.com/gdsvault/gdsvault/config"
	"github.com/gdsvault/gdsvault/lease"
	"github.com/gdsvault/gdsvault/retry"
	"github.com/gdsvault/gdsvault/secretcache"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// settings are the service's own settings (Vault's come from package config).
type settings struct {
	ConfigPath string
	CredsPath  string
	DBAddr     string
	DBName     string
	RunFor     time.Duration
	Lookup     config.LookupFunc
	Logs       io.Writer
}

// report is what a run did.
type report struct {
	Method              string
	Queries, Failed     int64
	Renewals, Rotations int
	ConfigStale         bool
	DBHostFromConfig    string
	LastQueryUser       string
}

func main() {
	s := settings{ConfigPath: env("APP_CONFIG_PATH", ""), CredsPath: env("APP_DB_CREDS_PATH", "database/creds/app"),
		DBAddr: env("APP_DB_ADDR", "127.0.0.1:5432"), DBName: env("APP_DB_NAME", "postgres"), Lookup: os.LookupEnv, Logs: os.Stderr}
	d, err := time.ParseDuration(env("APP_RUN_FOR", "15s"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "course_project: APP_RUN_FOR:", err)
		os.Exit(2)
	}
	s.RunFor = d
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := run(ctx, s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "course_project:", err)
		os.Exit(1)
	}
	fmt.Printf("auth=%s queries=%d failed=%d lease_renewals=%d rotations=%d\n", r.Method, r.Queries, r.Failed, r.Renewals, r.Rotations)
}

func env(k, def string) string {
	if v, ok := os.LookupEnv(k); ok && v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, s settings) (*report, error) {
	logger := slog.New(slog.NewJSONHandler(s.Logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg, err := config.Load(config.Source{Lookup: s.Lookup})
	if err != nil {
		return nil, err
	}
	client, decision, err := auth.NewClient(cfg, []gdsvault.Option{
		gdsvault.WithLogger(logger),
		gdsvault.WithCache(secretcache.WithTTL(5*time.Minute), secretcache.WithMaxStale(time.Hour), secretcache.WithLogger(logger)),
		gdsvault.WithCircuitBreaker(retry.BreakerConfig{}),
	})
	if err != nil {
		return nil, err
	}
	defer client.Close(context.Background())
	logger.Info("starting", "environment", cfg.Environment, "auth_method", decision.Method, "why", decision.Reason)
	if err := client.Authenticate(ctx); err != nil {
		return nil, fmt.Errorf("logging in: %w", err)
	}

	// Application configuration from KV (cached; a stale copy if Vault is down).
	path := s.ConfigPath
	if path == "" {
		path = cfg.SecretPath("myapp/config")
		if cfg.SecretPathPrefix == "" {
			path = "secret/data/myapp/config"
		}
	}
	appCfg, err := client.GetSecret(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("reading the configuration: %w", err)
	}
	rep := &report{Method: decision.Method, ConfigStale: appCfg.Stale}
	rep.DBHostFromConfig, _ = appCfg.Data["db_host"].(string)
	logger.Info("configuration read", "path", path, "keys", appCfg, "stale", appCfg.Stale)

	// Dynamic database credentials, renewed and rotated underneath the pool.
	var pool atomic.Pointer[pgxpool.Pool]
	creds, err := lease.Watch(ctx, client, s.CredsPath, lease.WithLogger(logger), lease.WithGracePeriod(5*time.Second),
		lease.OnRotate(func(r lease.Rotation) {
			if p := pool.Load(); p != nil {
				p.Reset() // new connections log in with the new credentials
			}
		}))
	if err != nil {
		return nil, fmt.Errorf("reading database credentials: %w", err)
	}
	defer creds.Close(context.Background())
	pcfg, err := pgxpool.ParseConfig("postgres://" + s.DBAddr + "/" + s.DBName + "?sslmode=disable")
	if err != nil {
		return nil, err
	}
	pcfg.MaxConns = 4
	pcfg.BeforeConnect = func(_ context.Context, cc *pgx.ConnConfig) error {
		cur := creds.Current()
		cc.User, _ = cur.Data["username"].(string)
		cc.Password, _ = cur.Data["password"].(string)
		return nil
	}
	p, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, err
	}
	pool.Store(p)
	defer p.Close()

	// The service's work: a query every 100 ms.
	runCtx := ctx
	if s.RunFor > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, s.RunFor)
		defer cancel()
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-runCtx.Done():
			rep.Renewals, rep.Rotations = creds.Stats()
			logger.Info("stopping", "queries", rep.Queries, "failed", rep.Failed, "lease_renewals", rep.Renewals, "rotations", rep.Rotations)
			return rep, nil
		case <-tick.C:
		}
		qctx, cancel := context.WithTimeout(runCtx, 5*time.Second)
		var user string
		err := p.QueryRow(qctx, "SELECT current_user").Scan(&user)
		cancel()
		rep.Queries++
		if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			rep.Failed++
			logger.Warn("query failed", "error", err.Error())
		}
		if err == nil {
			rep.LastQueryUser = user
		}
	}
}

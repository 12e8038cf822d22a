package lease_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/lease"
	"github.com/gdsvault/gdsvault/vaulttest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	vault *vaulttest.Server
	pg    *vaulttest.Postgres
)

func TestMain(m *testing.M) {
	var err error
	pg, err = vaulttest.NewPostgres()
	switch {
	case errors.Is(err, vaulttest.ErrNoPostgres) && !vaulttest.Required():
		fmt.Fprintln(os.Stderr, "lease: no PostgreSQL server binaries: the PostgreSQL tests skip (apt-get install postgresql)")
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := vaulttest.Main(m, vaulttest.Options{}, &vault)
	if pg != nil {
		pg.Stop()
	}
	os.Exit(code)
}

// requirePostgres skips a test that needs PostgreSQL when there is none
// (and vaulttest.Required is off).
func requirePostgres(t *testing.T) {
	t.Helper()
	vault.Require(t)
	if pg == nil {
		t.Skip("no PostgreSQL server binaries")
	}
}

// rootClient is a client of the shared server with its root token, a quiet
// logger and opts, closed when the test ends.
func rootClient(t *testing.T, opts ...gdsvault.Option) *gdsvault.Client {
	t.Helper()
	c, err := gdsvault.New(append([]gdsvault.Option{gdsvault.WithAddress(vault.Addr), gdsvault.WithToken(vault.RootToken),
		gdsvault.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// canConnect reports whether user/password log in to PostgreSQL.
func canConnect(user, password string) error {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(c, pg.URLFor(user, password))
	if err != nil {
		return err
	}
	defer conn.Close(c)
	var one int
	return conn.QueryRow(c, "SELECT 1").Scan(&one)
}

func creds(s *gdsvault.Secret) (string, string) {
	u, _ := s.Data["username"].(string)
	p, _ := s.Data["password"].(string)
	return u, p
}

// TestPoolFollowsRotations: a pgx pool whose connections take the manager's
// current credentials runs queries for a minute while the credentials are
// renewed and rotated underneath (default TTL 6 s, max TTL 15 s): zero
// failed queries, and old credentials stop working once revoked.
func TestPoolFollowsRotations(t *testing.T) {
	requirePostgres(t)
	if testing.Short() {
		t.Skip("one-minute soak")
	}
	mount := vault.UniqueName("database")
	vault.ConfigurePostgres(t, mount, pg, vaulttest.DBRole{Name: "app", DefaultTTL: 6 * time.Second, MaxTTL: 15 * time.Second})
	c := rootClient(t)

	var pool *pgxpool.Pool
	var mu sync.Mutex
	var rotations []lease.Rotation
	m, err := lease.Watch(ctx(t), c, mount+"/creds/app", lease.WithGracePeriod(3*time.Second), lease.WithLogger(slog.New(slog.DiscardHandler)),
		lease.OnRotate(func(r lease.Rotation) {
			mu.Lock()
			rotations = append(rotations, r)
			mu.Unlock()
			pool.Reset() // new connections use the new credentials; busy ones close when released
		}))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig(pg.URLFor("placeholder", "placeholder"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 8
	cfg.BeforeConnect = func(_ context.Context, cc *pgx.ConnConfig) error {
		cc.User, cc.Password = creds(m.Current())
		return nil
	}
	if pool, err = pgxpool.NewWithConfig(ctx(t), cfg); err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	var queries, failed atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(time.Minute)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for time.Now().Before(deadline) && queries.Load() < 2_000_000 {
				queries.Add(1)
				qctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				var n int
				err := pool.QueryRow(qctx, "SELECT count(*) FROM pg_stat_activity").Scan(&n)
				cancel()
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	renewals, rots := m.Stats()
	t.Logf("one minute, 8 workers: %d queries, %d failed, %d lease renewals, %d rotations", queries.Load(), failed.Load(), renewals, rots)
	if failed.Load() != 0 {
		t.Fatalf("%d queries failed; first: %v", failed.Load(), firstErr.Load())
	}
	if rots < 3 || renewals < 3 {
		t.Errorf("rotations %d, renewals %d: want several of each in a minute of 15 s max TTLs", rots, renewals)
	}
	// Old credentials stop working once their lease is revoked.
	mu.Lock()
	first := rotations[0]
	mu.Unlock()
	u, p := creds(first.Old)
	if time.Now().Before(first.RevokeAt) {
		t.Fatalf("first rotation's old lease not yet due at the end of the run")
	}
	if err := canConnect(u, p); err == nil {
		t.Errorf("old credentials %s still log in after revocation", u)
	}
	// Close revokes the current credentials too.
	cu, cp := creds(m.Current())
	if err := canConnect(cu, cp); err != nil {
		t.Fatalf("current credentials do not work: %v", err)
	}
	if err := m.Close(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := canConnect(cu, cp); err == nil {
		t.Error("current credentials still log in after Close")
	}
	if err := m.Close(ctx(t)); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestWatchNeedsALease(t *testing.T) {
	vault.Require(t)
	c := rootClient(t)
	vault.PutKV(t, "secret", "static", map[string]any{"k": "v"})
	_, err := lease.Watch(ctx(t), c, "secret/data/static")
	if !errors.Is(err, gdsvault.ErrConfig) || !strings.Contains(err.Error(), "without a lease") {
		t.Errorf("err = %v", err)
	}
	if _, err := lease.Watch(ctx(t), c, "nothing/creds/x"); !errors.Is(err, gdsvault.ErrNotFound) {
		t.Errorf("missing path: %v", err)
	}
}

// TestRotationBypassesClientCache: with the client's cache on, a rotation
// still reads new credentials from Vault (never the cached lease), so the
// lease it revokes is never the one in use.
func TestRotationBypassesClientCache(t *testing.T) {
	requirePostgres(t)
	if testing.Short() {
		t.Skip("waits for a rotation")
	}
	mount := vault.UniqueName("database")
	vault.ConfigurePostgres(t, mount, pg, vaulttest.DBRole{Name: "app", DefaultTTL: 4 * time.Second, MaxTTL: 6 * time.Second})
	c := rootClient(t, gdsvault.WithCache())
	rotated := make(chan lease.Rotation, 4)
	m, err := lease.Watch(ctx(t), c, mount+"/creds/app", lease.WithGracePeriod(time.Second), lease.WithLogger(slog.New(slog.DiscardHandler)),
		lease.OnRotate(func(r lease.Rotation) { rotated <- r }))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	select {
	case r := <-rotated:
		if r.Old.LeaseID == r.New.LeaseID {
			t.Fatalf("rotation handed the same lease %s", r.New.LeaseID)
		}
		// After the grace period the old lease is revoked and the current one still works.
		deadline := time.Now().Add(10 * time.Second)
		u, p := creds(r.Old)
		for canConnect(u, p) == nil && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if cu, cp := creds(m.Current()); canConnect(cu, cp) != nil {
			t.Fatalf("the current credentials do not work after the rotation")
		}
		if canConnect(u, p) == nil {
			t.Error("old credentials still work after the grace period")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no rotation within 20 s of a 6 s max TTL")
	}
}

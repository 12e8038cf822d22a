package prom_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/metrics/prom"
	"github.com/gdsvault/gdsvault/vaulttest"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestCardinalityStaysBounded reads 10,000 distinct paths from a real Vault
// — existing and missing secrets on a known mount, and paths whose first
// segment is no mount at all (each its own "mount" as far as the client can
// tell) — then 2,000 more on new first segments: the series count is the
// same after both, with at most DefaultMaxMounts mount values and "other"
// for the rest, and no path in any label.
func TestCardinalityStaysBounded(t *testing.T) {
	vault.Require(t)
	if testing.Short() {
		t.Skip("12,000 reads")
	}
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	const existing = 500
	ctx := vaulttest.Context(t)
	for i := range existing {
		if _, err := vault.Do(ctx, http.MethodPost, fmt.Sprintf("%s/data/app-%d/config", mount, i), map[string]any{"data": map[string]any{"v": i}}); err != nil {
			t.Fatal(err)
		}
	}
	col, err := prom.NewCollector()
	if err != nil {
		t.Fatal(err)
	}
	c, err := gdsvault.New(gdsvault.WithAddress(vault.Addr), gdsvault.WithToken(vault.RootToken),
		gdsvault.WithLogger(slog.New(slog.DiscardHandler)), gdsvault.WithObserver(col))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())

	// read sends the i-th path: existing, then missing on the mount, then on
	// unknown first segments (from offset on).
	var found, missing atomic.Int64
	read := func(ctx context.Context, i, offset int) error {
		var err error
		switch {
		case i < existing:
			_, err = c.GetSecret(ctx, fmt.Sprintf("%s/data/app-%d/config", mount, i))
		case i < 5000:
			_, err = c.GetSecret(ctx, fmt.Sprintf("%s/data/gone-%d/config", mount, i))
		default:
			_, err = c.Read(ctx, fmt.Sprintf("nomount-%d/data/x", offset+i))
		}
		switch {
		case err == nil:
			found.Add(1)
		case errors.Is(err, gdsvault.ErrNotFound), errors.Is(err, gdsvault.ErrPermissionDenied):
			missing.Add(1)
		default:
			return err
		}
		return nil
	}
	run := func(from, to, offset int) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var wg sync.WaitGroup
		var firstErr atomic.Pointer[error]
		next := atomic.Int64{}
		next.Store(int64(from))
		for range 4 {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= to || ctx.Err() != nil {
						return
					}
					if err := read(ctx, i, offset); err != nil {
						firstErr.CompareAndSwap(nil, &err)
						cancel()
						return
					}
				}
			})
		}
		wg.Wait()
		if p := firstErr.Load(); p != nil {
			t.Fatal(*p)
		}
	}

	run(0, 10000, 0)
	if found.Load() != existing || missing.Load() != 10000-existing {
		t.Fatalf("%d found, %d missing", found.Load(), missing.Load())
	}
	total := testutil.CollectAndCount(col)
	requests := testutil.CollectAndCount(col, "gdsvault_request_duration_seconds")
	run(5000, 7000, 100000) // 2,000 more first segments never seen
	if n := testutil.CollectAndCount(col); n != total {
		t.Errorf("series grew from %d to %d with new paths", total, n)
	}
	t.Logf("after 12,000 distinct paths: %d series in all, %d request histograms", total, requests)

	mounts := map[string]bool{}
	for _, lv := range labelValues(t, wrap(col)) {
		if v, ok := strings.CutPrefix(lv, "mount="); ok {
			mounts[v] = true
		}
		if strings.Contains(lv, "/data/") || strings.Contains(lv, "app-") || strings.Contains(lv, "gone-") {
			t.Errorf("a label holds a path: %s", lv)
		}
	}
	if len(mounts) > prom.DefaultMaxMounts+1 || !mounts["other"] || !mounts[mount] {
		t.Errorf("%d mount values (other: %v, %s: %v), want at most %d", len(mounts), mounts["other"], mount, mounts[mount], prom.DefaultMaxMounts+1)
	}
	// GET with 2xx or 4xx on each mount value, plus the mount lookups on sys.
	if bound := 2 * (prom.DefaultMaxMounts + 1); requests > bound {
		t.Errorf("%d request series, want at most %d", requests, bound)
	}
}

package observe

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/bench"
	"github.com/gdsvault/gdsvault/vaulttest"
)

// The micro-benchmarks of the same figures:
//
//	cd bench/observe && go test -run '^$' -bench . -benchmem -count 5
//
// Compare bare and observed with benchstat; a cached hit calls no observer.

var (
	labOnce sync.Once
	lab     *bench.Lab
	labErr  error
)

func benchLab(tb testing.TB) *bench.Lab {
	tb.Helper()
	labOnce.Do(func() { lab, labErr = bench.StartLab(context.Background()) })
	if errors.Is(labErr, vaulttest.ErrNoBinary) && !vaulttest.Required() {
		tb.Skip("no Vault binary: the measurement needs a real Vault (VAULTTEST_REQUIRED=1 makes this fail)")
	}
	if labErr != nil {
		tb.Fatal(labErr)
	}
	return lab
}

func TestMain(m *testing.M) {
	code := m.Run()
	if lab != nil {
		lab.Close()
	}
	os.Exit(code)
}

// TestMeasureSmoke runs every part with tiny counts and checks that each
// produced its figures and that the report renders. It asserts nothing
// about timings.
func TestMeasureSmoke(t *testing.T) {
	res, err := Measure(t.Context(), benchLab(t), SmokeConfig())
	if err != nil {
		t.Fatal(err)
	}
	for part, fs := range map[string][]bench.ObserverFigure{"hooks": res.Hooks, "uncached": res.Uncached, "cached": res.Cached} {
		for _, f := range fs {
			if !(f.Op > 0) {
				t.Errorf("%s %s: %v, want a positive figure", part, f.Name, f.Op)
			}
		}
	}
	if len(res.Hooks) != 3 || len(res.Uncached) != 6 || len(res.Cached) != 3 {
		t.Errorf("%d hook, %d uncached, %d cached figures", len(res.Hooks), len(res.Uncached), len(res.Cached))
	}
	if res.ExchangesPerRead != 1 {
		t.Errorf("%v exchanges per uncached read, want 1", res.ExchangesPerRead)
	}
	// What make bench hands to cmd/bench: it must read back whole.
	file := filepath.Join(t.TempDir(), "observe.json")
	if err := writeJSON(file, res); err != nil {
		t.Fatal(err)
	}
	back, err := bench.ReadObserverResult(file)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, res) {
		t.Errorf("read back:\n%+v\nwant\n%+v", back, res)
	}
	t.Logf("smoke figures (meaningless):\n%s", res.Markdown())
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// BenchmarkHooks is both observers' cost per exchange, without Vault.
func BenchmarkHooks(b *testing.B) {
	obs, err := NewObservers(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer obs.Close(context.Background())
	for _, c := range []struct {
		name string
		o    gdsvault.Observer
	}{{"prom", obs.Collector}, {"otel", obs.Tracer}, {"both", obs.Observer()}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := b.Context()
			info := gdsvault.RequestInfo{Method: "GET", Mount: "secret", Template: "secret/data/*", Attempt: 1, Node: "http://127.0.0.1:8200"}
			b.ReportAllocs()
			for b.Loop() {
				_, done := c.o.StartRequest(ctx, info)
				done(gdsvault.RequestOutcome{Status: 200})
			}
		})
	}
}

func BenchmarkUncachedRead(b *testing.B) { benchReads(b) }

func BenchmarkCachedHit(b *testing.B) { benchReads(b, gdsvault.WithCache()) }

// benchReads reads the lab's secret with a bare client and with one that
// has both observers.
func benchReads(b *testing.B, opts ...gdsvault.Option) {
	obs, err := NewObservers(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer obs.Close(context.Background())
	for _, c := range []struct {
		name string
		opts []gdsvault.Option
	}{{"bare", opts}, {"observed", append(obs.Options(), opts...)}} {
		b.Run(c.name, func(b *testing.B) {
			client, err := benchLab(b).NewGdsvault(c.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer client.Close(context.Background())
			read := bench.GdsvaultRead(client)
			ctx := b.Context()
			for range 20 {
				if err := read(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := read(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

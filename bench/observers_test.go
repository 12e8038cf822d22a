package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestObserverResult reads a result as cmd/overhead -json writes it,
// checks the goals and renders section 9, without a server.
func TestObserverResult(t *testing.T) {
	res := ObserverResult{Date: time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC), Duration: time.Minute, VaultVersion: "Vault v1.21.0",
		Rounds: 80, Reads: 50, Hits: 50000, HookCalls: 50000, ExchangesPerRead: 1,
		Hooks: []ObserverFigure{{Name: ObserversProm, Op: 200 * time.Nanosecond}, {Name: ObserversOtel, Op: 2 * time.Microsecond},
			{Name: ObserversBoth, Op: 2400 * time.Nanosecond, Allocs: 12}},
		Uncached: []ObserverFigure{{Name: ObserversNone, Op: 400 * time.Microsecond, CPU: 100 * time.Microsecond, Allocs: 70},
			{Name: ObserversControl, Op: 402 * time.Microsecond}, {Name: ObserversBoth, Op: 420 * time.Microsecond, CPU: 110 * time.Microsecond, Allocs: 90}},
		Cached: []ObserverFigure{{Name: ObserversNone, Op: 40 * time.Nanosecond}, {Name: ObserversControl, Op: 41 * time.Nanosecond},
			{Name: ObserversBoth, Op: 42 * time.Nanosecond}},
	}
	dir := t.TempDir()
	write := func(name string, v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	got, err := ReadObserverResult(write("ok.json", res))
	if err != nil {
		t.Fatal(err)
	}
	ts := got.targets()
	if len(ts) != 2 {
		t.Fatalf("%d targets, want 2", len(ts))
	}
	// +5 %: missed; +2 ns: met.
	if ts[0].Met || !ts[1].Met {
		t.Errorf("met: %v %v, want false true (%+v)", ts[0].Met, ts[1].Met, ts)
	}
	if want := "+5.0 % (420.0 µs vs 400.0 µs; control +0.5 %; the hooks alone 0.6 %)"; ts[0].Measured != want {
		t.Errorf("uncached: %q, want %q", ts[0].Measured, want)
	}
	if want := "missed by 2.0 points"; ts[0].Margin != want {
		t.Errorf("uncached margin: %q, want %q", ts[0].Margin, want)
	}
	if want := "+2 ns (42 ns vs 40 ns)"; ts[1].Measured != want {
		t.Errorf("cached: %q, want %q", ts[1].Measured, want)
	}
	md := got.Markdown()
	for _, want := range []string{"| prom + otel | 420.0 µs | +5.0 % | 110.0 µs | +10.0 µs | 90 |", "| prom + otel | 42 ns | +2 ns | 0.000 |",
		"| prom + otel | 2400 ns | 12 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("section 9 lacks %q:\n%s", want, md)
		}
	}

	// What make bench hands over when bench/observe failed.
	for name, body := range map[string]string{"empty.json": "", "bad.json": "{", "partial.json": `{"Uncached": []}`} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadObserverResult(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

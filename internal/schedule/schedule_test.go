package schedule

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func TestNext(t *testing.T) {
	p := DefaultPolicy()
	frac := 2.0/3.0 - 0.1*0.999999
	jittered := time.Duration(float64(time.Hour) * frac)
	for _, tc := range []struct {
		name   string
		s      State
		now    time.Time
		rnd    float64
		action Action
		at     time.Time
	}{
		{"never expires", State{Granted: t0, TTL: 0}, t0, 0.5, None, time.Time{}},
		{"renew at 2/3", State{Granted: t0, TTL: time.Hour, Renewable: true}, t0, 0, Renew, t0.Add(40 * time.Minute)},
		{"jitter moves it earlier", State{Granted: t0, TTL: time.Hour, Renewable: true}, t0, 0.999999, Renew, t0.Add(jittered)},
		{"not renewable: replace", State{Granted: t0, TTL: time.Hour}, t0, 0, Replace, t0.Add(40 * time.Minute)},
		{"capped: replace", State{Granted: t0, TTL: time.Hour, Renewable: true, Capped: true}, t0, 0, Replace, t0.Add(40 * time.Minute)},
		{"late: now", State{Granted: t0, TTL: time.Hour, Renewable: true}, t0.Add(50 * time.Minute), 0, Renew, t0.Add(50 * time.Minute)},
		{"expired: replace now", State{Granted: t0, TTL: time.Hour, Renewable: true}, t0.Add(2 * time.Hour), 0, Replace, t0.Add(2 * time.Hour)},
		{"failure backs off", State{Granted: t0, TTL: time.Hour, Renewable: true, Failures: 3}, t0.Add(40 * time.Minute), 0.5, Renew,
			t0.Add(40*time.Minute + 500*time.Millisecond)},
		{"backoff bounded by time left", State{Granted: t0, TTL: 2 * time.Second, Renewable: true, Failures: 10}, t0.Add(1500 * time.Millisecond), 0.99, Renew,
			t0.Add(1750 * time.Millisecond)},
		{"no room left for a retry: replace at expiry", State{Granted: t0, TTL: 2 * time.Second, Renewable: true, Failures: 2}, t0.Add(1950 * time.Millisecond), 0.5, Replace,
			t0.Add(2 * time.Second)},
		{"retries spaced by MinWait", State{Granted: t0, TTL: time.Hour, Renewable: true, Failures: 1}, t0.Add(40 * time.Minute), 0, Renew,
			t0.Add(40*time.Minute + 100*time.Millisecond)},
	} {
		a, at := p.Next(tc.s, tc.now, tc.rnd)
		if a != tc.action || at.Sub(tc.at).Abs() > time.Microsecond {
			t.Errorf("%s: Next = %v at %v, want %v at %v", tc.name, a, at.Sub(t0), tc.action, tc.at.Sub(t0))
		}
	}
}

func TestBackoff(t *testing.T) {
	p := DefaultPolicy()
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{{1, 250 * time.Millisecond}, {2, 500 * time.Millisecond}, {3, time.Second}, {8, 30 * time.Second}, {100, 30 * time.Second}, {0, 250 * time.Millisecond}} {
		if got := p.Backoff(tc.n, 0.999999); got < tc.want*99/100 || got > tc.want {
			t.Errorf("Backoff(%d) ceiling = %v, want %v", tc.n, got, tc.want)
		}
		if got := p.Backoff(tc.n, 0); got != 0 {
			t.Errorf("Backoff(%d, 0) = %v (full jitter starts at 0)", tc.n, got)
		}
	}
}

func TestExtended(t *testing.T) {
	prev := State{Granted: t0, TTL: 2 * time.Second, Renewable: true}
	now := t0.Add(1300 * time.Millisecond)
	for _, tc := range []struct {
		ttl  time.Duration
		want bool
	}{{2 * time.Second, true}, {time.Second, false}, {700 * time.Millisecond, false}, {0, false}} {
		if got := Extended(prev, now, tc.ttl); got != tc.want {
			t.Errorf("Extended(new TTL %v) = %v, want %v", tc.ttl, got, tc.want)
		}
	}
}

// FuzzNext: whatever the state, the next action lands no earlier than now
// and, while the credential is valid, no later than its expiry.
func FuzzNext(f *testing.F) {
	f.Add(int64(3600e9), int64(0), true, false, 0, 0.5)
	f.Add(int64(2e9), int64(1999e6), true, true, 5, 0.99)
	f.Add(int64(1), int64(0), false, false, 100, 0.0)
	f.Fuzz(func(t *testing.T, ttl, elapsed int64, renewable, capped bool, failures int, rnd float64) {
		if ttl < 0 || elapsed < 0 || failures < 0 || failures > 1000 {
			return
		}
		s := State{Granted: t0, TTL: time.Duration(ttl), Renewable: renewable, Capped: capped, Failures: failures}
		now := t0.Add(time.Duration(elapsed))
		a, at := DefaultPolicy().Next(s, now, rnd)
		if ttl == 0 {
			if a != None {
				t.Fatalf("non-expiring credential got %v", a)
			}
			return
		}
		if at.Before(now) {
			t.Fatalf("scheduled in the past: now+%v -> %v", now.Sub(t0), at.Sub(t0))
		}
		if now.Before(s.Expiry()) && at.After(s.Expiry()) {
			t.Fatalf("scheduled after expiry: ttl %v now %v at %v", s.TTL, now.Sub(t0), at.Sub(t0))
		}
		if at.Equal(s.Expiry()) && a != Replace {
			t.Fatalf("%v at the moment of expiry", a)
		}
		if failures > 0 && at.Sub(now) < DefaultPolicy().MinWait && !at.Equal(s.Expiry()) {
			t.Fatalf("retry after a failure only %v later: a tight loop", at.Sub(now))
		}
		if (!renewable || capped || !now.Before(s.Expiry())) && a != Replace {
			t.Fatalf("a credential that cannot be renewed got %v", a)
		}
	})
}

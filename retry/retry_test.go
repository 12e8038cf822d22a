package retry

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

var errTransient = errors.New("transient")
var errPermanent = errors.New("permanent")

func classify(err error) Verdict { return Verdict{Retry: errors.Is(err, errTransient)} }

func TestDoRetriesTransientThenSucceeds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		start := time.Now()
		err := Do(context.Background(), Policy{MaxAttempts: 5, BaseDelay: time.Second, MaxDelay: 8 * time.Second}, func(context.Context) error {
			calls++
			if calls < 4 {
				return errTransient
			}
			return nil
		}, classify)
		if err != nil || calls != 4 {
			t.Fatalf("err %v, calls %d", err, calls)
		}
		// Three waits, each below its ceiling of 1 s, 2 s, 4 s.
		if el := time.Since(start); el >= 7*time.Second {
			t.Errorf("waited %v, more than the backoff ceilings allow", el)
		}
	})
}

func TestDoStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for name, tc := range map[string]struct {
			p       Policy
			errs    []error
			verdict func(error) Verdict
			calls   int
			reason  string
			wrapped bool
		}{
			"permanent: no retry, error as is": {Policy{MaxAttempts: 5}, []error{errPermanent}, classify, 1, "", false},
			"attempts exhausted":               {Policy{MaxAttempts: 3}, []error{errTransient, errTransient, errTransient}, classify, 3, "attempts exhausted", true},
			"permanent after transient":        {Policy{MaxAttempts: 5}, []error{errTransient, errPermanent}, classify, 2, "not retryable", true},
			"retry-after too long": {Policy{MaxAttempts: 5, MaxRetryAfter: time.Minute}, []error{errTransient}, func(error) Verdict {
				return Verdict{Retry: true, After: time.Hour}
			}, 1, "", false},
		} {
			calls := 0
			err := Do(context.Background(), tc.p, func(context.Context) error {
				e := tc.errs[min(calls, len(tc.errs)-1)]
				calls++
				return e
			}, tc.verdict)
			var re *Error
			if calls != tc.calls || errors.As(err, &re) != tc.wrapped {
				t.Errorf("%s: calls %d (want %d), err %v", name, calls, tc.calls, err)
				continue
			}
			if tc.wrapped && (re.Reason != tc.reason || re.Attempts != tc.calls || !errors.Is(err, tc.errs[len(tc.errs)-1])) {
				t.Errorf("%s: %+v", name, re)
			}
		}
	})
}

func TestDoHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var at []time.Time
		Do(context.Background(), Policy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}, func(context.Context) error {
			at = append(at, time.Now())
			return errTransient
		}, func(error) Verdict { return Verdict{Retry: true, After: 7 * time.Second} })
		if len(at) != 2 || at[1].Sub(at[0]) != 7*time.Second {
			t.Errorf("retried after %v, want the server's 7 s", at[1].Sub(at[0]))
		}
	})
}

func TestDoContextStopsTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		start := time.Now()
		err := Do(ctx, Policy{MaxAttempts: 10, BaseDelay: time.Hour, MaxDelay: time.Hour}, func(context.Context) error { return errTransient },
			func(error) Verdict { return Verdict{Retry: true} })
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errTransient) || time.Since(start) != 3*time.Second {
			t.Errorf("err %v after %v", err, time.Since(start))
		}
	})
}

func TestBudgetStopsTheHerd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(10)
		p := Policy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, Budget: b}
		var calls atomic.Int64
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				Do(context.Background(), p, func(context.Context) error { calls.Add(1); return errTransient }, classify)
			})
		}
		wg.Wait()
		// 100 first attempts, and only 10 retries in all (the budget).
		if calls.Load() != 110 || b.Available() != 0 {
			t.Errorf("calls %d (want 110), budget left %d", calls.Load(), b.Available())
		}
		Do(context.Background(), p, func(context.Context) error { return nil }, classify)
		if b.Available() != 1 {
			t.Errorf("a success refunds one token: %d", b.Available())
		}
	})
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{{1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {5, 1600 * time.Millisecond}, {6, 2 * time.Second}, {60, 2 * time.Second}} {
		if got := Backoff(tc.n, 100*time.Millisecond, 2*time.Second, 0.999999); got > tc.want || got < tc.want*99/100 {
			t.Errorf("Backoff(%d) ceiling %v, want %v", tc.n, got, tc.want)
		}
	}
	if Backoff(3, time.Second, time.Minute, 0) != 0 {
		t.Error("full jitter starts at 0")
	}
}

func FuzzBackoff(f *testing.F) {
	f.Add(3, int64(time.Second), int64(time.Minute), 0.5)
	f.Fuzz(func(t *testing.T, n int, base, maxd int64, rnd float64) {
		if base <= 0 || maxd < base || n > 10000 {
			return
		}
		got := Backoff(n, time.Duration(base), time.Duration(maxd), rnd)
		if got < 0 || got > time.Duration(maxd) {
			t.Fatalf("Backoff(%d, %d, %d, %v) = %v outside [0, max]", n, base, maxd, rnd, got)
		}
	})
}

func TestBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var changes []string
		b := NewBreaker(BreakerConfig{OnChange: func(from, to State) { changes = append(changes, from.String()+">"+to.String()) }})
		call := func(failed bool) error {
			done, err := b.Allow()
			if err != nil {
				return err
			}
			if failed {
				done(Failure)
			} else {
				done(Success)
			}
			return nil
		}
		for range 4 {
			call(true)
		}
		call(false) // a success resets the count
		for range 4 {
			call(true)
		}
		if b.State() != Closed {
			t.Fatalf("opened before 5 consecutive failures")
		}
		call(true)
		if b.State() != Open || call(false) != ErrOpen {
			t.Fatalf("state %v after 5 failures", b.State())
		}
		time.Sleep(29 * time.Second)
		if call(false) != ErrOpen {
			t.Fatal("let a call through before the cool-down")
		}
		time.Sleep(time.Second)
		// Half-open: one probe at a time.
		done, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Allow(); err != ErrOpen {
			t.Fatal("two probes at once")
		}
		done(Failure) // the probe fails: open again
		if b.State() != Open {
			t.Fatalf("state %v after a failed probe", b.State())
		}
		time.Sleep(30 * time.Second)
		// A probe whose caller gave up says nothing: still half-open, the
		// slot is free again.
		done, err = b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		done(Ignore)
		if b.State() != HalfOpen {
			t.Fatalf("an ignored probe changed the state to %v", b.State())
		}
		call(false)
		if b.State() != HalfOpen {
			t.Fatalf("one success closed it: %v", b.State())
		}
		call(false)
		if b.State() != Closed {
			t.Fatalf("state %v after 2 successes", b.State())
		}
		want := "closed>open open>half-open half-open>open open>half-open half-open>closed"
		if got := joinStrings(changes); got != want {
			t.Errorf("changes %q, want %q", got, want)
		}
	})
}

func joinStrings(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

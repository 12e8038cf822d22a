// Package retry holds the resilience parts gdsvault's client uses, usable on
// their own too: exponential backoff with full jitter, a retry budget shared
// by every caller of a client, a retry loop that honours Retry-After and
// stops waiting as soon as its context ends, and a circuit breaker.
//
// It does not import gdsvault: the client passes its own error
// classification (gdsvault.IsTransient) in.
package retry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/gdsvault/gdsvault/internal/cfgerr"
)

// Policy says how often and how patiently to retry.
type Policy struct {
	// MaxAttempts counts the first try: 1 means no retry. 0 means 3.
	MaxAttempts int
	// BaseDelay and MaxDelay bound the backoff: the n-th retry waits a random
	// time in [0, min(MaxDelay, BaseDelay*2^(n-1))) (full jitter).
	BaseDelay, MaxDelay time.Duration
	// MaxRetryAfter caps a server's Retry-After (default 30 s). A longer
	// Retry-After ends the retries: the error is returned at once.
	MaxRetryAfter time.Duration
	// Budget, when set, is spent by every retry; when it is empty, errors are
	// returned without retrying (a failing Vault is not hammered by every
	// goroutine at once).
	Budget *Budget
}

// DefaultPolicy returns the client's policy: 3 attempts, 100 ms to 2 s
// backoff, Retry-After honoured up to 30 s.
func DefaultPolicy() Policy {
	return Policy{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second, MaxRetryAfter: 30 * time.Second}
}

// Validate reports the policy's bad values as *gdsvault.ConfigError (one
// per problem, joined with errors.Join when several): a negative count or
// duration, a MaxDelay below the BaseDelay it would cap. Zero values are
// valid: they mean "use the default". Budget is not checked.
func (p Policy) Validate() error {
	var errs []error
	if p.MaxAttempts < 0 {
		errs = append(errs, &cfgerr.Error{Field: "retry max attempts", Problem: "must not be negative, got " + strconv.Itoa(p.MaxAttempts),
			Hint: "1 means no retry; 0 means the default (3)"})
	}
	errs = negative(errs, "retry base delay", "Policy.BaseDelay", p.BaseDelay)
	errs = negative(errs, "retry max delay", "Policy.MaxDelay", p.MaxDelay)
	errs = negative(errs, "retry max retry-after", "Policy.MaxRetryAfter", p.MaxRetryAfter)
	if base := cmp.Or(max(p.BaseDelay, 0), DefaultPolicy().BaseDelay); p.MaxDelay > 0 && p.MaxDelay < base {
		which := "BaseDelay"
		if p.BaseDelay <= 0 {
			which = "the default BaseDelay"
		}
		errs = append(errs, &cfgerr.Error{Field: "retry max delay", Problem: "is " + p.MaxDelay.String() + ", below " + which + " " + base.String(),
			Hint: "MaxDelay caps the backoff: make it at least BaseDelay, or 0 for the default"})
	}
	return join(errs)
}

// negative appends a *cfgerr.Error to errs when d is negative.
func negative(errs []error, field, name string, d time.Duration) []error {
	if d < 0 {
		errs = append(errs, &cfgerr.Error{Field: field, Problem: "must not be negative, got " + d.String(),
			Hint: "0 means the default for " + name})
	}
	return errs
}

// join is errors.Join, except that one error is returned as is.
func join(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

func (p Policy) withDefaults() Policy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 3
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = DefaultPolicy().BaseDelay
	}
	if p.MaxDelay < p.BaseDelay {
		p.MaxDelay = max(DefaultPolicy().MaxDelay, p.BaseDelay)
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultPolicy().MaxRetryAfter
	}
	return p
}

// Backoff is the wait before retry n (n >= 1) with full jitter, for rnd in
// [0, 1).
func Backoff(n int, base, maxDelay time.Duration, rnd float64) time.Duration {
	if n < 1 {
		n = 1
	}
	ceil := base
	for i := 1; i < n && ceil < maxDelay; i++ {
		ceil *= 2
	}
	if ceil > maxDelay {
		ceil = maxDelay
	}
	if rnd < 0 || rnd != rnd {
		rnd = 0
	}
	if rnd >= 1 {
		rnd = 0.999999
	}
	return time.Duration(float64(ceil) * rnd)
}

// Verdict is a classifier's answer about one failure.
type Verdict struct {
	// Retry says the operation may be tried again.
	Retry bool
	// After is the server's Retry-After, when it sent one.
	After time.Duration
	// Cost is what a retry takes from the budget (default 1; timeouts may
	// cost more).
	Cost int
}

// Error is returned when retrying stopped; it wraps the last error.
type Error struct {
	Attempts int
	// Reason says why the retries stopped: attempts exhausted, budget
	// empty, Retry-After too long, context done.
	Reason string
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("gave up after %d attempts (%s): %v", e.Attempts, e.Reason, e.Err)
}

// Unwrap returns the last error.
func (e *Error) Unwrap() error { return e.Err }

// Do runs op until it succeeds, classify says not to retry, or the policy
// runs out. A failure after one attempt is returned as is; after several, as
// an *Error wrapping the last one. Waiting stops as soon as ctx is done.
func Do(ctx context.Context, p Policy, op func(ctx context.Context) error, classify func(error) Verdict) error {
	return Continue(ctx, p, op(ctx), op, classify)
}

// Continue is Do after a first attempt the caller made itself (so that the
// success path costs nothing): err is that attempt's result.
func Continue(ctx context.Context, p Policy, err error, op func(ctx context.Context) error, classify func(error) Verdict) error {
	p = p.withDefaults()
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			err = op(ctx)
		}
		if err == nil {
			if p.Budget != nil {
				p.Budget.Refund(1)
			}
			return nil
		}
		v := classify(err)
		stop := func(reason string) error {
			if attempt == 1 {
				return err
			}
			return &Error{Attempts: attempt, Reason: reason, Err: err}
		}
		switch {
		case !v.Retry:
			return stop("not retryable")
		case attempt >= p.MaxAttempts:
			return stop("attempts exhausted")
		case v.After > p.MaxRetryAfter:
			return stop(fmt.Sprintf("server asked to wait %v, more than %v", v.After, p.MaxRetryAfter))
		}
		cost := v.Cost
		if cost <= 0 {
			cost = 1
		}
		if p.Budget != nil && !p.Budget.Take(cost) {
			return stop("retry budget empty")
		}
		wait := Backoff(attempt, p.BaseDelay, p.MaxDelay, rand.Float64())
		if v.After > wait {
			wait = v.After
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return &Error{Attempts: attempt, Reason: "context done while waiting to retry", Err: errors.Join(err, ctx.Err())}
		case <-t.C:
		}
	}
}

// Budget is a token bucket of retries shared by all callers of one client,
// in the manner of the AWS SDK's retry quota: every retry takes tokens, every
// success puts one back.
type Budget struct {
	mu       sync.Mutex
	tokens   int
	capacity int
}

// NewBudget returns a full budget of capacity tokens.
func NewBudget(capacity int) *Budget { return &Budget{tokens: capacity, capacity: capacity} }

// Take removes n tokens if there are enough.
func (b *Budget) Take(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tokens < n {
		return false
	}
	b.tokens -= n
	return true
}

// Refund puts n tokens back, up to the capacity.
func (b *Budget) Refund(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = min(b.capacity, b.tokens+n)
}

// Available is the number of tokens left.
func (b *Budget) Available() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tokens
}

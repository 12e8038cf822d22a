package gdsvault

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/gdsvault/gdsvault/retry"
)

// ErrCircuitOpen: the client's circuit breaker is open because Vault failed
// too often in a row; calls fail fast until a probe succeeds. A cache with
// stale fallback still answers.
var ErrCircuitOpen = errors.New("circuit open: vault failed repeatedly, calls fail fast")

// CircuitOpenError is returned while the circuit is open.
type CircuitOpenError struct {
	Address string
	Path    string
}

func (e *CircuitOpenError) Error() string {
	return "vault: " + e.Path + ": " + ErrCircuitOpen.Error() + " (address " + e.Address + "; a probe goes through after the cool-down)"
}

// Is matches ErrCircuitOpen.
func (e *CircuitOpenError) Is(target error) bool { return target == ErrCircuitOpen }

// WithRetry sets the retry policy (default retry.Default: 3 attempts, 100 ms
// to 2 s full-jitter backoff, Retry-After honoured up to 30 s, a retry budget
// of 100 retries shared by all callers). MaxAttempts 1 turns retries off.
// Only transient failures are retried (IsTransient), and a request that must
// not run twice (a login, an unwrap, issuing credentials, a write without
// check-and-set) only when it cannot have reached Vault.
func WithRetry(p retry.Policy) Option {
	return func(s *settings) error {
		if p.MaxAttempts < 0 {
			return &ConfigError{Field: "retry", Problem: "MaxAttempts must not be negative"}
		}
		if p.MaxAttempts == 0 {
			p.MaxAttempts = retry.Default.MaxAttempts // as retry.Policy documents
		}
		s.retry = &p
		return nil
	}
}

// WithMaxRetries sets how many times a failed request is retried
// (VAULT_MAX_RETRIES; 0 turns retries off).
func WithMaxRetries(n int) Option {
	return func(s *settings) error {
		if n < 0 {
			return &ConfigError{Field: "max retries", Problem: "must not be negative", Hint: "e.g. VAULT_MAX_RETRIES=2"}
		}
		p := retry.Default
		if s.retry != nil {
			p = *s.retry
		}
		p.MaxAttempts = n + 1
		s.retry = &p
		return nil
	}
}

// WithCircuitBreaker makes the client fail fast with ErrCircuitOpen after
// cfg.Failures consecutive transient failures, probe Vault after
// cfg.Cooldown and close the circuit after cfg.Successes good probes
// (defaults 5, 30 s, 2). Off unless given.
func WithCircuitBreaker(cfg retry.BreakerConfig) Option {
	return func(s *settings) error { s.breaker = &cfg; return nil }
}

// do sends r with the client's retry policy and circuit breaker.
func (c *Client) do(ctx context.Context, r *request, out any) error {
	var done func(retry.Outcome)
	if b := c.shared.breaker; b != nil && !c.noBreaker {
		var err error
		if done, err = b.Allow(); err != nil {
			return &CircuitOpenError{Address: c.address, Path: r.path}
		}
		defer done(retry.Ignore) // frees a probe slot even if what follows panics; the first report wins
	}
	err := c.doAuthed(ctx, r, out)
	switch {
	case err == nil:
		if c.retry.Budget != nil {
			c.retry.Budget.Refund(1) // healthy traffic refills the retry budget
		}
	case c.retry.MaxAttempts > 1 && c.verdict(ctx, r, err).Retry:
		op := func(ctx context.Context) error { return c.doAuthed(ctx, r, out) }
		err = retry.Continue(ctx, c.retry, err, op, func(err error) retry.Verdict { return c.verdict(ctx, r, err) })
	}
	if done != nil {
		switch {
		case ctx.Err() != nil || errors.Is(err, ErrRateLimited):
			done(retry.Ignore) // the caller gave up, or Vault pushed back: nothing learned about its health
		case IsTransient(err):
			done(retry.Failure)
		default:
			done(retry.Success)
		}
	}
	return err
}

// verdict classifies a failure of r for the retry loop. A failure caused by
// the caller's own context is never retried.
func (c *Client) verdict(ctx context.Context, r *request, err error) retry.Verdict {
	if ctx.Err() != nil || !IsTransient(err) || errors.Is(err, ErrCircuitOpen) || errors.Is(err, context.Canceled) {
		return retry.Verdict{}
	}
	if !r.idempotent() && !notProcessed(err) {
		return retry.Verdict{} // it may have run once already
	}
	v := retry.Verdict{Retry: true, Cost: 5}
	var re *ResponseError
	if errors.As(err, &re) {
		v.After = re.RetryAfter
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		v.Cost = 10
	}
	return v
}

// idempotent reports whether sending r twice does no harm.
func (r *request) idempotent() bool {
	if r.safe {
		return true
	}
	switch r.method {
	case http.MethodGet, http.MethodHead:
		// Reading dynamic credentials issues new ones: not a plain read.
		return !strings.Contains(r.path, "/creds/")
	case http.MethodDelete:
		return true
	}
	return false
}

// notProcessed reports whether the failed request certainly did not run in
// Vault: the connection was never made, or Vault said it did not process it.
func notProcessed(err error) bool {
	var re *ResponseError
	if errors.As(err, &re) {
		switch {
		case re.StatusCode == http.StatusTooManyRequests, re.StatusCode == http.StatusPreconditionFailed:
			return true
		case re.StatusCode == http.StatusServiceUnavailable && re.fromVault:
			return true // Vault's own 503 (sealed, standby): not processed; a proxy's 503 may come after Vault ran it
		}
		return false
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	var dnsErr *net.DNSError
	return errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &dnsErr)
}

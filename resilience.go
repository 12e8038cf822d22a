package gdsvault

import (
	"errors"

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
		if err := p.Validate(); err != nil {
			return err
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
	return func(s *settings) error {
		if err := cfg.Validate(); err != nil {
			return err
		}
		s.breaker = &cfg
		return nil
	}
}

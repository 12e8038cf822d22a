// Package schedule holds the pure arithmetic of keeping a credential alive:
// when to renew a token or lease, when to give up renewing and obtain a new
// one, and how long to back off after a failure. Nothing here reads a clock
// or sleeps; the loops that do live with the client (token) and in package
// lease (dynamic secrets).
package schedule

import "time"

// Action is what to do next.
type Action int

const (
	// None: the credential does not expire; nothing to do.
	None Action = iota
	// Renew: extend the credential (renew-self, lease renew).
	Renew
	// Replace: obtain a new credential (log in again, read new database
	// credentials) because the current one cannot be extended.
	Replace
)

func (a Action) String() string {
	switch a {
	case Renew:
		return "renew"
	case Replace:
		return "replace"
	}
	return "none"
}

// State is what is known about the current credential.
type State struct {
	// Granted is when the current TTL was granted (login, last renewal).
	Granted time.Time
	// TTL is the lifetime granted then; 0 means it never expires.
	TTL time.Duration
	// Renewable says whether Vault accepts renewals.
	Renewable bool
	// Capped says the last renewal did not extend the credential as much as
	// before: the max TTL is near, so renewing further is pointless.
	Capped bool
	// Failures counts consecutive failed attempts since the last success.
	Failures int
}

// Expiry is when the credential stops working (zero when it never does).
func (s State) Expiry() time.Time {
	if s.TTL <= 0 {
		return time.Time{}
	}
	return s.Granted.Add(s.TTL)
}

// Policy holds the tunables. The zero Policy is not useful; use
// DefaultPolicy.
type Policy struct {
	// Fraction of the TTL after which to act (2/3 by default).
	Fraction float64
	// Jitter is the width of the random spread below Fraction (0.1: act
	// between 57% and 67% of the TTL), so a fleet started together does not
	// renew in step.
	Jitter float64
	// BackoffBase and BackoffMax bound the exponential backoff after
	// failures (full jitter).
	BackoffBase, BackoffMax time.Duration
	// Margin is kept between the last attempt and expiry: an attempt is
	// never scheduled later than Expiry - Margin (or half the time left,
	// whichever is later), so there is time to use its result.
	Margin time.Duration
	// MinWait spaces retries after a failure, so that a credential close to
	// its end is not retried in a tight loop.
	MinWait time.Duration
	// LeadFraction and MaxLead set the end of a credential's usable life:
	// it is no longer handed out for the last min(TTL*LeadFraction,
	// MaxLead) before its expiry, so that a request that carries it
	// reaches Vault in time even on a busy machine. Renewals aim to finish
	// before that point.
	LeadFraction float64
	MaxLead      time.Duration
}

// DefaultPolicy returns the policy gdsvault uses.
func DefaultPolicy() Policy {
	return Policy{Fraction: 2.0 / 3.0, Jitter: 0.1, BackoffBase: 250 * time.Millisecond, BackoffMax: 30 * time.Second,
		Margin: time.Second, MinWait: 100 * time.Millisecond, LeadFraction: 0.2, MaxLead: 5 * time.Second}
}

// Usable is when the credential stops being handed out (zero when it never
// expires): a lead of min(TTL*LeadFraction, MaxLead) before its expiry.
func (p Policy) Usable(s State) time.Time {
	if s.TTL <= 0 {
		return time.Time{}
	}
	lead := time.Duration(float64(s.TTL) * p.LeadFraction)
	if lead > p.MaxLead {
		lead = p.MaxLead
	}
	return s.Expiry().Add(-max(lead, 0))
}

// Next says what to do for credential s, and when. rnd is a random number
// in [0, 1) (from the caller, so the function stays pure). The time returned
// is never before now, and, while the credential is still valid, never after
// its expiry. Retries after a failure are at least MinWait apart; when that
// no longer fits before expiry, the answer is Replace at expiry.
func (p Policy) Next(s State, now time.Time, rnd float64) (Action, time.Time) {
	if s.TTL <= 0 {
		return None, time.Time{}
	}
	rnd = clamp01(rnd)
	expiry := s.Expiry()
	action := Renew
	if !s.Renewable || s.Capped {
		action = Replace
	}
	if !now.Before(expiry) {
		// Expired: only a new credential helps; after failures, back off.
		if s.Failures > 0 {
			return Replace, now.Add(max(p.Backoff(s.Failures, rnd), p.MinWait))
		}
		return Replace, now
	}
	end := p.Usable(s)
	if s.Failures == 0 {
		frac := p.Fraction - p.Jitter*rnd
		return action, p.bound(s.Granted.Add(time.Duration(float64(s.TTL)*frac)), now, end, expiry)
	}
	at := p.bound(now.Add(p.Backoff(s.Failures, rnd)), now, end, expiry)
	if at.Before(now.Add(p.MinWait)) {
		at = now.Add(p.MinWait)
	}
	if !at.Before(expiry) {
		return Replace, expiry
	}
	return action, at
}

// bound keeps at within [now, latest], where latest leaves Margin (or, for
// short lifetimes, half of what is left) before the end of the usable life,
// or, once that is less than Margin away, before expiry.
func (p Policy) bound(at, now, end, expiry time.Time) time.Time {
	target := end
	if !now.Before(end.Add(-p.Margin)) {
		target = expiry
	}
	left := target.Sub(now)
	latest := target.Add(-p.Margin)
	if half := now.Add(left / 2); latest.Before(half) {
		latest = half
	}
	if at.After(latest) {
		at = latest
	}
	if at.Before(now) {
		at = now
	}
	return at
}

// Backoff is the wait after the n-th consecutive failure (n >= 1): full
// jitter over an exponential ceiling, BackoffBase * 2^(n-1) capped at
// BackoffMax.
func (p Policy) Backoff(n int, rnd float64) time.Duration {
	if n < 1 {
		n = 1
	}
	ceil := p.BackoffBase
	for i := 1; i < n && ceil < p.BackoffMax; i++ {
		ceil *= 2
	}
	if ceil > p.BackoffMax {
		ceil = p.BackoffMax
	}
	return time.Duration(float64(ceil) * clamp01(rnd))
}

// Extended reports whether a renewal that granted newTTL at now really
// extended the credential: a renewal capped by the max TTL grants less than
// the TTL before it and moves the expiry little or not at all.
func Extended(prev State, now time.Time, newTTL time.Duration) bool {
	if newTTL <= 0 {
		return false
	}
	if prev.TTL > 0 && newTTL < prev.TTL {
		return false
	}
	return now.Add(newTTL).After(prev.Expiry())
}

func clamp01(f float64) float64 {
	switch {
	case f != f || f < 0: // NaN or negative
		return 0
	case f >= 1:
		return 0.999999
	}
	return f
}

package retry

import (
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/gdsvault/gdsvault/internal/cfgerr"
)

// ErrOpen is returned by Breaker.Allow while the circuit is open.
var ErrOpen = errors.New("circuit open")

// State is a circuit breaker's state.
type State int

const (
	// Closed: calls go through; consecutive failures are counted.
	Closed State = iota
	// Open: calls fail fast until the cool-down has passed.
	Open
	// HalfOpen: one probe at a time goes through; enough successes close
	// the circuit, a failure opens it again.
	HalfOpen
)

func (s State) String() string {
	switch s {
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return "closed"
}

// BreakerConfig are the breaker's thresholds. The defaults: 5 failures,
// 30 s, 2 successes.
type BreakerConfig struct {
	Failures  int           // consecutive failures that open the circuit (default 5)
	Cooldown  time.Duration // time open before a probe (default 30 s)
	Successes int           // probe successes that close it again (default 2)
	// OnChange, when set, is called (outside the breaker's lock) on every
	// state change.
	OnChange func(from, to State)
}

// Validate reports the configuration's bad values as *gdsvault.ConfigError
// (one per problem, joined with errors.Join when several): a negative
// threshold or cool-down. Zero values are valid: they mean "use the
// default".
func (c BreakerConfig) Validate() error {
	var errs []error
	if c.Failures < 0 {
		errs = append(errs, &cfgerr.Error{Field: "circuit breaker failures", Problem: "must not be negative, got " + strconv.Itoa(c.Failures),
			Hint: "0 means the default (5)"})
	}
	errs = negative(errs, "circuit breaker cooldown", "BreakerConfig.Cooldown", c.Cooldown)
	if c.Successes < 0 {
		errs = append(errs, &cfgerr.Error{Field: "circuit breaker successes", Problem: "must not be negative, got " + strconv.Itoa(c.Successes),
			Hint: "0 means the default (2)"})
	}
	return join(errs)
}

// Breaker is a circuit breaker, safe for concurrent use.
type Breaker struct {
	cfg BreakerConfig

	mu        sync.Mutex
	state     State
	failures  int
	successes int
	openedAt  time.Time
	probing   bool
}

// NewBreaker returns a closed breaker.
func NewBreaker(cfg BreakerConfig) *Breaker {
	if cfg.Failures <= 0 {
		cfg.Failures = 5
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = 30 * time.Second
	}
	if cfg.Successes <= 0 {
		cfg.Successes = 2
	}
	return &Breaker{cfg: cfg}
}

// State returns the current state (an open circuit whose cool-down has
// passed reports HalfOpen).
func (b *Breaker) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == Open && time.Since(b.openedAt) >= b.cfg.Cooldown {
		return HalfOpen
	}
	return b.state
}

// Outcome is what a call allowed by the breaker came to.
type Outcome int

const (
	// Success: the server answered (a 404 or a 403 is an answer too).
	Success Outcome = iota
	// Failure: the server failed in a way that counts (unreachable, 5xx).
	Failure
	// Ignore: the call says nothing about the server (the caller gave up,
	// its context ended): it neither counts nor closes the circuit.
	Ignore
)

// Allow asks to make a call. It returns ErrOpen while the circuit is open
// (or while a probe is already out); otherwise the caller must report the
// call's outcome with done.
func (b *Breaker) Allow() (done func(Outcome), err error) {
	b.mu.Lock()
	var from, to State
	changed := false
	if b.state == Open {
		if time.Since(b.openedAt) < b.cfg.Cooldown {
			b.mu.Unlock()
			return nil, ErrOpen
		}
		from, to, changed = Open, HalfOpen, true
		b.state, b.successes = HalfOpen, 0
	}
	probe := false
	if b.state == HalfOpen {
		if b.probing {
			b.mu.Unlock()
			b.notify(changed, from, to)
			return nil, ErrOpen
		}
		b.probing, probe = true, true
	}
	b.mu.Unlock()
	b.notify(changed, from, to)
	var once sync.Once
	return func(o Outcome) { once.Do(func() { b.report(probe, o) }) }, nil
}

func (b *Breaker) report(probe bool, o Outcome) {
	b.mu.Lock()
	from := b.state
	if probe {
		b.probing = false
	}
	failed := o == Failure
	switch {
	case o == Ignore:
	case b.state == HalfOpen && probe && failed:
		b.state, b.openedAt = Open, time.Now()
	case b.state == HalfOpen && probe:
		b.successes++
		if b.successes >= b.cfg.Successes {
			b.state, b.failures = Closed, 0
		}
	case b.state == Closed && failed:
		b.failures++
		if b.failures >= b.cfg.Failures {
			b.state, b.openedAt = Open, time.Now()
		}
	case b.state == Closed:
		b.failures = 0
	}
	to := b.state
	b.mu.Unlock()
	b.notify(from != to, from, to)
}

func (b *Breaker) notify(changed bool, from, to State) {
	if changed && b.cfg.OnChange != nil {
		b.cfg.OnChange(from, to)
	}
}

package gdsvault

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gdsvault/gdsvault/internal/schedule"
)

// WithAuth makes the client log in with m when it first needs a token and
// keep that token valid by itself: it renews the token at about two thirds of
// its TTL (with jitter), logs in again before expiry when the token cannot be
// renewed further (max TTL, batch token, renewal refused), backs off with
// jitter while Vault is unreachable, and logs in again once when Vault
// reports the token invalid. Concurrent callers share one login.
func WithAuth(m AuthMethod) Option {
	return func(s *settings) error {
		if m == nil {
			return &ConfigError{Field: "auth", Problem: "auth method is nil"}
		}
		s.auth = m
		return nil
	}
}

// WithEvents calls fn for every token lifecycle event (login, renewal,
// failure, expiry, close), for metrics and alerts. fn runs on the client's
// background goroutine or a caller's: keep it short, do not block, and do
// not call Close from it.
func WithEvents(fn func(Event)) Option {
	return func(s *settings) error { s.events = fn; return nil }
}

// WithRevokeOnClose says whether Close revokes the token the client holds.
// Default: true for tokens the client logged in for, false for a token the
// user supplied (WithToken, the token auth method).
func WithRevokeOnClose(revoke bool) Option {
	return func(s *settings) error { s.revoke = &revoke; return nil }
}

// EventKind names a token lifecycle event.
type EventKind int

const (
	// EventLogin: the client logged in (Event.Relogin: replacing a token).
	EventLogin EventKind = iota + 1
	// EventLoginFailed: a login failed (Event.Err says why).
	EventLoginFailed
	// EventRenewed: the token was renewed (Event.TTL is the new TTL).
	EventRenewed
	// EventRenewFailed: a renewal failed; the current token is still used
	// while it is valid.
	EventRenewFailed
	// EventExpired: the token expired before it could be replaced, or
	// Vault refused it as invalid after its expiry as the client counts it.
	EventExpired
	// EventClosed: the client was closed (Event.Revoked says whether its
	// token was revoked).
	EventClosed
	// EventRevoked: Vault refused the token as invalid well before its
	// expiry: it was revoked from outside (or, right after its login, the
	// server refuses every token: then logins back off). The next request
	// logs in again.
	EventRevoked
)

// String names the kind as a metric- and log-friendly identifier: login,
// login_failed, renewed, renewal_failed, expired, revoked, closed.
func (k EventKind) String() string {
	switch k {
	case EventLogin:
		return "login"
	case EventLoginFailed:
		return "login_failed"
	case EventRenewed:
		return "renewed"
	case EventRenewFailed:
		return "renewal_failed"
	case EventExpired:
		return "expired"
	case EventRevoked:
		return "revoked"
	case EventClosed:
		return "closed"
	}
	return "unknown"
}

// Event is one step of the token's life. It never holds the token.
type Event struct {
	Kind EventKind
	Time time.Time
	// TTL is the token's TTL after the event (0: does not expire or unknown).
	TTL time.Duration
	// Relogin is set on a login that replaced a token.
	Relogin bool
	// Revoked is set on EventClosed when the token was revoked.
	Revoked bool
	// Reason says why, in words ("max TTL reached", "token invalid"...).
	Reason   string
	Accessor string
	Err      error
}

// tokenState is a token the manager holds and its schedule.
type tokenState struct {
	tok  Token
	auth *Auth
	// sched changes under the manager's lock only.
	sched schedule.State
	// usableUntil is when the token stops being handed out (nil: never), a
	// margin before its expiry; read without the lock.
	usableUntil atomic.Pointer[time.Time]
	// proven is set once a request or a renewal succeeded with the token.
	proven atomic.Bool
}

func newTokenState(tok Token, a *Auth, st schedule.State) *tokenState {
	s := &tokenState{tok: tok, auth: a}
	s.setSched(st)
	return s
}

// setSched updates the schedule and the usable deadline (under the lock).
// A token is not handed out in its last fifth of life (at most 5 s): a
// request must reach Vault before the token expires, even on a busy
// machine; past that point callers wait for the renewal or a login.
func (s *tokenState) setSched(st schedule.State) {
	s.sched = st
	if st.TTL <= 0 {
		s.usableUntil.Store(nil)
		return
	}
	until := schedule.DefaultPolicy().Usable(st)
	s.usableUntil.Store(&until)
}

// usable reports whether the token may still be sent at now.
func (s *tokenState) usable(now time.Time) bool {
	u := s.usableUntil.Load()
	return u == nil || now.Before(*u)
}

type loginCall struct {
	done  chan struct{}
	state *tokenState
	err   error
}

// tokenManager is the TokenSource of a client built WithAuth.
type tokenManager struct {
	c      *Client // a tokenless copy, for logins and renewals
	method AuthMethod
	fixed  bool // the method cannot obtain a new token (a token from VAULT_TOKEN)
	revoke bool
	policy schedule.Policy
	events func(Event)
	logger *slog.Logger

	bg     context.Context // cancelled by close; logins run on it, not on a caller's context
	cancel context.CancelFunc

	// cur is the token held; it changes under mu, and is read without it
	// on the hot path.
	cur      atomic.Pointer[tokenState]
	isClosed atomic.Bool

	mu       sync.Mutex
	login    *loginCall
	renewing *loginCall
	started  bool
	closed   bool
	wake     chan struct{}
	done     chan struct{}
	revokes  sync.WaitGroup // best-effort revocations of dropped tokens
	// After failed logins, or after Vault refused tokens it had just
	// issued, callers get the last error until loginRetryAt instead of
	// starting a login each (no login storm against a refusing, broken or
	// unreachable server).
	loginFails   int
	refusedFresh int
	loginRetryAt time.Time
	loginErr     error
	clampOnce    sync.Once
}

func newTokenManager(c *Client, m AuthMethod, s *settings) *tokenManager {
	tm := &tokenManager{c: c.withoutToken(), method: m, policy: schedule.DefaultPolicy(), events: s.events, logger: c.logger,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	tm.revoke = true // a token the client logged in for
	if st, ok := m.(SuppliedToken); ok {
		tm.fixed, tm.revoke = !st.Reobtainable(), false // the user's own token
	}
	if s.revoke != nil {
		tm.revoke = *s.revoke
	}
	tm.bg, tm.cancel = context.WithCancel(context.Background())
	return tm
}

// loginBackoffError is returned while logins back off: it wraps the error
// that caused the backoff and says when the next login may happen.
type loginBackoffError struct {
	err    error
	until  time.Time
	reason string
}

func (e *loginBackoffError) Error() string {
	return e.err.Error() + " (" + e.reason + "; no new login for " + time.Until(e.until).Round(time.Millisecond).String() + ")"
}

func (e *loginBackoffError) Unwrap() error { return e.err }

// Token returns a valid token, logging in when there is none. The caller's
// context bounds only its own wait: the login goes on for other callers.
func (m *tokenManager) Token(ctx context.Context) (Token, error) {
	now := time.Now()
	if s := m.cur.Load(); s != nil && s.usable(now) && !m.isClosed.Load() {
		return s.tok, nil // the hot path: no lock
	}
	// The token is missing or near its end. A renewable token still valid
	// is renewed (callers wait for that one renewal, not for a login that
	// may use up a single-use credential); otherwise a login replaces it.
	// While a valid token is held it is served when neither helps.
	var lastErr error
	for range 3 {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return Token{}, ErrClosed
		}
		now = time.Now()
		s := m.cur.Load()
		if s != nil && s.usable(now) {
			m.mu.Unlock()
			return s.tok, nil
		}
		valid := s != nil && now.Before(s.sched.Expiry())
		var call *loginCall
		switch {
		case valid && s.sched.Renewable && !s.sched.Capped && lastErr == nil:
			call = m.startRenewLocked(ctx, s)
		case valid && (m.fixed || lastErr != nil || (m.login == nil && now.Before(m.loginRetryAt))):
			m.mu.Unlock()
			return s.tok, nil // nothing better to hand out while it lasts
		case m.login == nil && now.Before(m.loginRetryAt):
			err := &loginBackoffError{err: m.loginErr, until: m.loginRetryAt, reason: m.backoffReasonLocked()}
			m.mu.Unlock()
			return Token{}, err
		case lastErr != nil && m.login == nil:
			m.mu.Unlock()
			return Token{}, lastErr
		default:
			call = m.startLoginLocked(ctx, "no valid token")
		}
		m.mu.Unlock()
		select {
		case <-call.done:
		case <-ctx.Done():
			return Token{}, &ConnectionError{Method: http.MethodPost, Address: m.c.address, Path: "login", Err: ctx.Err()}
		}
		if call.err != nil {
			lastErr = call.err
		}
	}
	if lastErr == nil {
		lastErr = &ConnectionError{Method: http.MethodPost, Address: m.c.address, Path: "login", Err: errors.New("no token after renewal and login")}
	}
	return Token{}, lastErr
}

func (m *tokenManager) backoffReasonLocked() string {
	if m.refusedFresh > 0 {
		return "Vault refused " + strconv.Itoa(m.refusedFresh) + " token(s) in a row right after issuing them"
	}
	return strconv.Itoa(m.loginFails) + " failed login(s) in a row"
}

// startRenewLocked joins the renewal in flight or starts one for s. m.mu is
// held.
func (m *tokenManager) startRenewLocked(origin context.Context, s *tokenState) *loginCall {
	if m.renewing != nil {
		return m.renewing
	}
	call := &loginCall{done: make(chan struct{})}
	m.renewing = call
	go func() {
		err := m.renew(origin, s)
		m.mu.Lock()
		m.renewing = nil
		call.state, call.err = m.cur.Load(), err
		m.mu.Unlock()
		close(call.done)
	}()
	return call
}

// startLoginLocked joins the login in flight or starts one. m.mu is held.
// origin is the context of the caller that causes it: the login does not end
// with it, but an observer links the login to it.
func (m *tokenManager) startLoginLocked(origin context.Context, reason string) *loginCall {
	if m.login != nil {
		return m.login
	}
	call := &loginCall{done: make(chan struct{})}
	m.login = call
	go m.runLogin(origin, call, reason)
	return call
}

// opContext returns the context a login or renewal runs in: the manager's
// own (ended by close) bounded by timeout, carrying what an observer put in
// it when told that op starts on behalf of origin; finish reports its end.
func (m *tokenManager) opContext(origin context.Context, op OperationInfo, timeout time.Duration) (context.Context, func(error), context.CancelFunc) {
	o := m.c.observer
	if o == nil {
		ctx, cancel := context.WithTimeout(m.bg, timeout)
		return ctx, func(error) {}, cancel
	}
	octx, finish := o.StartOperation(context.WithoutCancel(origin), op)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(octx), timeout)
	stop := context.AfterFunc(m.bg, cancel) // close ends it too
	return ctx, finish, func() { stop(); cancel() }
}

// methodName names the auth method for observers.
func (m *tokenManager) methodName() string {
	if n, ok := m.method.(MethodNamer); ok {
		return n.MethodName()
	}
	return ""
}

// Backoff after failed logins: a transient failure (Vault unreachable,
// sealed) is retried soon, a refusal (bad credentials, tokens refused right
// after their login) from 1 s doubling to 5 min, as Vault Agent does.
const (
	refusalBackoffBase = time.Second
	refusalBackoffMax  = 5 * time.Minute
)

// refusalBackoff is the wait after the n-th refusal in a row: base*2^(n-1)
// capped at max, minus up to a quarter of jitter.
func refusalBackoff(n int, rnd float64) time.Duration {
	d := refusalBackoffBase
	for i := 1; i < n && d < refusalBackoffMax; i++ {
		d *= 2
	}
	d = min(d, refusalBackoffMax)
	return d - time.Duration(float64(d/4)*min(max(rnd, 0), 1))
}

func (m *tokenManager) runLogin(origin context.Context, call *loginCall, reason string) {
	ctx, finish, cancel := m.opContext(origin, OperationInfo{Kind: "login", Method: m.methodName(), Reason: reason}, 2*m.c.timeout+5*time.Second)
	defer cancel()
	start := time.Now() // the TTL counts from no later than this
	a, err := m.method.Login(ctx, m.c)
	if err == nil && (a == nil || a.ClientToken.IsZero()) {
		err = &ResponseError{StatusCode: http.StatusOK, Method: http.MethodPost, Path: "login", Errors: []string{"the auth method returned no client token"}, kinds: []error{ErrMalformedResponse}}
	}
	finish(err)
	now := time.Now()
	var ev Event
	repeated := false
	m.mu.Lock()
	cur := m.cur.Load()
	if err != nil {
		// The same failure again (a refused credential, a dead wrapping
		// token): one warning, then debug lines.
		repeated = m.loginErr != nil && m.loginErr.Error() == err.Error()
		ev = Event{Kind: EventLoginFailed, Time: now, Err: err, Reason: reason}
		if cur != nil {
			st := cur.sched
			st.Failures++
			cur.setSched(st)
		}
		m.loginFails++
		m.loginErr = err
		wait := refusalBackoff(m.loginFails, rand.Float64())
		if IsTransient(err) {
			wait = max(m.policy.Backoff(m.loginFails, rand.Float64()), m.policy.MinWait)
		}
		m.loginRetryAt = now.Add(wait)
	} else {
		ttl := a.TTL()
		if a.LeaseDuration != int(ttl/time.Second) {
			m.clampOnce.Do(func() {
				m.logger.Warn("vault gave a token lease_duration outside the sane range: clamped", "lease_duration", a.LeaseDuration, "used", ttl)
			})
		}
		m.loginFails, m.loginErr = 0, nil
		if m.refusedFresh == 0 {
			m.loginRetryAt = time.Time{} // after refused tokens, the backoff runs its course
		}
		next := newTokenState(a.ClientToken, a, schedule.State{Granted: start, TTL: ttl, Renewable: a.Renewable})
		m.cur.Store(next)
		ev = Event{Kind: EventLogin, Time: now, TTL: ttl, Relogin: cur != nil, Reason: reason, Accessor: a.Accessor}
		if !m.started && !m.closed {
			m.started = true
			go m.run()
		}
	}
	call.state, call.err = m.cur.Load(), err
	m.login = nil
	m.mu.Unlock()
	// The event goes out before the callers wake: logs, metrics and event
	// handlers see the login before any request carries its token.
	if repeated {
		m.emitAt(ev, slog.LevelDebug)
	} else {
		m.emit(ev)
	}
	close(call.done)
	m.signal()
}

func (m *tokenManager) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// TokenAccepted is called after a request carrying t succeeded.
func (m *tokenManager) TokenAccepted(t Token) {
	s := m.cur.Load()
	if s == nil || s.tok.p != t.p || s.proven.Load() {
		return // the hot path: one atomic load
	}
	s.proven.Store(true)
	m.mu.Lock()
	m.refusedFresh = 0
	m.mu.Unlock()
}

// TokenRefused drops t after Vault called it invalid; the next Token call
// logs in. A token refused before any request succeeded with it (a server or
// proxy that refuses every token) makes logins back off, so that callers
// fail fast instead of each causing a login.
func (m *tokenManager) TokenRefused(t Token, err error) {
	m.mu.Lock()
	s := m.cur.Load()
	if s == nil || s.tok.p != t.p {
		m.mu.Unlock()
		return // already dropped (by another caller) or replaced
	}
	m.cur.Store(nil)
	ev := Event{Kind: EventExpired, Time: time.Now(), Reason: "Vault refused the token at the end of its life: it expired"}
	switch {
	case !s.usable(ev.Time):
	case !s.proven.Load():
		// Refused before any success and well before its expiry: not a
		// token that ran out on a slow path, but a server or proxy that
		// refuses what it issues.
		m.refusedFresh++
		m.loginErr = err
		m.loginRetryAt = ev.Time.Add(refusalBackoff(m.refusedFresh, rand.Float64()))
		ev.Kind, ev.Reason = EventRevoked, "Vault refused the token it had just issued: logins back off"
	default:
		ev.Kind, ev.Reason = EventRevoked, "Vault refused the token before its expiry: it was revoked from outside"
	}
	m.mu.Unlock()
	m.signal()
	m.emit(ev)
	m.revokeDropped(s)
}

// revokeDropped revokes, best-effort and in the background, a token the
// manager dropped (a server that calls a token invalid may be wrong).
func (m *tokenManager) revokeDropped(s *tokenState) {
	if !m.revoke || !revocable(s) {
		return
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.revokes.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.revokes.Done()
		ctx, cancel := context.WithTimeout(m.bg, m.c.timeout)
		defer cancel()
		_ = m.c.do(ctx, &request{method: http.MethodPost, path: "auth/token/revoke-self", token: s.tok, noRefine: true}, nil)
	}()
}

// revocable reports whether Vault can revoke the token (batch tokens and
// tokens without a TTL, such as root tokens, are left alone).
func revocable(s *tokenState) bool {
	return s != nil && s.sched.TTL > 0 && s.auth.TokenType != "batch"
}

// run keeps the token alive until close.
func (m *tokenManager) run() {
	defer close(m.done)
	schedule.Loop(m.bg, m.wake, func() (func(), time.Time) {
		m.mu.Lock()
		cur := m.cur.Load()
		var st schedule.State
		if cur != nil {
			st = cur.sched // fields of cur change under m.mu only
		}
		m.mu.Unlock()
		if cur == nil {
			return nil, time.Time{}
		}
		switch action, at := m.policy.Next(st, time.Now(), rand.Float64()); action {
		case schedule.Renew:
			return func() {
				m.mu.Lock()
				call := m.startRenewLocked(m.bg, cur)
				m.mu.Unlock()
				select {
				case <-call.done:
				case <-m.bg.Done():
				}
			}, at
		case schedule.Replace:
			return func() { m.replace(cur, st) }, at
		}
		return nil, time.Time{}
	})
}

// current reports whether s is still the token held.
func (m *tokenManager) current(s *tokenState) bool { return m.cur.Load() == s }

// renewalRefused reports whether a failed renewal was Vault's own refusal
// (invalid token, not renewable, past the max TTL — which Vault answers
// with a 500): renewing again is pointless, the next step is a login.
// Anything else (no answer, 429, 502/503/504, a proxy's page) is retried
// with backoff.
func renewalRefused(err error) bool {
	var re *ResponseError
	if !errors.As(err, &re) || !re.fromVault {
		return errors.Is(err, ErrMalformedResponse)
	}
	switch re.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return false
	}
	return re.StatusCode >= 400
}

// renew renews s once, and logs in again when Vault refuses; it returns
// the renewal's error.
func (m *tokenManager) renew(origin context.Context, s *tokenState) error {
	ctx, finish, cancel := m.opContext(origin, OperationInfo{Kind: "renewal", Method: m.methodName()}, m.c.timeout)
	defer cancel()
	now := time.Now() // the new TTL counts from no later than this
	var out Secret
	err := m.c.do(ctx, &request{method: http.MethodPost, path: "auth/token/renew-self", token: s.tok, noRefine: true, safe: true, body: map[string]any{}}, &out)
	if err == nil && (out.Auth == nil) {
		err = &ResponseError{StatusCode: http.StatusOK, Method: http.MethodPost, Path: "auth/token/renew-self", Errors: []string{"no auth block in the answer"}, kinds: []error{ErrMalformedResponse}}
	}
	finish(err)
	m.mu.Lock()
	if m.cur.Load() != s {
		m.mu.Unlock()
		return err // replaced meanwhile
	}
	var ev Event
	relogin := false
	switch {
	case err == nil:
		newTTL := out.Auth.TTL()
		extended := schedule.Extended(s.sched, now, newTTL)
		s.setSched(schedule.State{Granted: now, TTL: newTTL, Renewable: out.Auth.Renewable, Capped: !extended})
		s.proven.Store(true)
		m.refusedFresh = 0
		ev = Event{Kind: EventRenewed, Time: now, TTL: newTTL, Accessor: s.auth.Accessor}
		if !extended {
			ev.Reason = "max TTL near: the next step is a new login"
		}
	case errors.Is(err, ErrInvalidToken):
		m.cur.Store(nil)
		ev = Event{Kind: EventRenewFailed, Time: now, TTL: s.sched.TTL, Err: err, Reason: "token invalid: logging in again"}
		relogin = true
	case renewalRefused(err):
		// Not renewable, past the max TTL, refused: stop renewing; log in
		// again now, while the token still serves.
		st := s.sched
		st.Capped, st.Failures = true, 0
		s.setSched(st)
		ev = Event{Kind: EventRenewFailed, Time: now, TTL: st.TTL, Err: err, Reason: "renewal refused: logging in again"}
		relogin = true
	default:
		st := s.sched
		st.Failures++
		s.setSched(st)
		ev = Event{Kind: EventRenewFailed, Time: now, TTL: st.TTL, Err: err, Reason: "vault unreachable: retrying with backoff"}
	}
	m.mu.Unlock()
	m.emit(ev)
	if relogin && !m.fixed {
		m.relogin(ev.Reason)
	}
	return err
}

// replace logs in again before the token expires (or, for a token that
// cannot be re-obtained, lets it run out).
func (m *tokenManager) replace(s *tokenState, st schedule.State) {
	now := time.Now()
	if m.fixed {
		// Nothing can replace a token given by value: wait for its end.
		if now.Before(st.Expiry()) {
			t := time.NewTimer(time.Until(st.Expiry()))
			defer t.Stop()
			select {
			case <-m.bg.Done():
				return
			case <-m.wake:
				return
			case <-t.C:
			}
		}
		m.mu.Lock()
		m.cur.CompareAndSwap(s, nil)
		m.mu.Unlock()
		m.emit(Event{Kind: EventExpired, Time: time.Now(), Reason: "the token reached its max TTL and cannot be re-obtained: log in again and set a fresh VAULT_TOKEN"})
		return
	}
	if !m.current(s) {
		return
	}
	reason := "max TTL reached"
	if !st.Renewable {
		reason = "token not renewable"
	}
	if !now.Before(st.Expiry()) {
		reason = "token expired"
		m.mu.Lock()
		m.cur.CompareAndSwap(s, nil)
		m.mu.Unlock()
		m.emit(Event{Kind: EventExpired, Time: now, Reason: "the token expired before a new login succeeded"})
	}
	m.relogin(reason)
}

func (m *tokenManager) relogin(reason string) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	call := m.startLoginLocked(m.bg, reason)
	m.mu.Unlock()
	select {
	case <-call.done:
	case <-m.bg.Done():
	}
}

func (m *tokenManager) emit(ev Event) {
	level := slog.LevelInfo
	switch ev.Kind {
	case EventRenewed, EventClosed:
		level = slog.LevelDebug
	case EventLoginFailed, EventRenewFailed, EventExpired, EventRevoked:
		level = slog.LevelWarn
	}
	m.emitAt(ev, level)
}

// emitAt logs ev at level and hands it to the events callback.
func (m *tokenManager) emitAt(ev Event, level slog.Level) {
	if ev.Kind == 0 {
		return
	}
	ctx := context.Background()
	if m.logger.Enabled(ctx, level) {
		attrs := []slog.Attr{slog.String("event", ev.Kind.String()), slog.Duration("ttl", ev.TTL)}
		if ev.Relogin {
			attrs = append(attrs, slog.Bool("relogin", true))
		}
		if ev.Reason != "" {
			attrs = append(attrs, slog.String("reason", ev.Reason))
		}
		if ev.Accessor != "" && m.logger.Enabled(ctx, slog.LevelDebug) {
			// An accessor can revoke or look up its token: debug only.
			attrs = append(attrs, slog.String("accessor", ev.Accessor))
		}
		if ev.Err != nil {
			attrs = append(attrs, slog.String("error", ev.Err.Error()))
		}
		m.logger.LogAttrs(ctx, level, "vault token", attrs...)
	}
	if o := m.c.observer; o != nil {
		cp := ev
		cp.Accessor = "" // an observer never sees an accessor
		o.Notice(Notice{Kind: NoticeToken, Time: ev.Time, Reason: ev.Reason, Event: &cp})
	}
	if m.events != nil {
		m.events(ev)
	}
}

// close stops the background work and revokes the token when asked to.
func (m *tokenManager) close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	m.isClosed.Store(true)
	started, login := m.started, m.login
	m.mu.Unlock()
	m.cancel()
	if started {
		select {
		case <-m.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if login != nil { // a login under way may still install a token: wait for it, then revoke that one
		select {
		case <-login.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.revokes.Wait() // bounded by the client's timeout
	m.mu.Lock()
	cur := m.cur.Load()
	ok := revocable(cur)
	m.mu.Unlock()
	var err error
	revoked := false
	if m.revoke && ok {
		err = m.c.do(ctx, &request{method: http.MethodPost, path: "auth/token/revoke-self", token: cur.tok, noRefine: true}, nil)
		revoked = err == nil
	}
	m.emit(Event{Kind: EventClosed, Time: time.Now(), Revoked: revoked, Err: err})
	return err
}

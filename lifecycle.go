package gdsvault

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
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
	// EventExpired: the token expired before it could be replaced.
	EventExpired
	// EventClosed: the client was closed (Event.Revoked says whether its
	// token was revoked).
	EventClosed
)

func (k EventKind) String() string {
	switch k {
	case EventLogin:
		return "login"
	case EventLoginFailed:
		return "login failed"
	case EventRenewed:
		return "renewed"
	case EventRenewFailed:
		return "renewal failed"
	case EventExpired:
		return "expired"
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

// tokenState is the token the manager holds and its schedule.
type tokenState struct {
	tok   Token
	auth  *Auth
	sched schedule.State
}

// usable reports whether the token may still be sent at now.
func (s *tokenState) usable(now time.Time) bool {
	if s.sched.TTL <= 0 {
		return true
	}
	margin := s.sched.TTL / 10
	if margin > time.Second {
		margin = time.Second
	}
	return now.Before(s.sched.Expiry().Add(-margin))
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

	mu      sync.Mutex
	cur     *tokenState
	login   *loginCall
	started bool
	closed  bool
	wake    chan struct{}
	done    chan struct{}
	// After failed logins, callers get the last error until loginRetryAt
	// instead of starting a login each (no tight loop against a refusing
	// or unreachable Vault).
	loginFails   int
	loginRetryAt time.Time
	loginErr     error
}

func newTokenManager(c *Client, m AuthMethod, s *settings) *tokenManager {
	tm := &tokenManager{c: c.withoutToken(), method: m, policy: schedule.Default, events: s.events, logger: c.logger,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	if r, ok := m.(interface{ Reobtainable() bool }); ok {
		tm.fixed = !r.Reobtainable()
	}
	_, userToken := m.(interface{ Reobtainable() bool })
	tm.revoke = !userToken
	if s.revoke != nil {
		tm.revoke = *s.revoke
	}
	tm.bg, tm.cancel = context.WithCancel(context.Background())
	return tm
}

// Token returns a valid token, logging in when there is none. The caller's
// context bounds only its own wait: the login goes on for other callers.
func (m *tokenManager) Token(ctx context.Context) (Token, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return Token{}, ErrClosed
	}
	now := time.Now()
	if m.cur != nil && m.cur.usable(now) {
		t := m.cur.tok
		m.mu.Unlock()
		return t, nil
	}
	if m.login == nil && now.Before(m.loginRetryAt) {
		err := m.loginErr
		m.mu.Unlock()
		return Token{}, err
	}
	call := m.startLoginLocked("no valid token")
	m.mu.Unlock()
	select {
	case <-call.done:
		if call.err != nil {
			return Token{}, call.err
		}
		return call.state.tok, nil
	case <-ctx.Done():
		return Token{}, &ConnectionError{Method: http.MethodPost, Address: m.c.address, Path: "login", Err: ctx.Err()}
	}
}

// authenticate logs in now unless a usable token is held.
func (m *tokenManager) authenticate(ctx context.Context) error {
	_, err := m.Token(ctx)
	return err
}

// startLoginLocked joins the login in flight or starts one. m.mu is held.
func (m *tokenManager) startLoginLocked(reason string) *loginCall {
	if m.login != nil {
		return m.login
	}
	call := &loginCall{done: make(chan struct{})}
	m.login = call
	go m.runLogin(call, reason)
	return call
}

func (m *tokenManager) runLogin(call *loginCall, reason string) {
	ctx, cancel := context.WithTimeout(m.bg, 2*m.c.timeout+5*time.Second)
	defer cancel()
	start := time.Now() // the TTL counts from no later than this
	a, err := m.method.Login(ctx, m.c)
	if err == nil && (a == nil || a.ClientToken.IsZero()) {
		err = &ResponseError{StatusCode: http.StatusOK, Method: http.MethodPost, Path: "login", Errors: []string{"the auth method returned no client token"}, kinds: []error{ErrMalformedResponse}}
	}
	now := time.Now()
	var ev Event
	m.mu.Lock()
	if err != nil {
		ev = Event{Kind: EventLoginFailed, Time: now, Err: err, Reason: reason}
		if m.cur != nil {
			m.cur.sched.Failures++
		}
		m.loginFails++
		m.loginErr = err
		m.loginRetryAt = now.Add(max(m.policy.Backoff(m.loginFails, rand.Float64()), m.policy.MinWait))
	} else {
		relogin := m.cur != nil
		m.loginFails, m.loginErr, m.loginRetryAt = 0, nil, time.Time{}
		m.cur = &tokenState{tok: a.ClientToken, auth: a, sched: schedule.State{Granted: start, TTL: a.TTL(), Renewable: a.Renewable}}
		ev = Event{Kind: EventLogin, Time: now, TTL: a.TTL(), Relogin: relogin, Reason: reason, Accessor: a.Accessor}
		if !m.started && !m.closed {
			m.started = true
			go m.run()
		}
	}
	call.state, call.err = m.cur, err
	m.login = nil
	m.mu.Unlock()
	close(call.done)
	m.signal()
	m.emit(ev)
}

func (m *tokenManager) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// invalidate drops t after Vault called it invalid; the next request logs in.
func (m *tokenManager) invalidate(t Token) {
	m.mu.Lock()
	dropped := m.cur != nil && m.cur.tok.Equal(t)
	if dropped {
		m.cur = nil
	}
	m.mu.Unlock()
	if dropped {
		m.signal()
		m.emit(Event{Kind: EventExpired, Time: time.Now(), Reason: "Vault reported the token invalid (revoked or expired)"})
	}
}

// run keeps the token alive until close.
func (m *tokenManager) run() {
	defer close(m.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		m.mu.Lock()
		cur := m.cur
		var st schedule.State
		if cur != nil {
			st = cur.sched // fields of cur change under m.mu only
		}
		m.mu.Unlock()
		action, at := schedule.None, time.Time{}
		if cur != nil {
			action, at = m.policy.Next(st, time.Now(), rand.Float64())
		}
		if action == schedule.None {
			select {
			case <-m.bg.Done():
				return
			case <-m.wake:
				continue
			}
		}
		timer.Reset(time.Until(at))
		select {
		case <-m.bg.Done():
			return
		case <-m.wake:
			timer.Stop() // Go >= 1.23: no stale value can be received after Stop
			continue
		case <-timer.C:
		}
		switch action {
		case schedule.Renew:
			m.renew(cur)
		case schedule.Replace:
			m.replace(cur, st)
		}
	}
}

// current reports whether s is still the token held.
func (m *tokenManager) current(s *tokenState) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cur == s
}

func (m *tokenManager) renew(s *tokenState) {
	ctx, cancel := context.WithTimeout(m.bg, m.c.timeout)
	defer cancel()
	now := time.Now() // the new TTL counts from no later than this
	var out Secret
	err := m.c.do(ctx, &request{method: http.MethodPost, path: "auth/token/renew-self", token: s.tok, noRefine: true, safe: true, body: map[string]any{}}, &out)
	if err == nil && (out.Auth == nil) {
		err = &ResponseError{StatusCode: http.StatusOK, Method: http.MethodPost, Path: "auth/token/renew-self", Errors: []string{"no auth block in the answer"}, kinds: []error{ErrMalformedResponse}}
	}
	m.mu.Lock()
	if m.cur != s {
		m.mu.Unlock()
		return // replaced meanwhile
	}
	var ev Event
	switch {
	case err == nil:
		newTTL := out.Auth.TTL()
		extended := schedule.Extended(s.sched, now, newTTL)
		s.sched = schedule.State{Granted: now, TTL: newTTL, Renewable: out.Auth.Renewable, Capped: !extended}
		ev = Event{Kind: EventRenewed, Time: now, TTL: newTTL, Accessor: s.auth.Accessor}
		if !extended {
			ev.Reason = "max TTL near: the next step is a new login"
		}
	case errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrPermissionDenied) || errors.Is(err, ErrBadRequest):
		// Revoked, expired, or renewal refused: stop renewing, log in again.
		s.sched.Capped = true
		s.sched.Failures = 0
		ev = Event{Kind: EventRenewFailed, Time: now, TTL: s.sched.TTL, Err: err, Reason: "renewal refused: the next step is a new login"}
		if errors.Is(err, ErrInvalidToken) {
			m.cur = nil
			ev.Reason = "token invalid: logging in again"
		}
	default:
		s.sched.Failures++
		ev = Event{Kind: EventRenewFailed, Time: now, TTL: s.sched.TTL, Err: err, Reason: "vault unreachable: retrying with backoff"}
	}
	dropped := m.cur == nil
	m.mu.Unlock()
	m.emit(ev)
	if dropped && !m.fixed {
		m.relogin("token invalid")
	}
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
		if m.cur == s {
			m.cur = nil
		}
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
		if m.cur == s {
			m.cur = nil
		}
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
	call := m.startLoginLocked(reason)
	m.mu.Unlock()
	select {
	case <-call.done:
	case <-m.bg.Done():
	}
}

func (m *tokenManager) emit(ev Event) {
	if ev.Kind == 0 {
		return
	}
	level := slog.LevelInfo
	switch ev.Kind {
	case EventRenewed, EventClosed:
		level = slog.LevelDebug
	case EventLoginFailed, EventRenewFailed, EventExpired:
		level = slog.LevelWarn
	}
	if m.logger.Enabled(m.bg, level) {
		attrs := []slog.Attr{slog.String("event", ev.Kind.String()), slog.Duration("ttl", ev.TTL)}
		if ev.Relogin {
			attrs = append(attrs, slog.Bool("relogin", true))
		}
		if ev.Reason != "" {
			attrs = append(attrs, slog.String("reason", ev.Reason))
		}
		if ev.Accessor != "" {
			attrs = append(attrs, slog.String("accessor", ev.Accessor))
		}
		if ev.Err != nil {
			attrs = append(attrs, slog.String("error", ev.Err.Error()))
		}
		m.logger.LogAttrs(context.Background(), level, "vault token", attrs...)
	}
	if m.events != nil {
		m.events(ev)
	}
}

// close stops the background work and revokes the token when asked to.
func (m *tokenManager) close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
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
	m.mu.Lock()
	cur := m.cur
	revocable := cur != nil && cur.sched.TTL > 0 && cur.auth.TokenType != "batch" // batch tokens cannot be revoked
	m.mu.Unlock()
	var err error
	revoked := false
	if m.revoke && revocable {
		err = m.c.do(ctx, &request{method: http.MethodPost, path: "auth/token/revoke-self", token: cur.tok, noRefine: true}, nil)
		revoked = err == nil
	}
	m.emit(Event{Kind: EventClosed, Time: time.Now(), Revoked: revoked, Err: err})
	return err
}

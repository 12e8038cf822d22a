// Package lease keeps a leased secret alive: dynamic database credentials,
// cloud credentials, anything Vault hands out with a lease. A Manager reads
// the secret, renews its lease at about two thirds of its duration (with
// jitter), and when the lease cannot be extended any more (max TTL, renewal
// refused) reads new credentials before the old ones expire, hands old and
// new to the application, and revokes the old lease after a grace period.
// Close revokes everything it holds.
//
// A PostgreSQL pool that follows rotations:
//
//	m, err := lease.Watch(ctx, client, "database/creds/app",
//		lease.OnRotate(func(r lease.Rotation) { pool.Reset() })) // new connections take m.Current()
//	defer m.Close(ctx)
package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/internal/schedule"
)

// Rotation is handed to the application when new credentials replace old
// ones. Old stays valid until it is revoked, Grace after the rotation (or
// until it expires, if that comes first).
type Rotation struct {
	Old, New *gdsvault.Secret
	// RevokeAt is when the old lease will be revoked.
	RevokeAt time.Time
}

// DefaultGracePeriod is how long old credentials live after a rotation when
// WithGracePeriod is not given.
const DefaultGracePeriod = 30 * time.Second

// Option configures Watch. An option given a bad value (a nil callback, a
// negative grace period, a nil logger) makes Watch return a
// *gdsvault.ConfigError naming it, before any request; several bad options
// come back joined (errors.Join). Options only fill Watch's configuration:
// they never reach a running Manager.
type Option func(*config) error

// config is what the options set; Watch copies it into the Manager.
type config struct {
	onRotate func(Rotation)
	grace    time.Duration
	logger   *slog.Logger
}

// OnRotate calls fn (on the manager's goroutine) after each rotation. Keep it
// short: swap a pointer, reset a pool. It must not call Close (Close waits
// for that goroutine). A nil fn is a configuration error.
func OnRotate(fn func(Rotation)) Option {
	return func(c *config) error {
		if fn == nil {
			return &gdsvault.ConfigError{Field: "lease rotation callback", Problem: "is nil",
				Hint: "pass a function to lease.OnRotate, or leave the option out"}
		}
		c.onRotate = fn
		return nil
	}
}

// WithGracePeriod sets how long old credentials live after a rotation before
// their lease is revoked (default 30 s, never past their expiry; 0 revokes
// them at once). A negative d is a configuration error.
func WithGracePeriod(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return &gdsvault.ConfigError{Field: "lease grace period", Problem: "must not be negative, got " + d.String(),
				Hint: "give lease.WithGracePeriod zero (revoke at once) or a positive duration"}
		}
		c.grace = d
		return nil
	}
}

// WithLogger logs renewals, rotations and failures (lease IDs and TTLs,
// never credentials). Default: slog.Default(). A nil logger is a
// configuration error: pass slog.New(slog.DiscardHandler) to silence it.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return &gdsvault.ConfigError{Field: "lease logger", Problem: "is nil",
				Hint: "use slog.New(slog.DiscardHandler) to silence the manager, or leave lease.WithLogger out for slog.Default"}
		}
		c.logger = l
		return nil
	}
}

// configure checks Watch's arguments and applies the options to the
// defaults. It does no I/O. Nil options are skipped.
func configure(c *gdsvault.Client, path string, opts []Option) (config, error) {
	cfg := config{grace: DefaultGracePeriod}
	var errs []error
	if c == nil {
		errs = append(errs, &gdsvault.ConfigError{Field: "lease client", Problem: "is nil", Hint: "pass a client made by gdsvault.New"})
	}
	if strings.Trim(strings.TrimSpace(path), "/") == "" {
		errs = append(errs, &gdsvault.ConfigError{Field: "lease path", Problem: "is empty", Hint: "name a dynamic secret, e.g. database/creds/app"})
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	switch len(errs) {
	case 0:
		return cfg, nil
	case 1:
		return cfg, errs[0]
	}
	return cfg, errors.Join(errs...)
}

// Manager holds one leased secret.
type Manager struct {
	c        *gdsvault.Client
	path     string
	template string // the path's template, for the client's observer
	onRotate func(Rotation)
	grace    time.Duration
	logger   *slog.Logger
	policy   schedule.Policy

	mu      sync.Mutex
	cur     *held
	old     []*held
	closed  bool
	renews  int
	rotates int

	bg     context.Context
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{}
}

type held struct {
	s        *gdsvault.Secret
	sched    schedule.State
	ttl0     time.Duration // the lease duration first granted, asked for again at each renewal
	revokeAt time.Time
}

// Watch reads path (which must return a leased secret) and keeps it alive
// until Close. The first read happens now, with ctx; the background work runs
// until Close. A nil client, an empty path or a bad option is reported as a
// *gdsvault.ConfigError (joined when several) before any request.
func Watch(ctx context.Context, c *gdsvault.Client, path string, opts ...Option) (*Manager, error) {
	cfg, err := configure(c, path, opts)
	if err != nil {
		return nil, err
	}
	m := &Manager{c: c, path: path, template: templateOf(c, path), onRotate: cfg.onRotate, grace: cfg.grace, logger: cfg.logger, policy: schedule.DefaultPolicy(),
		done: make(chan struct{}), wake: make(chan struct{}, 1)}
	s, err := m.read(ctx)
	if err != nil {
		return nil, err
	}
	m.cur = s
	m.bg, m.cancel = context.WithCancel(context.Background())
	go m.run()
	return m, nil
}

func (m *Manager) read(ctx context.Context) (*held, error) {
	// Do, not Read: a rotation needs new credentials from Vault, never a
	// copy from the client's cache.
	s, err := m.c.Do(ctx, http.MethodGet, m.path, nil)
	if err != nil {
		return nil, err
	}
	if s.LeaseID == "" || s.LeaseDuration <= 0 {
		return nil, &gdsvault.ConfigError{Field: "lease", Problem: m.path + " returned a secret without a lease",
			Hint: "use lease.Watch for dynamic secrets (database/creds/<role>...); cache static ones instead"}
	}
	now := time.Now()
	return &held{s: s, ttl0: s.LeaseTTL(), sched: schedule.State{Granted: now, TTL: s.LeaseTTL(), Renewable: s.Renewable}}, nil
}

// Current returns the credentials in use now (a copy).
func (m *Manager) Current() *gdsvault.Secret {
	m.mu.Lock()
	defer m.mu.Unlock()
	return copySecret(m.cur.s)
}

func copySecret(s *gdsvault.Secret) *gdsvault.Secret { return s.Clone() }

// Stats returns how many renewals and rotations happened.
func (m *Manager) Stats() (renewals, rotations int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.renews, m.rotates
}

func (m *Manager) run() {
	defer close(m.done)
	schedule.Loop(m.bg, m.wake, func() (func(), time.Time) {
		m.mu.Lock()
		cur, st := m.cur, m.cur.sched
		var due *held
		for _, o := range m.old {
			if due == nil || o.revokeAt.Before(due.revokeAt) {
				due = o
			}
		}
		m.mu.Unlock()
		action, at := m.policy.Next(st, time.Now(), rand.Float64())
		switch {
		case due != nil && (action == schedule.None || !at.Before(due.revokeAt)):
			return func() { m.revokeOld(due) }, due.revokeAt
		case action == schedule.Renew:
			return func() { m.renew(cur) }, at
		case action == schedule.Replace:
			return func() { m.rotate(cur) }, at
		}
		return nil, time.Time{}
	})
}

// templateOf is path's bounded template (database/creds/*).
func templateOf(c *gdsvault.Client, path string) string {
	_, t := c.PathTemplate(path)
	return t
}

// notice tells the client's observer (if any) about a lease event.
func (m *Manager) notice(reason string) {
	if o := m.c.Observer(); o != nil && reason != "" {
		o.Notice(gdsvault.Notice{Kind: gdsvault.NoticeLease, Time: time.Now(), Reason: reason, Template: m.template})
	}
}

func (m *Manager) renew(h *held) {
	ctx, cancel := context.WithTimeout(m.bg, 30*time.Second)
	defer cancel()
	s, err := m.c.Do(ctx, http.MethodPut, "sys/leases/renew", map[string]any{"lease_id": h.s.LeaseID, "increment": int(h.ttl0 / time.Second)})
	now := time.Now()
	var outcome string
	defer func() { m.notice(outcome) }() // after the unlock below
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur != h {
		return
	}
	switch {
	case err == nil:
		outcome = "renewed"
		ttl := s.LeaseTTL()
		extended := schedule.Extended(h.sched, now, ttl)
		h.sched = schedule.State{Granted: now, TTL: ttl, Renewable: s.Renewable, Capped: !extended}
		m.renews++
		m.logger.Debug("vault lease renewed", "path", m.path, "lease_id", h.s.LeaseID, "ttl", ttl, "max_ttl_near", !extended)
	case gdsvault.IsTransient(err):
		outcome = "renewal_failed"
		h.sched.Failures++
		m.logger.Warn("vault lease renewal failed; retrying", "path", m.path, "lease_id", h.s.LeaseID, "error", err.Error())
	default:
		// Refused (expired, revoked, not renewable): rotate now.
		outcome = "renewal_refused"
		h.sched.Capped, h.sched.Failures = true, 0
		m.logger.Warn("vault lease renewal refused; rotating", "path", m.path, "lease_id", h.s.LeaseID, "error", err.Error())
	}
}

func (m *Manager) rotate(h *held) {
	ctx, cancel := context.WithTimeout(m.bg, 30*time.Second)
	defer cancel()
	n, err := m.read(ctx)
	now := time.Now()
	m.mu.Lock()
	if m.cur != h || m.closed {
		m.mu.Unlock()
		if n != nil {
			m.revoke(context.Background(), n.s.LeaseID)
		}
		return
	}
	if err == nil && n.s.LeaseID == h.s.LeaseID {
		err = fmt.Errorf("vault answered the same lease %s", h.s.LeaseID)
	}
	if err != nil {
		h.sched.Failures++
		m.mu.Unlock()
		m.logger.Warn("vault lease rotation failed; the current credentials stay in use while valid", "path", m.path, "error", err.Error())
		m.notice("rotation_failed")
		return
	}
	h.revokeAt = now.Add(m.grace)
	if exp := h.sched.Expiry(); !exp.IsZero() && exp.Before(h.revokeAt) {
		h.revokeAt = exp
	}
	m.old = append(m.old, h)
	m.cur = n
	m.rotates++
	rot := Rotation{Old: copySecret(h.s), New: copySecret(n.s), RevokeAt: h.revokeAt}
	m.mu.Unlock()
	m.notice("rotated")
	m.logger.Info("vault lease rotated", "path", m.path, "old_lease_id", h.s.LeaseID, "new_lease_id", n.s.LeaseID,
		"ttl", n.sched.TTL, "old_revoked_at", h.revokeAt.Format(time.RFC3339))
	if m.onRotate != nil {
		m.onRotate(rot)
	}
}

func (m *Manager) revokeOld(h *held) {
	m.mu.Lock()
	for i, o := range m.old {
		if o == h {
			m.old = append(m.old[:i], m.old[i+1:]...)
			break
		}
	}
	m.mu.Unlock()
	m.revoke(m.bg, h.s.LeaseID)
}

func (m *Manager) revoke(ctx context.Context, leaseID string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := m.c.Do(ctx, http.MethodPut, "sys/leases/revoke", map[string]any{"lease_id": leaseID})
	if err != nil {
		m.logger.Warn("vault lease revocation failed", "lease_id", leaseID, "error", err.Error())
		return fmt.Errorf("revoking lease %s: %w", leaseID, err)
	}
	m.logger.Debug("vault lease revoked", "lease_id", leaseID)
	return nil
}

// Close stops the manager and revokes every lease it holds (the current
// one and those in their grace period). It is idempotent.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	select {
	case <-m.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	m.mu.Lock()
	all := append([]*held{m.cur}, m.old...)
	m.old = nil
	m.mu.Unlock()
	var errs []error
	for _, h := range all {
		if err := m.revoke(ctx, h.s.LeaseID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

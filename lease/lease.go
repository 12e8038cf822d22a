// Package lease keeps a leased secret alive: dynamic database credentials,
// cloud credentials, anything Vault hands out with a lease. A Manager reads
// the secret, renews its lease at about two thirds of its duration (with
// jitter), and when the lease cannot be extended any more (max TTL, renewal
// refused) reads new credentials before the old ones expire, hands old and
// new to the application, and revokes the old lease after a grace period.
// Close revokes everything it holds.
//
// The course project's use, a PostgreSQL pool that follows rotations:
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

// Option configures a Manager.
type Option func(*Manager)

// OnRotate calls fn (on the manager's goroutine) after each rotation. Keep it
// short: swap a pointer, reset a pool. It must not call Close (Close waits
// for that goroutine).
func OnRotate(fn func(Rotation)) Option { return func(m *Manager) { m.onRotate = fn } }

// WithGracePeriod sets how long old credentials live after a rotation before
// their lease is revoked (default 30 s, never past their expiry).
func WithGracePeriod(d time.Duration) Option { return func(m *Manager) { m.grace = d } }

// WithLogger logs renewals, rotations and failures (lease IDs and TTLs,
// never credentials). Default: slog.Default().
func WithLogger(l *slog.Logger) Option { return func(m *Manager) { m.logger = l } }

// Manager holds one leased secret.
type Manager struct {
	c        *gdsvault.Client
	path     string
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
// until Close.
func Watch(ctx context.Context, c *gdsvault.Client, path string, opts ...Option) (*Manager, error) {
	m := &Manager{c: c, path: path, grace: 30 * time.Second, logger: slog.Default(), policy: schedule.Default,
		done: make(chan struct{}), wake: make(chan struct{}, 1)}
	for _, o := range opts {
		o(m)
	}
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
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
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
		revoke := due != nil && (action == schedule.None || !at.Before(due.revokeAt))
		if revoke {
			at = due.revokeAt
		}
		if action == schedule.None && !revoke {
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
			timer.Stop()
			continue
		case <-timer.C:
		}
		switch {
		case revoke:
			m.revokeOld(due)
		case action == schedule.Renew:
			m.renew(cur)
		case action == schedule.Replace:
			m.rotate(cur)
		}
	}
}

func (m *Manager) renew(h *held) {
	ctx, cancel := context.WithTimeout(m.bg, 30*time.Second)
	defer cancel()
	s, err := m.c.Do(ctx, http.MethodPut, "sys/leases/renew", map[string]any{"lease_id": h.s.LeaseID, "increment": int(h.ttl0 / time.Second)})
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur != h {
		return
	}
	switch {
	case err == nil:
		ttl := s.LeaseTTL()
		extended := schedule.Extended(h.sched, now, ttl)
		h.sched = schedule.State{Granted: now, TTL: ttl, Renewable: s.Renewable, Capped: !extended}
		m.renews++
		m.logger.Debug("vault lease renewed", "path", m.path, "lease_id", h.s.LeaseID, "ttl", ttl, "max_ttl_near", !extended)
	case gdsvault.IsTransient(err):
		h.sched.Failures++
		m.logger.Warn("vault lease renewal failed; retrying", "path", m.path, "lease_id", h.s.LeaseID, "error", err.Error())
	default:
		// Refused (expired, revoked, not renewable): rotate now.
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

package gdsvault

import (
	"context"
	"errors"
	"sync"
)

// WithAuth makes the client log in with m when it first needs a token, and
// again when Vault reports the token invalid.
func WithAuth(m AuthMethod) Option {
	return func(s *settings) error {
		if m == nil {
			return &ConfigError{Field: "auth", Problem: "auth method is nil"}
		}
		s.auth = m
		return nil
	}
}

// loginSource is the TokenSource of a client built WithAuth.
type loginSource struct {
	c      *Client // a tokenless copy, for the logins
	method AuthMethod

	mu   sync.Mutex
	auth *Auth
}

func newLoginSource(c *Client, m AuthMethod) *loginSource {
	return &loginSource{c: c.withoutToken(), method: m}
}

func (s *loginSource) Token(ctx context.Context) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.auth != nil {
		return s.auth.ClientToken, nil
	}
	a, err := s.method.Login(ctx, s.c)
	if err != nil {
		return Token{}, err
	}
	if a == nil || a.ClientToken.IsZero() {
		return Token{}, errors.New("gdsvault: login returned no client token")
	}
	s.auth = a
	return a.ClientToken, nil
}

func (s *loginSource) invalidate(t Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.auth != nil && s.auth.ClientToken.Equal(t) {
		s.auth = nil
	}
}

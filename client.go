package gdsvault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gdsvault/gdsvault/retry"
	"github.com/gdsvault/gdsvault/secretcache"
	"golang.org/x/sync/singleflight"
)

// Client talks to one Vault server. It is safe for concurrent use and does
// not change after New; WithNamespace returns a copy that shares the
// connection pool, the mount cache and the lifecycle of the original.
type Client struct {
	address   string
	namespace string
	tokens    TokenSource
	// feedback is tokens when it learns from Vault's answers.
	feedback TokenFeedback
	// observer sees requests, logins and events (nil: none).
	observer Observer
	http     *http.Client
	timeout  time.Duration
	// ctxTimeout is set when the user's http.Client has no Timeout of its own.
	ctxTimeout bool
	logger     *slog.Logger
	userAgent  string
	retry      retry.Policy
	// maxResponse bounds a successful answer's body.
	maxResponse int64
	// noBreaker keeps logins and renewals out of the circuit breaker: a
	// probe that needs a login must not be refused by the probe it is.
	noBreaker bool
	// routes memoises the resolution of the paths this client (this
	// namespace) reads.
	routes *routes

	shared *shared
}

// shared is the state every copy of a client shares.
type shared struct {
	mounts       mountCache
	closed       atomic.Bool
	closeOnce    sync.Once
	closeErr     error
	ownTransport *http.Transport
	breaker      *retry.Breaker
	caches       *caches
	tokens       *tokenManager // the lifecycle of a client built WithAuth
	nodes        *nodeSet      // a cluster's nodes (WithAddresses), nil for one address
	denials      denials       // recent policy denials (refineDenied)
	mountFlight  singleflight.Group
	tokenHeader  atomic.Pointer[tokenHeader] // the last token's header value
}

// New builds a client from options. Without WithAddress it talks to
// DefaultAddress; without a token or auth method it sends no token (enough
// for sys/health and logins). New never reads the environment: see the config
// package and auth.FromEnv for that.
func New(opts ...Option) (*Client, error) {
	s := settings{address: DefaultAddress, timeout: DefaultTimeout, maxResponse: DefaultMaxResponseSize, failoverTimeout: DefaultFailoverTimeout}
	var errs []error
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&s); err != nil {
			errs = append(errs, err)
		}
	}
	if s.tls != nil && (s.httpClient != nil || s.transport != nil) {
		errs = append(errs, &ConfigError{Field: "tls", Problem: "WithTLS cannot be combined with WithHTTPClient or WithTransport",
			Hint: "set TLS on your own transport, or drop it and let gdsvault build one"})
	}
	if s.httpClient != nil && s.transport != nil {
		errs = append(errs, &ConfigError{Field: "transport", Problem: "WithTransport cannot be combined with WithHTTPClient",
			Hint: "set the transport on your http.Client"})
	}
	if s.tokens != nil && s.auth != nil {
		errs = append(errs, &ConfigError{Field: "auth", Problem: "both a token and an auth method are set",
			Hint: "use a token (development) or an auth method (production), not both"})
	}
	var tr *http.Transport
	if s.httpClient == nil && s.transport == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		tr.MaxIdleConns = 128
		if s.tls != nil {
			tc, err := s.tls.build()
			if err != nil {
				errs = append(errs, err)
			} else {
				tr.TLSClientConfig = tc
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	c := &Client{
		address:     s.address,
		namespace:   s.namespace,
		tokens:      s.tokens,
		timeout:     s.timeout,
		logger:      s.logger,
		userAgent:   s.userAgent,
		retry:       retry.DefaultPolicy(),
		maxResponse: s.maxResponse,
		routes:      new(routes),
		shared:      &shared{ownTransport: tr},
	}
	c.retry.Budget = retry.NewBudget(500)
	if s.retry != nil {
		c.retry = *s.retry
		if c.retry.Budget == nil {
			c.retry.Budget = retry.NewBudget(500)
		}
	}
	if len(s.observers) > 0 {
		c.observer = MultiObserver(s.observers...)
	}
	if s.breaker != nil {
		cfg := *s.breaker
		if o, user := c.observer, cfg.OnChange; o != nil {
			cfg.OnChange = func(from, to retry.State) {
				o.Notice(Notice{Kind: NoticeBreaker, Time: time.Now(), From: from.String(), To: to.String()})
				if user != nil {
					user(from, to)
				}
			}
		}
		c.shared.breaker = retry.NewBreaker(cfg)
	}
	if s.cache != nil {
		// The client's logger, unless a cache option names another.
		cs, err := newCaches(append([]secretcache.Option{secretcache.WithLogger(s.logger)}, s.cache...))
		if err != nil {
			return nil, err
		}
		c.shared.caches = cs
	}
	redirect := checkRedirect
	if len(s.addresses) > 1 {
		// In a cluster the client handles a standby's redirect itself: it
		// goes to the configured node it names, never elsewhere.
		redirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	switch {
	case s.httpClient != nil:
		hc := *s.httpClient
		if len(s.addresses) > 1 {
			hc.CheckRedirect = redirect
		}
		c.http = &hc
		c.ctxTimeout = s.httpClient.Timeout == 0
	case s.transport != nil:
		c.http = &http.Client{Transport: s.transport, Timeout: s.timeout, CheckRedirect: redirect}
	default:
		c.http = &http.Client{Transport: tr, Timeout: s.timeout, CheckRedirect: redirect}
	}
	if s.tls != nil && s.tls.Insecure {
		c.logger.Warn("vault TLS certificate verification is disabled (skip-verify): use only for development", "address", c.address)
	}
	if len(s.addresses) > 1 {
		c.shared.nodes = newNodeSet(s.addresses, s.failoverTimeout)
		c.shared.nodes.c, c.shared.nodes.logger = c.withoutToken(), c.logger
	}
	if (s.tokens != nil || s.auth != nil) && cleartextRemote(c.address) {
		if s.requireTLS {
			return nil, &ConfigError{Field: "address", Problem: "plain http to " + quoteShort(c.address) + " would send the token unencrypted",
				Hint: "use https://, or drop RequireTLS for a development server"}
		}
		c.logger.Warn("vault address is plain http to another host: the token travels unencrypted (use https, or RequireTLS to refuse)", "address", c.address)
	}
	if s.auth != nil {
		tm := newTokenManager(c, s.auth, &s)
		c.tokens, c.shared.tokens = tm, tm
	}
	c.feedback, _ = c.tokens.(TokenFeedback)
	if c.observer != nil {
		c.observer.Attach(c)
	}
	return c, nil
}

// String shows the address and namespace, never the token.
func (c *Client) String() string {
	if c == nil {
		return "<nil>"
	}
	return "gdsvault.Client{address=" + c.address + " namespace=" + c.namespace + "}"
}

// Format makes every fmt verb print String.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// Address is the Vault address the client talks to: with WithAddresses,
// the node it uses now.
func (c *Client) Address() string {
	if ns := c.shared.nodes; ns != nil {
		return ns.cur.Load().addr
	}
	return c.address
}

// Namespace is the namespace sent with every request ("" for none).
func (c *Client) Namespace() string { return c.namespace }

// WithNamespace returns a copy of the client that sends namespace ns.
func (c *Client) WithNamespace(ns string) *Client {
	cp := *c
	cp.namespace = strings.Trim(strings.TrimSpace(ns), "/")
	cp.routes = new(routes)
	return &cp
}

// withoutToken returns a copy that sends no token, bypasses the circuit
// breaker and makes one attempt per request (for the token manager's logins
// and renewals: a login is part of the attempt of the request that needs it,
// which the caller's retry layer repeats; renewals have their own schedule).
func (c *Client) withoutToken() *Client {
	cp := *c
	cp.tokens, cp.feedback = nil, nil
	cp.noBreaker = true
	cp.retry.MaxAttempts = 1
	return &cp
}

// cleartextRemote reports whether addr is plain http to a host that is not
// this machine.
func cleartextRemote(addr string) bool {
	u, err := url.Parse(addr)
	if err != nil || u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// Authenticate logs in now (when the client has an auth method and holds no
// valid token) instead of at the first request, so that a program can fail
// fast at start-up.
func (c *Client) Authenticate(ctx context.Context) error {
	if c.tokens == nil {
		return &ConfigError{Field: "auth", Problem: "the client has no token and no auth method", Hint: "use WithToken or WithAuth"}
	}
	_, err := c.tokens.Token(ctx)
	return err
}

// Close stops what the client runs in the background, revokes the token it
// logged in for when its auth method asks so, and releases idle connections.
// It is idempotent; copies made by WithNamespace share it. Requests made after
// Close fail with ErrClosed.
func (c *Client) Close(ctx context.Context) error {
	c.shared.closeOnce.Do(func() {
		if tm := c.shared.tokens; tm != nil {
			c.shared.closeErr = tm.close(ctx)
		}
		c.shared.closed.Store(true)
		if ns := c.shared.nodes; ns != nil {
			ns.close()
		}
		if c.shared.ownTransport != nil {
			c.shared.ownTransport.CloseIdleConnections()
		}
	})
	return c.shared.closeErr
}

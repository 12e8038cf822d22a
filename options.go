package gdsvault

import (
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gdsvault/gdsvault/retry"
	"github.com/gdsvault/gdsvault/secretcache"
)

// DefaultTimeout bounds one HTTP request when WithTimeout is not given.
const DefaultTimeout = 10 * time.Second

// DefaultAddress is the address of a local development Vault. New uses it
// only when no address is given; production configuration should always
// name its server.
const DefaultAddress = "http://127.0.0.1:8200"

// Option configures a Client in New. Options that receive bad values make New
// fail with a *ConfigError.
type Option func(*settings) error

type settings struct {
	address    string
	tokens     TokenSource
	auth       AuthMethod
	namespace  string
	timeout    time.Duration
	tls        *TLSConfig
	httpClient *http.Client
	transport  http.RoundTripper
	logger     *slog.Logger
	userAgent  string
	events     func(Event)
	revoke     *bool
	retry      *retry.Policy
	breaker    *retry.BreakerConfig
	cache      []secretcache.Option
	// maxResponse bounds successful answers; requireTLS refuses plain http
	// to another host.
	maxResponse int64
	requireTLS  bool
	observers   []Observer
	// addresses are a cluster's nodes (WithAddresses); failoverTimeout
	// bounds the wait for one when all are down.
	addresses       []string
	failoverTimeout time.Duration
}

// WithAddress sets Vault's address, such as "https://vault.example.com:8200".
func WithAddress(addr string) Option {
	return func(s *settings) error {
		norm, err := normalizeAddress(addr)
		if err != nil {
			return err
		}
		s.address, s.addresses = norm, nil
		return nil
	}
}

func normalizeAddress(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", &ConfigError{Field: "address", Problem: "is empty", Hint: "set VAULT_ADDR, e.g. https://vault.example.com:8200"}
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", &ConfigError{Field: "address", Problem: "must be an http:// or https:// URL with a host, got " + quoteShort(addr),
			Hint: "e.g. VAULT_ADDR=https://vault.example.com:8200"}
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", &ConfigError{Field: "address", Problem: "must not carry credentials, a query or a fragment",
			Hint: "give only scheme, host, port and an optional path prefix"}
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, "/v1")
	return u.Scheme + "://" + u.Host + p, nil
}

// WithToken makes every request carry this token, as VAULT_TOKEN does. The
// token is used as is: nothing renews it (see WithAuth for a client that keeps
// itself logged in).
func WithToken(token string) Option {
	return func(s *settings) error {
		if strings.TrimSpace(token) == "" {
			return &ConfigError{Field: "token", Problem: "is empty", Hint: "set VAULT_TOKEN or use an auth method"}
		}
		s.tokens = StaticToken(NewToken(strings.TrimSpace(token)))
		return nil
	}
}

// WithTokenSource makes requests take their token from ts.
func WithTokenSource(ts TokenSource) Option {
	return func(s *settings) error {
		if ts == nil {
			return &ConfigError{Field: "token source", Problem: "is nil"}
		}
		s.tokens = ts
		return nil
	}
}

// WithNamespace sends X-Vault-Namespace on every request, logins included.
func WithNamespace(ns string) Option {
	return func(s *settings) error {
		s.namespace = strings.Trim(strings.TrimSpace(ns), "/")
		return nil
	}
}

// WithTimeout bounds each HTTP request (default 10 s). It must be positive.
func WithTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return &ConfigError{Field: "timeout", Problem: "must be greater than zero, got " + d.String(), Hint: "e.g. VAULT_CLIENT_TIMEOUT=10s"}
		}
		s.timeout = d
		return nil
	}
}

// WithTLS sets the TLS settings of the client's own transport. It cannot be
// combined with WithHTTPClient or WithTransport (configure TLS there).
func WithTLS(cfg TLSConfig) Option {
	return func(s *settings) error {
		c := cfg
		s.tls = &c
		return nil
	}
}

// WithHTTPClient uses hc for every request. Its Timeout is kept when set;
// otherwise the client's timeout applies through each request's context.
func WithHTTPClient(hc *http.Client) Option {
	return func(s *settings) error {
		if hc == nil {
			return &ConfigError{Field: "http client", Problem: "is nil"}
		}
		s.httpClient = hc
		return nil
	}
}

// WithTransport uses rt under the client's own http.Client (for a recording,
// tracing or fault-injecting RoundTripper).
func WithTransport(rt http.RoundTripper) Option {
	return func(s *settings) error {
		if rt == nil {
			return &ConfigError{Field: "transport", Problem: "is nil"}
		}
		s.transport = rt
		return nil
	}
}

// WithLogger sends the client's logs to l. Requests are logged at Debug level,
// warnings (such as skipped TLS verification) at Warn. Nothing logged ever
// holds a token or a secret value. Default: slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error {
		if l == nil {
			return &ConfigError{Field: "logger", Problem: "is nil", Hint: "use slog.New(slog.DiscardHandler) to silence the client"}
		}
		s.logger = l
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(s *settings) error {
		s.userAgent = ua
		return nil
	}
}

// WithMaxResponseSize bounds the body of a successful answer (default
// DefaultMaxResponseSize, 32 MiB); a larger answer fails with
// ErrResponseTooLarge after reading at most n+1 bytes. Error answers are
// always read up to 1 MiB.
func WithMaxResponseSize(n int64) Option {
	return func(s *settings) error {
		if n <= 0 || n > 1<<40 {
			return &ConfigError{Field: "max response size", Problem: "must be between 1 byte and 1 TiB, got " + strconv.FormatInt(n, 10),
				Hint: "e.g. 64 << 20 for 64 MiB"}
		}
		s.maxResponse = n
		return nil
	}
}

// RequireTLS makes New refuse a plain http:// address on another host than
// this machine when the client carries a token (without it, New logs one
// warning: the token would travel unencrypted).
func RequireTLS() Option {
	return func(s *settings) error { s.requireTLS = true; return nil }
}

// WithRetry sets the retry policy (default retry.DefaultPolicy(): 3 attempts, 100 ms
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
			p.MaxAttempts = retry.DefaultPolicy().MaxAttempts // as retry.Policy documents
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
		p := retry.DefaultPolicy()
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

package gdsvault

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/retry"
	"github.com/gdsvault/gdsvault/secretcache"
)

func TestNewValidation(t *testing.T) {
	for name, tc := range map[string]struct {
		opts  []Option
		field string
	}{
		"empty address":      {[]Option{WithAddress("")}, "address"},
		"no scheme":          {[]Option{WithAddress("vault.example.com:8200")}, "address"},
		"ftp":                {[]Option{WithAddress("ftp://x")}, "address"},
		"credentials in url": {[]Option{WithAddress("https://u:p@x")}, "address"},
		"zero timeout":       {[]Option{WithTimeout(0)}, "timeout"},
		"negative timeout":   {[]Option{WithTimeout(-time.Second)}, "timeout"},
		"empty token":        {[]Option{WithToken(" ")}, "token"},
		"nil logger":         {[]Option{WithLogger(nil)}, "logger"},
		"tls and transport":  {[]Option{WithTLS(TLSConfig{}), WithTransport(http.DefaultTransport)}, "tls"},
		"token and auth": {[]Option{WithToken("t"), WithAuth(AuthMethodFunc(func(_ context.Context, c *Client) (*Auth, error) {
			return nil, nil
		}))}, "auth"},
		"cache ttl":             {[]Option{WithCache(secretcache.WithTTL(-time.Second))}, "cache ttl"},
		"cache size":            {[]Option{WithCache(secretcache.WithMaxEntries(0))}, "cache max entries"},
		"retry attempts":        {[]Option{WithRetry(retry.Policy{MaxAttempts: -1})}, "retry max attempts"},
		"retry delays":          {[]Option{WithRetry(retry.Policy{BaseDelay: time.Second, MaxDelay: time.Millisecond})}, "retry max delay"},
		"max retries":           {[]Option{WithMaxRetries(-1)}, "max retries"},
		"breaker":               {[]Option{WithCircuitBreaker(retry.BreakerConfig{Failures: -1})}, "circuit breaker failures"},
		"max response size":     {[]Option{WithMaxResponseSize(0)}, "max response size"},
		"require tls":           {[]Option{WithAddress("http://10.1.2.3:8200"), WithToken("t"), RequireTLS()}, "address"},
		"nil auth":              {[]Option{WithAuth(nil)}, "auth"},
		"nil token source":      {[]Option{WithTokenSource(nil)}, "token source"},
		"nil http client":       {[]Option{WithHTTPClient(nil)}, "http client"},
		"nil transport":         {[]Option{WithTransport(nil)}, "transport"},
		"http client and trans": {[]Option{WithHTTPClient(&http.Client{}), WithTransport(http.DefaultTransport)}, "transport"},
	} {
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s: New panicked: %v", name, p)
				}
			}()
			_, err = New(tc.opts...)
		}()
		var ce *ConfigError
		if !errors.Is(err, ErrConfig) || !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("%s: err = %v, want ConfigError on %s", name, err, tc.field)
		}
	}
	// Several problems are reported together.
	_, err := New(WithAddress("nope"), WithTimeout(0))
	if err == nil || !strings.Contains(err.Error(), "address") || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("joined error = %v", err)
	}
	c, err := New(WithAddress("https://vault.example.com:8200/"))
	if err != nil || c.Address() != "https://vault.example.com:8200" {
		t.Errorf("address = %q, %v", c.Address(), err)
	}
}

// TestPlainHTTPWarning: a token over plain http to another host is logged
// once per client (never for loopback), and RequireTLS refuses it.
func TestPlainHTTPWarning(t *testing.T) {
	for _, tc := range []struct {
		addr string
		warn bool
	}{
		{"http://10.1.2.3:8200", true}, {"http://vault.example.com", true},
		{"http://127.0.0.1:8200", false}, {"http://[::1]:8200", false}, {"http://localhost:8200", false},
		{"https://vault.example.com", false},
	} {
		var logs bytes.Buffer
		c, err := New(WithAddress(tc.addr), WithToken("hvs.x"), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err != nil {
			t.Fatal(err)
		}
		_ = c.WithNamespace("a") // copies do not warn again
		if got := strings.Count(logs.String(), "unencrypted"); got != map[bool]int{true: 1, false: 0}[tc.warn] {
			t.Errorf("%s: %d warnings: %s", tc.addr, got, logs.String())
		}
		logs.Reset()
		if _, err := New(WithAddress(tc.addr), WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))); err != nil || logs.Len() != 0 {
			t.Errorf("%s without a token: %v, logs %q", tc.addr, err, logs.String())
		}
	}
}

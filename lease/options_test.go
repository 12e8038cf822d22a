package lease_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/lease"
)

// countingTransport answers nothing: it counts the requests that reach it.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.n.Add(1)
	return nil, errors.New("no server in this test")
}

// TestWatchRejectsBadOptions feeds every option (and Watch's own arguments)
// a bad value: Watch returns a *gdsvault.ConfigError naming it before any
// request, never panics, and several bad values come back joined.
func TestWatchRejectsBadOptions(t *testing.T) {
	rt := &countingTransport{}
	c, err := gdsvault.New(gdsvault.WithAddress("http://127.0.0.1:1"), gdsvault.WithToken("t"), gdsvault.WithTransport(rt))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())

	tests := []struct {
		name   string
		client *gdsvault.Client
		path   string
		opts   []lease.Option
		fields []string
	}{
		{"nil callback", c, "database/creds/app", []lease.Option{lease.OnRotate(nil)}, []string{"lease rotation callback"}},
		{"negative grace", c, "database/creds/app", []lease.Option{lease.WithGracePeriod(-time.Second)}, []string{"lease grace period"}},
		{"nil logger", c, "database/creds/app", []lease.Option{lease.WithLogger(nil)}, []string{"lease logger"}},
		{"nil client", nil, "database/creds/app", nil, []string{"lease client"}},
		{"empty path", c, " / ", nil, []string{"lease path"}},
		{"joined", nil, "", []lease.Option{lease.OnRotate(nil), nil, lease.WithGracePeriod(-1), lease.WithLogger(nil), lease.WithGracePeriod(0)},
			[]string{"lease client", "lease path", "lease rotation callback", "lease grace period", "lease logger"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m *lease.Manager
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("Watch panicked: %v", p)
					}
				}()
				m, err = lease.Watch(t.Context(), tt.client, tt.path, tt.opts...)
			}()
			var ce *gdsvault.ConfigError
			if m != nil || !errors.As(err, &ce) || !errors.Is(err, gdsvault.ErrConfig) {
				t.Fatalf("Watch = %v, %v; want a *gdsvault.ConfigError", m, err)
			}
			for _, f := range tt.fields {
				if !strings.Contains(err.Error(), "gdsvault: "+f+":") {
					t.Errorf("%q not named in %v", f, err)
				}
			}
			if n := len(tt.fields); n > 1 {
				if j, ok := err.(interface{ Unwrap() []error }); !ok || len(j.Unwrap()) != n {
					t.Errorf("want %d joined errors, got %v", n, err)
				}
			} else if ce.Field != tt.fields[0] {
				t.Errorf("Field = %q, want %q", ce.Field, tt.fields[0])
			}
			if n := rt.n.Load(); n != 0 {
				t.Fatalf("%d requests before the options were checked", n)
			}
		})
	}
}

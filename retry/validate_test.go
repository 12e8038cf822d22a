package retry

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/internal/cfgerr"
)

// checkConfigError asserts that err is a *cfgerr.Error (gdsvault's
// *ConfigError) matching ErrConfig and naming every field, joined when
// several.
func checkConfigError(t *testing.T, err error, fields []string) {
	t.Helper()
	var ce *cfgerr.Error
	if !errors.As(err, &ce) || !errors.Is(err, cfgerr.ErrConfig) {
		t.Fatalf("err = %v, want a *cfgerr.Error", err)
	}
	for _, f := range fields {
		if !strings.Contains(err.Error(), "gdsvault: "+f+":") {
			t.Errorf("%q not named in %v", f, err)
		}
	}
	if len(fields) > 1 {
		if j, ok := err.(interface{ Unwrap() []error }); !ok || len(j.Unwrap()) != len(fields) {
			t.Errorf("want %d joined errors, got %v", len(fields), err)
		}
	} else if ce.Field != fields[0] {
		t.Errorf("Field = %q, want %q", ce.Field, fields[0])
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name   string
		p      Policy
		fields []string // none: valid
	}{
		{name: "zero: all defaults", p: Policy{}},
		{name: "DefaultPolicy", p: DefaultPolicy()},
		{name: "one attempt", p: Policy{MaxAttempts: 1}},
		{name: "max delay equals base", p: Policy{BaseDelay: time.Second, MaxDelay: time.Second}},
		{name: "base above default max", p: Policy{BaseDelay: 5 * time.Second}},
		{name: "negative attempts", p: Policy{MaxAttempts: -1}, fields: []string{"retry max attempts"}},
		{name: "negative base", p: Policy{BaseDelay: -time.Millisecond}, fields: []string{"retry base delay"}},
		{name: "negative max", p: Policy{MaxDelay: -time.Second}, fields: []string{"retry max delay"}},
		{name: "negative retry-after", p: Policy{MaxRetryAfter: -time.Second}, fields: []string{"retry max retry-after"}},
		{name: "max below base", p: Policy{BaseDelay: time.Second, MaxDelay: 500 * time.Millisecond}, fields: []string{"retry max delay"}},
		{name: "max below default base", p: Policy{MaxDelay: 10 * time.Millisecond}, fields: []string{"retry max delay"}},
		{name: "joined", p: Policy{MaxAttempts: -2, BaseDelay: -1, MaxRetryAfter: -1},
			fields: []string{"retry max attempts", "retry base delay", "retry max retry-after"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if len(tt.fields) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			checkConfigError(t, err, tt.fields)
		})
	}
}

func TestBreakerConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		c      BreakerConfig
		fields []string
	}{
		{name: "zero: all defaults", c: BreakerConfig{}},
		{name: "set", c: BreakerConfig{Failures: 1, Cooldown: time.Second, Successes: 1, OnChange: func(State, State) {}}},
		{name: "negative failures", c: BreakerConfig{Failures: -1}, fields: []string{"circuit breaker failures"}},
		{name: "negative cooldown", c: BreakerConfig{Cooldown: -time.Second}, fields: []string{"circuit breaker cooldown"}},
		{name: "negative successes", c: BreakerConfig{Successes: -3}, fields: []string{"circuit breaker successes"}},
		{name: "joined", c: BreakerConfig{Failures: -1, Cooldown: -1, Successes: -1},
			fields: []string{"circuit breaker failures", "circuit breaker cooldown", "circuit breaker successes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			if len(tt.fields) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			checkConfigError(t, err, tt.fields)
		})
	}
}

package cloudauth

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/retry"
)

const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2bSJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"

func TestScrub(t *testing.T) {
	for _, tt := range []struct {
		name    string
		s       string
		secrets []string
		want    string
	}{
		{"no secrets", "token " + jwt, nil, "token " + jwt},
		{"empty secret is ignored", "abc", []string{""}, "abc"},
		{"every occurrence", jwt + " and " + jwt, []string{jwt}, "[redacted] and [redacted]"},
		{"several secrets", "bearer ya29.x, assertion " + jwt, []string{"ya29.x", jwt}, "bearer [redacted], assertion [redacted]"},
		{"absent secret", "nothing here", []string{jwt}, "nothing here"},
		{"adjacent occurrences", "xyzxyz", []string{"xyz"}, "[redacted][redacted]"},
		{"overlapping occurrences", "aaa", []string{"aa"}, "[redacted]a"},
		{"secret inside another, longer first", "ab-abc", []string{"abc", "ab"}, "[redacted]-[redacted]"},
		{"secret inside another, shorter first", "ab-abc", []string{"ab", "abc"}, "[redacted]-[redacted]c"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Scrub(tt.s, tt.secrets...)
			if got != tt.want {
				t.Errorf("Scrub = %q, want %q", got, tt.want)
			}
			for _, x := range tt.secrets {
				if leaves(x) && strings.Contains(got, x) {
					t.Errorf("Scrub left %q in %q", x, got)
				}
			}
		})
	}
}

// leaves reports whether Scrub promises to leave no x behind: x is not
// empty, holds no bracket and is not part of "redacted".
func leaves(x string) bool {
	return x != "" && !strings.ContainsAny(x, "[]") && !strings.Contains("redacted", x)
}

// TestScrubLeavesNoSecret: in a message that quotes a JWT, its parts, or a
// secret of another shape in any position, no secret survives.
func TestScrubLeavesNoSecret(t *testing.T) {
	secrets := []string{jwt, "ya29.stand-in-access-0123456789abcdef", "s3cr3t", "x", "ed", "{\"k\":\"v\"}"}
	wrappers := []string{"%s", "<%s>", "%s%s", "Bearer %s.", "'%s' is not valid: %s", "\"%s\"\r\nTrace ID: %s"}
	for _, x := range secrets {
		for _, w := range wrappers {
			s := strings.ReplaceAll(w, "%s", x)
			got := Scrub(s, secrets...)
			for _, y := range secrets {
				if strings.Contains(got, y) && leaves(y) {
					t.Errorf("Scrub(%q) = %q leaves %q", s, got, y)
				}
			}
		}
	}
}

func FuzzScrub(f *testing.F) {
	f.Add("token "+jwt+" refused", jwt, "")
	f.Add("aaaa", "aa", "a")
	f.Add("ab-abc", "ab", "abc")
	f.Add("Bearer ya29.x", "ya29.x", "Bearer")
	f.Fuzz(func(t *testing.T, s, x, y string) {
		got := Scrub(s, x, y)
		for _, secret := range []string{x, y} {
			if leaves(secret) && strings.Contains(got, secret) {
				t.Fatalf("Scrub(%q, %q, %q) = %q leaves %q", s, x, y, got, secret)
			}
		}
		if (x == "" || !strings.Contains(s, x)) && (y == "" || !strings.Contains(s, y)) && got != s {
			t.Fatalf("Scrub(%q, %q, %q) = %q changed a text without secrets", s, x, y, got)
		}
	})
}

func TestScrubError(t *testing.T) {
	if ScrubError(nil, jwt) != nil {
		t.Error("ScrubError(nil) is not nil")
	}

	t.Run("Vault's answer is scrubbed in place", func(t *testing.T) {
		re := &gdsvault.ResponseError{StatusCode: 400, Method: "PUT", Path: "auth/gcp/login",
			Errors: []string{"invalid jwt " + jwt, "other"}, Warnings: []string{"saw " + jwt}, Hint: "check " + jwt}
		// Wrapped as the client's retries wrap it: its text is made from
		// re's when asked for.
		wrapped := &retry.Error{Attempts: 1, Reason: "not retryable", Err: re}
		got := ScrubError(wrapped, jwt)
		if got != wrapped {
			t.Fatalf("ScrubError replaced the error: %#v", got)
		}
		var back *gdsvault.ResponseError
		if !errors.As(got, &back) || back != re || back.StatusCode != 400 || !errors.Is(ScrubError(re, jwt), re) {
			t.Fatalf("the *ResponseError is lost: %#v", got)
		}
		if re.Errors[0] != "invalid jwt [redacted]" || re.Errors[1] != "other" || re.Warnings[0] != "saw [redacted]" || re.Hint != "check [redacted]" {
			t.Errorf("scrubbed = %q %q %q", re.Errors, re.Warnings, re.Hint)
		}
		if strings.Contains(fmt.Sprintf("%v %+v %#v", got, got, re), jwt) {
			t.Errorf("the secret stays: %v", got)
		}
	})

	t.Run("other errors become plain text only with a secret", func(t *testing.T) {
		base := errors.New("dial tcp: refused")
		withSecret := fmt.Errorf("post %s: %w", "token="+jwt, base)
		for _, tt := range []struct {
			name    string
			err     error
			secrets []string
			same    bool
			want    string
		}{
			{"no secret in the text", base, []string{jwt}, true, "dial tcp: refused"},
			{"no secrets given", withSecret, nil, true, withSecret.Error()},
			{"a secret in the text", withSecret, []string{jwt}, false, "post token=[redacted]: dial tcp: refused"},
			{"several secrets", errors.New("a=s3cr3t b=" + jwt), []string{"s3cr3t", jwt}, false, "a=[redacted] b=[redacted]"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got := ScrubError(tt.err, tt.secrets...)
				if (got == tt.err) != tt.same || got.Error() != tt.want {
					t.Errorf("ScrubError = %#v (same: %v), want %q", got, got == tt.err, tt.want)
				}
			})
		}
	})
}

package prom

import (
	"sync"
	"unicode/utf8"
)

// Label values. Every label takes its values from a set bounded by the
// client's code or configuration, never by what a program reads: a value
// outside its set becomes "other".

// otherValue stands for every value past a label's bound.
const otherValue = "other"

// maxLabelLen bounds one label value; a longer one is "other".
const maxLabelLen = 256

// boundedSet admits the first max distinct values it is asked about and
// answers "other" for any later one. It is safe for concurrent use; a value
// already admitted costs a read lock.
type boundedSet struct {
	max  int
	mu   sync.RWMutex
	seen map[string]struct{}
}

func newBoundedSet(max int) *boundedSet {
	return &boundedSet{max: max, seen: make(map[string]struct{})}
}

// label returns v when it is (or can become) one of the set's values, else
// "other".
func (s *boundedSet) label(v string) string {
	if len(v) > maxLabelLen || !utf8.ValidString(v) {
		return otherValue
	}
	s.mu.RLock()
	_, ok := s.seen[v]
	full := len(s.seen) >= s.max
	s.mu.RUnlock()
	switch {
	case ok:
		return v
	case full:
		return otherValue
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[v]; !ok {
		if len(s.seen) >= s.max {
			return otherValue
		}
		s.seen[v] = struct{}{}
	}
	return v
}

// httpMethod keeps the methods gdsvault sends (and Vault's LIST); any other
// is "other".
func httpMethod(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "LIST", "OPTIONS":
		return m
	}
	return otherValue
}

// statusClass is "2xx", "4xx"... for an HTTP status, "none" when no answer
// came.
func statusClass(status int) string {
	switch {
	case status >= 100 && status < 600:
		return classes[status/100]
	}
	return "none"
}

var classes = [...]string{"", "1xx", "2xx", "3xx", "4xx", "5xx"}

// oneOf returns v when it is one of values, else "other".
func oneOf(v string, values ...string) string {
	for _, w := range values {
		if v == w {
			return v
		}
	}
	return otherValue
}

// The fixed value sets.
var (
	breakerStates  = []string{"closed", "open", "half-open"}
	operationKinds = []string{"login", "renewal"}
	leaseEvents    = []string{"renewed", "renewal_failed", "rotated", "rotation_failed", "revoked"}
	tokenEvents    = []string{"login", "login_failed", "renewed", "renewal_failed", "expired", "revoked", "closed"}
)

// errorKinds are the values of gdsvault.ErrorKind; an error kind outside
// them (from a newer gdsvault) is admitted up to a bound.
var errorKinds = []string{"not_found", "deleted_version", "destroyed_version", "permission_denied", "invalid_token",
	"auth_failed", "sealed", "unavailable", "internal", "rate_limited", "cas_mismatch", "bad_request",
	"malformed_response", "response_too_large", "certificate", "outcome_unknown", "timeout", "connection",
	"circuit_open", "wrapping_tampered", "invalid_path", "config", "closed", "canceled", "other"}

// maxErrorKinds bounds the error kind label (the known kinds and a few more).
const maxErrorKinds = 40

// maxAuthMethods bounds the auth method label: methods name themselves in
// code (MethodName), a handful per program.
const maxAuthMethods = 32

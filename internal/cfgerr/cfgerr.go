// Package cfgerr holds the one configuration error type of gdsvault, so that
// packages below the root (secretcache, retry) return the same
// *gdsvault.ConfigError as the root does, without importing it.
package cfgerr

import (
	"errors"
	"strings"
)

// ErrConfig is matched by every *Error (gdsvault.ErrConfig).
var ErrConfig = errors.New("invalid configuration")

// Error names one setting that is missing or wrong, and how to fix it.
// Several problems at once come as errors.Join of Errors.
type Error struct {
	Field   string
	Problem string
	Hint    string
}

func (e *Error) Error() string {
	s := "gdsvault: " + e.Field + ": " + e.Problem
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Is matches ErrConfig.
func (e *Error) Is(target error) bool { return target == ErrConfig }

// Quote quotes a user-supplied value for a message, cut to a readable length.
func Quote(s string) string {
	const max = 80
	if len(s) > max {
		s = s[:max] + "..."
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}

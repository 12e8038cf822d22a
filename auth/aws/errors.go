package aws

import (
	"errors"
	"strings"
)

// ErrCredentials matches every *CredentialsError: no AWS credentials could
// be had, so no login was attempted.
var ErrCredentials = errors.New("aws credentials unavailable")

// CredentialsError reports that the AWS credentials for a login could not be
// had: the standard chain found none, the AWS configuration could not be
// loaded, or a custom provider failed. It wraps the SDK's error (reach it
// with errors.As or errors.Unwrap) and says what to fix. It never holds a
// secret access key or a session token: the SDK's errors name sources and
// files, not credential values.
type CredentialsError struct {
	// Problem says what went wrong, e.g. "no AWS credentials found".
	Problem string
	// Hint says how to fix it ("" when there is nothing to add).
	Hint string
	// Err is the SDK's error, or nil.
	Err error
}

func (e *CredentialsError) Error() string {
	var b strings.Builder
	b.WriteString("gdsvault/auth/aws: ")
	b.WriteString(e.Problem)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Hint != "" {
		b.WriteString(" (hint: ")
		b.WriteString(e.Hint)
		b.WriteByte(')')
	}
	return b.String()
}

// Unwrap returns the SDK's error.
func (e *CredentialsError) Unwrap() error { return e.Err }

// Is matches ErrCredentials.
func (e *CredentialsError) Is(target error) bool { return target == ErrCredentials }

package cloudauth

import (
	"errors"
	"strings"

	"github.com/gdsvault/gdsvault"
)

// redacted stands where Scrub removed a secret.
const redacted = "[redacted]"

// Scrub replaces every occurrence of every non-empty secret in s by
// [redacted], the secrets in order. No secret is left in the result unless
// it holds '[' or ']' or is part of "redacted" (which the replacement
// itself could then form); tokens, JWTs and assertions never do.
func Scrub(s string, secrets ...string) string {
	for _, x := range secrets {
		if x != "" {
			s = strings.ReplaceAll(s, x, redacted)
		}
	}
	return s
}

// ScrubError keeps the secrets out of err's text. Vault's refusal, a
// *gdsvault.ResponseError, is scrubbed in place (its Errors, Warnings and
// Hint) and returned as it is, so that it still matches
// gdsvault.ErrAuthFailed and the like (a wrapper that made its text before,
// as fmt.Errorf does, keeps the secret in it: scrub Vault's answer before
// wrapping it). Any other error whose text holds a secret becomes a plain
// error with the scrubbed text; one without a secret is returned unchanged,
// and so is nil.
func ScrubError(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	var re *gdsvault.ResponseError
	if errors.As(err, &re) {
		for i := range re.Errors {
			re.Errors[i] = Scrub(re.Errors[i], secrets...)
		}
		for i := range re.Warnings {
			re.Warnings[i] = Scrub(re.Warnings[i], secrets...)
		}
		re.Hint = Scrub(re.Hint, secrets...)
		return err
	}
	if msg := err.Error(); Scrub(msg, secrets...) != msg {
		return errors.New(Scrub(msg, secrets...))
	}
	return err
}

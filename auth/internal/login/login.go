// Package login holds what Vault's auth method packages (auth/approle,
// auth/jwt, auth/kubernetes, auth/aws, auth/gcp...) and the decision table
// of package auth share: applying a method's options and building them from
// a configuration, the mount path and role checks, and the login of the
// methods that post a role and a JWT read again at every login (jwt,
// kubernetes).
//
// Every error is worded for the calling method, as if it had written it
// itself: the method's name goes into field names and hints.
package login

import (
	"context"
	"errors"
	"slices"

	"github.com/gdsvault/gdsvault"
)

// Apply applies opts to m in order, skipping nil ones, and returns the
// errors New found before (errs, without its nil entries) followed by those
// of the options that failed, for New to join:
//
//	errs := login.Apply([]error{checkRole(role)}, m, opts)
//	if err := errors.Join(errs...); err != nil {
//		return nil, err
//	}
func Apply[M any, O ~func(M) error](errs []error, m M, opts []O) []error {
	errs = slices.DeleteFunc(errs, func(err error) bool { return err == nil })
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(m); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// AppendSet appends option(value) to opts when value is set (not ""): the
// options a configuration gives a method.
//
//	opts = login.AppendSet(opts, cfg.AWS.Region, WithRegion)
func AppendSet[O any](opts []O, value string, option func(string) O) []O {
	if value != "" {
		opts = append(opts, option(value))
	}
	return opts
}

// SetMountPath is the body of method's WithMountPath option: it stores p,
// cleaned by gdsvault.CleanMountPath, in *mount, or returns
// CleanMountPath's *gdsvault.ConfigError and leaves *mount as it is.
func SetMountPath(mount *string, method, p string) error {
	clean, err := gdsvault.CleanMountPath(method, p)
	if err != nil {
		return err
	}
	*mount = clean
	return nil
}

// RequireRole returns nil for a role name, or, for "", the
// *gdsvault.ConfigError of method's field "<method> role" with hint.
func RequireRole(method, role, hint string) error {
	if role != "" {
		return nil
	}
	return &gdsvault.ConfigError{Field: method + " role", Problem: "is empty", Hint: hint}
}

// JWT is the login of the methods that post {"role", "jwt"} to
// auth/<mount>/login with a JWT loaded from a credential at every login (a
// file is read again, so that a rotated token is picked up): jwt and
// kubernetes.
type JWT struct {
	// Method names the method in String: "jwt".
	Method string
	Role   string
	// Mount is the auth mount, without "auth/".
	Mount string
	Token gdsvault.Credential
	// TokenError, when set, turns the error of loading Token into the
	// method's (see CredentialError).
	TokenError func(cred gdsvault.Credential, err error) error
}

// Login loads the JWT and logs in with c. A nil c is a
// *gdsvault.ConfigError, and nothing is loaded.
func (j *JWT) Login(ctx context.Context, c *gdsvault.Client) (*gdsvault.Auth, error) {
	if c == nil {
		return nil, &gdsvault.ConfigError{Field: "client", Problem: "is nil"}
	}
	jwt, err := j.Token.Load()
	if err != nil {
		if j.TokenError != nil {
			err = j.TokenError(j.Token, err)
		}
		return nil, err
	}
	return c.Login(ctx, "auth/"+j.Mount+"/login", map[string]any{"role": j.Role, "jwt": jwt.Reveal()})
}

// String names the method, the role and the mount, never the token:
// "jwt(role=deploy, mount=ci/gitlab)".
func (j *JWT) String() string { return j.Method + "(role=" + j.Role + ", mount=" + j.Mount + ")" }

// CredentialError names the credential field in err, the error of loading a
// credential: a *gdsvault.ConfigError becomes one for field with the same
// problem, and its hint, or hint when it has none. Other errors are
// returned as they are.
func CredentialError(err error, field, hint string) error {
	var ce *gdsvault.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	if ce.Hint != "" {
		hint = ce.Hint
	}
	return &gdsvault.ConfigError{Field: field, Problem: ce.Problem, Hint: hint}
}

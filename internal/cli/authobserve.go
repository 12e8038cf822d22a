package cli

import (
	"context"

	"github.com/gdsvault/gdsvault"
)

// observeLogins wraps an auth method so that fn sees every login's answer
// (the agent writes the new token to its sink; the doctor reports the TTL
// and policies). The client keeps the token in its token source and offers
// no accessor for it.
//
// The client decides whether a method's token is the user's own (never
// revoked, never re-obtained unless it comes from a file) by the method's
// Reobtainable() bool; the wrapper keeps that answer.
func observeLogins(m gdsvault.AuthMethod, fn func(*gdsvault.Auth)) gdsvault.AuthMethod {
	o := loginObserver{m: m, fn: fn}
	if r, ok := m.(interface{ Reobtainable() bool }); ok {
		return reobtainableObserver{loginObserver: o, r: r}
	}
	return o
}

type loginObserver struct {
	m  gdsvault.AuthMethod
	fn func(*gdsvault.Auth)
}

func (o loginObserver) Login(ctx context.Context, c *gdsvault.Client) (*gdsvault.Auth, error) {
	a, err := o.m.Login(ctx, c)
	if err == nil && a != nil {
		o.fn(a)
	}
	return a, err
}

type reobtainableObserver struct {
	loginObserver
	r interface{ Reobtainable() bool }
}

func (o reobtainableObserver) Reobtainable() bool { return o.r.Reobtainable() }

package login

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gdsvault/gdsvault"
)

type method struct{ calls []string }

type option func(*method) error

func TestApply(t *testing.T) {
	errA, errB, errC := errors.New("a"), errors.New("b"), errors.New("c")
	m := &method{}
	opts := []option{
		func(m *method) error { m.calls = append(m.calls, "1"); return nil },
		nil,
		func(m *method) error { m.calls = append(m.calls, "2"); return errB },
		func(m *method) error { m.calls = append(m.calls, "3"); return errC },
	}
	errs := Apply([]error{nil, errA, nil}, m, opts)
	if len(errs) != 3 || errs[0] != errA || errs[1] != errB || errs[2] != errC {
		t.Errorf("Apply = %v, want [a b c]", errs)
	}
	if len(m.calls) != 3 || m.calls[0] != "1" || m.calls[2] != "3" {
		t.Errorf("options ran %v", m.calls)
	}
	if errs := Apply[*method, option](nil, m, nil); errs != nil {
		t.Errorf("Apply(no options) = %v", errs)
	}
}

func configError(t *testing.T, err error) *gdsvault.ConfigError {
	t.Helper()
	var ce *gdsvault.ConfigError
	if !errors.As(err, &ce) || !errors.Is(err, gdsvault.ErrConfig) {
		t.Fatalf("err = %#v, want a *gdsvault.ConfigError", err)
	}
	return ce
}

func TestSetMountPath(t *testing.T) {
	mount := "jwt"
	if err := SetMountPath(&mount, "jwt", "/auth/ci/gitlab/"); err != nil || mount != "ci/gitlab" {
		t.Errorf("SetMountPath = %q, %v", mount, err)
	}
	err := SetMountPath(&mount, "cert", " / ")
	if ce := configError(t, err); ce.Field != "cert mount path" || mount != "ci/gitlab" {
		t.Errorf("SetMountPath(bad) = %v, mount %q", err, mount)
	}
}

func TestRequireRole(t *testing.T) {
	if err := RequireRole("aws", "web", "hint"); err != nil {
		t.Errorf("RequireRole(web) = %v", err)
	}
	if got := RequireRole("aws", "", "name it").Error(); got != "gdsvault: aws role: is empty (name it)" {
		t.Errorf("RequireRole(\"\") = %s", got)
	}
}

func TestCredentialError(t *testing.T) {
	other := errors.New("boom")
	if CredentialError(other, "f", "h") != other {
		t.Error("a plain error is not returned as it is")
	}
	for _, tt := range []struct{ hint, want string }{{"", "default"}, {"own", "own"}} {
		err := CredentialError(&gdsvault.ConfigError{Field: "credential", Problem: "is empty", Hint: tt.hint}, "jwt token", "default")
		if ce := configError(t, err); ce.Field != "jwt token" || ce.Problem != "is empty" || ce.Hint != tt.want {
			t.Errorf("CredentialError = %+v", ce)
		}
	}
}

func TestJWT(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	var seen []error
	j := &JWT{Method: "jwt", Role: "deploy", Mount: "ci/gitlab", Token: gdsvault.CredentialFile(path),
		TokenError: func(cred gdsvault.Credential, err error) error {
			seen = append(seen, err)
			return CredentialError(err, "jwt token "+cred.File(), "")
		}}
	if got := j.String(); got != "jwt(role=deploy, mount=ci/gitlab)" {
		t.Errorf("String() = %s", got)
	}
	if _, err := j.Login(context.Background(), nil); configError(t, err).Field != "client" || len(seen) != 0 {
		t.Errorf("Login(nil) = %v; loaded the token: %v", err, seen)
	}
	c, err := gdsvault.New(gdsvault.WithAddress("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	_, err = j.Login(context.Background(), c)
	if ce := configError(t, err); ce.Field != "jwt token "+path || len(seen) != 1 {
		t.Errorf("Login without the file = %v", err)
	}
	if err := os.WriteFile(path, []byte("a.b.c\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := j.Login(ctx, c); errors.Is(err, gdsvault.ErrConfig) || len(seen) != 1 {
		t.Errorf("Login with the file = %v, want a failed request", err)
	}
}

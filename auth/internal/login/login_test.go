package login

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/internal/optiontest"
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

func TestSetMountPath(t *testing.T) {
	mount := "jwt"
	if err := SetMountPath(&mount, "jwt", "/auth/ci/gitlab/"); err != nil || mount != "ci/gitlab" {
		t.Errorf("SetMountPath = %q, %v", mount, err)
	}
	optiontest.Check(t, SetMountPath(&mount, "cert", " / "), "cert mount path")
	if mount != "ci/gitlab" {
		t.Errorf("a bad path changed the mount to %q", mount)
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
		if want := "gdsvault: jwt token: is empty (" + tt.want + ")"; err.Error() != want {
			t.Errorf("CredentialError = %v, want %s", err, want)
		}
		optiontest.Check(t, err, "jwt token")
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
	_, err := j.Login(context.Background(), nil)
	optiontest.Check(t, err, "client")
	if len(seen) != 0 {
		t.Errorf("Login(nil) loaded the token: %v", seen)
	}
	c, err := gdsvault.New(gdsvault.WithAddress("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	_, err = j.Login(context.Background(), c)
	optiontest.Check(t, err, "jwt token "+path)
	if len(seen) != 1 {
		t.Errorf("Login without the file called TokenError %d times", len(seen))
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

func TestAppendSet(t *testing.T) {
	opt := func(v string) string { return "with " + v }
	opts := AppendSet(nil, "", opt)
	opts = AppendSet(opts, "a", opt)
	opts = AppendSet(opts, "", opt)
	if len(opts) != 1 || opts[0] != "with a" {
		t.Errorf("AppendSet = %q", opts)
	}
}

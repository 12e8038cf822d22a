package auth_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth"
	"github.com/gdsvault/gdsvault/auth/approle"
	"github.com/gdsvault/gdsvault/auth/internal/optiontest"
	"github.com/gdsvault/gdsvault/config"
)

// TestMethodsIsTheDocumentedTree: the table's order is the decision tree of
// the package doc, and the methods without detection come last.
func TestMethodsIsTheDocumentedTree(t *testing.T) {
	ms := auth.Methods()
	if got, want := auth.Names(ms), []string{"kubernetes", "aws", "gcp", "azure", "approle", "token", "jwt", "userpass", "cert"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	for _, m := range ms {
		asked := m.Name == "jwt" || m.Name == "userpass" || m.Name == "cert"
		if (m.Detect == nil) != asked || m.Build == nil || len(m.Needs) == 0 {
			t.Errorf("%s: detect %v, build %v, needs %d", m.Name, m.Detect != nil, m.Build != nil, len(m.Needs))
		}
	}
	// Each call is a new table: changing one changes nothing else.
	ms[0].Name, ms[0].Needs[0].Name = "changed", "CHANGED"
	if again := auth.Methods(); again[0].Name != "kubernetes" || again[0].Needs[0].Name != "VAULT_K8S_ROLE" {
		t.Errorf("Methods shares its rows: %v", again[0])
	}
}

// The package of a fictitious auth method, "fictitious", as an engineer
// would write it in auth/fictitious: a method, its constructor, and the one
// row that puts it in the decision tree. It reads its own settings
// (VAULT_FICT_ROLE, VAULT_FICT_SECRET or VAULT_FICT_SECRET_FILE) through
// config.Config.Env and EnvCredential, so package config does not change.

type fictitious struct {
	role   string
	secret gdsvault.Credential
	mount  string
}

func newFictitious(role string, secret gdsvault.Credential, mount string) (*fictitious, error) {
	if mount == "" {
		mount = "fictitious"
	}
	return &fictitious{role: role, secret: secret, mount: mount}, nil
}

func (f *fictitious) Login(ctx context.Context, c *gdsvault.Client) (*gdsvault.Auth, error) {
	return nil, errors.New("fictitious: not a real method")
}

var fictitiousRow = auth.Method{
	Name: "fictitious",
	Needs: []auth.Setting{
		{Name: "VAULT_FICT_ROLE", IsSet: func(c *config.Config) bool { return c.Env("VAULT_FICT_ROLE") != "" }},
		{Name: "VAULT_FICT_SECRET", Or: "VAULT_FICT_SECRET_FILE", IsSet: func(c *config.Config) bool { return !c.EnvCredential("VAULT_FICT_SECRET").IsZero() }},
	},
	Detect: auth.WhenSet("VAULT_FICT_ROLE and VAULT_FICT_SECRET are set"),
	Build: func(c *config.Config) (gdsvault.AuthMethod, error) {
		return newFictitious(c.Env("VAULT_FICT_ROLE"), c.EnvCredential("VAULT_FICT_SECRET"), c.AuthMount)
	},
}

// withFictitious is the decision tree with the fictitious method between the
// cloud methods and AppRole: the one edit adding a method takes.
func withFictitious() []auth.Method {
	ms := auth.Methods()
	i := slices.IndexFunc(ms, func(m auth.Method) bool { return m.Name == "approle" })
	return slices.Insert(ms, i, fictitiousRow)
}

// TestAddAMethod: one row (plus the method's package) puts a new method in
// the decision tree at its place, chosen explicitly or detected, with the
// table's error messages; config, the other rows and Detect are untouched.
func TestAddAMethod(t *testing.T) {
	fict := map[string]string{"VAULT_FICT_ROLE": "r", "VAULT_FICT_SECRET_FILE": "/run/fict"}
	with := func(extra map[string]string) map[string]string {
		m := maps.Clone(fict)
		maps.Copy(m, extra)
		return m
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"after kubernetes", with(map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1", "VAULT_K8S_ROLE": "app"}), "kubernetes"},
		{"after the cloud", with(map[string]string{"VAULT_AZURE_ROLE": "az"}), "azure"},
		{"before approle", with(map[string]string{"VAULT_ROLE_ID": "r", "VAULT_SECRET_ID": "s", "VAULT_TOKEN": "t"}), "fictitious"},
		{"before token", with(map[string]string{"VAULT_TOKEN": "t"}), "fictitious"},
		{"half set: approle", map[string]string{"VAULT_FICT_ROLE": "r", "VAULT_ROLE_ID": "r", "VAULT_SECRET_ID": "s"}, "approle"},
		{"explicit", with(map[string]string{"VAULT_AUTH_METHOD": "fictitious", "VAULT_TOKEN": "t"}), "fictitious"},
		{"explicit in mixed case, BAO_ names", map[string]string{"VAULT_AUTH_METHOD": "Fictitious", "BAO_FICT_ROLE": "r", "VAULT_FICT_SECRET": "s"}, "fictitious"},
		{"others still asked for", with(map[string]string{"VAULT_AUTH_METHOD": "userpass", "VAULT_USERNAME": "u", "VAULT_PASSWORD": "p"}), "userpass"},
	} {
		m, d, err := detect(t, tc.env, auth.WithMethods(withFictitious()), fakeAWS)
		if err != nil || d.Method != tc.want || m == nil || d.Reason == "" {
			t.Errorf("%s: got %q (%s), %v; want %q", tc.name, d.Method, d.Reason, err, tc.want)
			continue
		}
		if f, ok := m.(*fictitious); tc.want == "fictitious" && (!ok || f.role != "r" || f.secret.IsZero()) {
			t.Errorf("%s: built %#v", tc.name, m)
		}
	}

	// What it lacks is said in the table's words, in the table's order.
	_, _, err := detect(t, map[string]string{"VAULT_FICT_ROLE": "r"}, auth.WithMethods(withFictitious()))
	var nm *auth.NoMethodError
	if !errors.As(err, &nm) || !errors.Is(err, gdsvault.ErrConfig) {
		t.Fatalf("nothing fits: %v", err)
	}
	var tried []string
	for _, a := range nm.Tried {
		tried = append(tried, a.Method)
	}
	if want := []string{"kubernetes", "aws", "gcp", "azure", "fictitious", "approle", "token"}; !slices.Equal(tried, want) {
		t.Errorf("tried %v, want %v", tried, want)
	}
	if !strings.Contains(err.Error(), "fictitious: VAULT_FICT_SECRET (or VAULT_FICT_SECRET_FILE) is not set") {
		t.Errorf("nothing fits: %v", err)
	}
	_, _, err = detect(t, map[string]string{"VAULT_AUTH_METHOD": "fictitious"}, auth.WithMethods(withFictitious()))
	if want := "auth method fictitious: needs VAULT_FICT_ROLE and VAULT_FICT_SECRET (or VAULT_FICT_SECRET_FILE); VAULT_FICT_ROLE and VAULT_FICT_SECRET are not set"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("explicit without settings: %v, want %q", err, want)
	}

	// The shipped table does not know it.
	if _, _, err := detect(t, with(map[string]string{"VAULT_AUTH_METHOD": "fictitious"})); err == nil || !strings.Contains(err.Error(), `"fictitious" is not supported`) {
		t.Errorf("default table: %v", err)
	}
	if _, d, err := detect(t, with(map[string]string{"VAULT_TOKEN": "t"})); err != nil || d.Method != "token" {
		t.Errorf("default table: %v %v", d, err)
	}
}

// TestMountOfTheMethod: a method's own Mount wins over VAULT_AUTH_MOUNT,
// which is used otherwise.
func TestMountOfTheMethod(t *testing.T) {
	cfg, err := config.FromEnv(lookup(map[string]string{"VAULT_ROLE_ID": "r", "VAULT_SECRET_ID": "s", "VAULT_AUTH_MOUNT": "generic"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ own, want string }{{"", "generic"}, {"approle-prod", "approle-prod"}} {
		cfg.AppRole.Mount = tc.own
		m, _, err := auth.Detect(cfg)
		if ar, ok := m.(*approle.Method); err != nil || !ok || ar.MountPath() != tc.want {
			t.Errorf("own %q: %v %v, want mount %q", tc.own, m, err, tc.want)
		}
	}
}

// TestWithMethodsRejectsBadTables: a table Detect could not use is a
// *gdsvault.ConfigError, each bad row reported.
func TestWithMethodsRejectsBadTables(t *testing.T) {
	cfg, err := config.FromEnv(lookup(map[string]string{"VAULT_TOKEN": "t"}))
	if err != nil {
		t.Fatal(err)
	}
	detect := func(opts ...auth.Option) func() (any, error) {
		return func() (any, error) { m, _, err := auth.Detect(cfg, opts...); return m, err }
	}
	noBuild := fictitiousRow
	noBuild.Build = nil
	noIsSet := fictitiousRow
	noIsSet.Name, noIsSet.Needs = "other", []auth.Setting{{Name: "VAULT_OTHER"}}
	nilMethod := fictitiousRow
	nilMethod.Build = func(*config.Config) (gdsvault.AuthMethod, error) { return (*fictitious)(nil), nil }
	fictCfg, err := config.FromEnv(lookup(map[string]string{"VAULT_FICT_ROLE": "r", "VAULT_FICT_SECRET": "s"}))
	if err != nil {
		t.Fatal(err)
	}
	optiontest.Run(t, []optiontest.Case{
		optiontest.Bad("empty", detect(auth.WithMethods(nil)), "auth methods"),
		optiontest.Bad("bad rows joined", detect(auth.WithMethods(append(auth.Methods(), auth.Method{Build: fictitiousRow.Build}, auth.Methods()[0], noBuild, noIsSet))),
			"auth methods", "auth methods", "auth methods", "auth methods"),
		optiontest.Bad("builder returns a nil method", func() (any, error) {
			m, _, err := auth.Detect(fictCfg, auth.WithMethods([]auth.Method{nilMethod}))
			return m, err
		}, "auth method fictitious"),
	})
}

// TestWithAWSLinksTheRowOfAnyTable: WithAWS gives its builder to the "aws"
// row of a table given by WithMethods too, whatever the options' order.
func TestWithAWSLinksTheRowOfAnyTable(t *testing.T) {
	called := 0
	b := func(*config.Config) (gdsvault.AuthMethod, error) {
		called++
		return gdsvault.AuthMethodFunc(func(context.Context, *gdsvault.Client) (*gdsvault.Auth, error) { return nil, nil }), nil
	}
	env := map[string]string{"VAULT_AWS_ROLE": "r"}
	for _, opts := range [][]auth.Option{
		{auth.WithMethods(withFictitious()), auth.WithAWS(b)},
		{auth.WithAWS(b), auth.WithMethods(withFictitious())},
	} {
		if _, d, err := detect(t, env, opts...); err != nil || d.Method != "aws" {
			t.Errorf("%v %v", d, err)
		}
	}
	if called != 2 {
		t.Errorf("builder called %d times", called)
	}
}

// Package optiontest checks, for the auth method packages' tests, that a
// constructor fed bad values reports each of them as a
// *gdsvault.ConfigError (joined when several) and never panics.
package optiontest

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/gdsvault/gdsvault"
)

// Case is one call of a constructor with bad values.
type Case struct {
	Name string
	// Call builds something (a method, a client) and returns it with its
	// error; the value must be nil when the error is not.
	Call func() (any, error)
	// Fields are the ConfigError fields the error must name, one
	// *gdsvault.ConfigError each (several: joined).
	Fields []string
}

// Bad is a Case: call must fail with one *gdsvault.ConfigError per field.
func Bad(name string, call func() (any, error), fields ...string) Case {
	return Case{Name: name, Call: call, Fields: fields}
}

// Run runs each case as a subtest.
func Run(t *testing.T, cases []Case) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Helper()
			v, err := call(t, tc.Call)
			Check(t, err, tc.Fields...)
			if !isNil(v) {
				t.Errorf("got a value (%v) with the error", v)
			}
		})
	}
}

// Expect checks what a constructor returned: v and no error when fields is
// empty; otherwise no v and an error as Check wants it. A field "" stands
// for none, for the valid rows of a table with one field a row.
func Expect(t *testing.T, v any, err error, fields ...string) {
	t.Helper()
	fields = slices.DeleteFunc(slices.Clone(fields), func(f string) bool { return f == "" })
	if len(fields) == 0 {
		if err != nil || isNil(v) {
			t.Fatalf("got %v, %v; want a value", v, err)
		}
		return
	}
	if !isNil(v) {
		t.Fatalf("got a value (%v) with the error %v", v, err)
	}
	Check(t, err, fields...)
}

// Check asserts that err matches gdsvault.ErrConfig, that errors.As finds a
// *gdsvault.ConfigError in it, and that its ConfigErrors name exactly fields
// (in any order; a field may repeat), each with its problem.
func Check(t *testing.T, err error, fields ...string) {
	t.Helper()
	var ce *gdsvault.ConfigError
	if !errors.As(err, &ce) || !errors.Is(err, gdsvault.ErrConfig) {
		t.Fatalf("err = %v, want a *gdsvault.ConfigError", err)
	}
	var got []string
	for _, e := range Leaves(err) {
		if errors.As(e, &ce) {
			got = append(got, ce.Field)
			if ce.Problem == "" {
				t.Errorf("ConfigError %+v does not say what is wrong", ce)
			}
		}
	}
	want := slices.Clone(fields)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("ConfigError fields = %q, want %q; err = %v", got, want, err)
	}
}

// CheckExplained is Check with the fields in the given order, each error
// giving a hint (how to fix it) too.
func CheckExplained(t *testing.T, err error, fields ...string) {
	t.Helper()
	Check(t, err, fields...)
	var got []string
	for _, e := range Leaves(err) {
		var ce *gdsvault.ConfigError
		if errors.As(e, &ce) {
			got = append(got, ce.Field)
			if ce.Hint == "" {
				t.Errorf("ConfigError %+v lacks a hint", ce)
			}
		}
	}
	if !slices.Equal(got, fields) {
		t.Fatalf("ConfigError fields = %q, want %q in this order; err = %v", got, fields, err)
	}
}

// Leaves flattens the joins of err (errors.Join inside errors.Join).
func Leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Leaves(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

func call(t *testing.T, f func() (any, error)) (v any, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("panicked: %v", p)
		}
	}()
	return f()
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch r := reflect.ValueOf(v); r.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Slice, reflect.Chan, reflect.Interface:
		return r.IsNil()
	}
	return false
}

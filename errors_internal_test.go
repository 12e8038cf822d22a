package gdsvault

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		status int
		errs   []string
		want   []error
		not    []error
	}{
		{404, nil, []error{ErrNotFound}, []error{ErrPermissionDenied}},
		{403, []string{"permission denied"}, []error{ErrPermissionDenied}, []error{ErrInvalidToken}},
		{403, []string{"2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"}, []error{ErrInvalidToken}, []error{ErrPermissionDenied}},
		{429, []string{"request path \"x\": rate limit quota exceeded"}, []error{ErrRateLimited}, nil},
		{503, []string{"Vault is sealed"}, []error{ErrSealed, ErrUnavailable}, nil},
		{503, []string{"standby"}, []error{ErrUnavailable}, []error{ErrSealed}},
		{502, nil, []error{ErrUnavailable}, nil},
		{504, nil, []error{ErrUnavailable}, nil},
		{500, []string{"internal error"}, []error{ErrInternal}, []error{ErrUnavailable}},
		{400, []string{"check-and-set parameter did not match the current version"}, []error{ErrCASMismatch, ErrBadRequest}, nil},
		{400, []string{"missing client token"}, []error{ErrBadRequest}, []error{ErrCASMismatch}},
	} {
		tc.errs = flattenErrors(tc.errs)
		e := &ResponseError{StatusCode: tc.status, Errors: tc.errs, Method: "GET", Path: "p"}
		e.classify()
		for _, w := range tc.want {
			if !errors.Is(e, w) {
				t.Errorf("%d %q: not %v", tc.status, tc.errs, w)
			}
		}
		for _, n := range tc.not {
			if errors.Is(e, n) {
				t.Errorf("%d %q: unexpectedly %v", tc.status, tc.errs, n)
			}
		}
		if e.Kind() != tc.want[0] {
			t.Errorf("%d: Kind() = %v, want %v", tc.status, e.Kind(), tc.want[0])
		}
	}
}

func TestResponseErrorMessage(t *testing.T) {
	e := &ResponseError{StatusCode: 403, Method: "GET", Path: "secret/data/x", Namespace: "ns1", Errors: []string{"permission denied"},
		Hint: "the token's policies do not grant read on secret/data/x", sentToken: &[]Token{NewToken("hvs.SECRET")}[0]}
	e.classify()
	got := e.Error()
	want := "vault: GET secret/data/x (namespace ns1): 403 permission denied: permission denied (hint: the token's policies do not grant read on secret/data/x)"
	if got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	for _, s := range []string{fmt.Sprintf("%v", e), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e), fmt.Sprintf("%#v", *e)} {
		if strings.Contains(s, "hvs.SECRET") {
			t.Errorf("printed error shows the token: %s", s)
		}
	}
}

func TestFlattenErrors(t *testing.T) {
	got := flattenErrors([]string{"2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n", " plain "})
	if strings.Join(got, "|") != "permission denied|invalid token|plain" {
		t.Errorf("flattenErrors = %q", got)
	}
}

package vaulttest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gdsvault/gdsvault/vaulttest"
)

func TestAnswerSetJSON(t *testing.T) {
	const login = `{"request_id":"r","auth":{"client_token":"hvs.x","policies":["default"],"lease_duration":2764800,"renewable":true},"data":null,"big":20211507185753197,"html":"<a&b>"}`
	for _, tc := range []struct {
		name, body, path string
		value            any
		want             string // a substring of the new body; "" means an error
	}{
		{"huge integer", login, "auth.lease_duration", int64(20211507185753197), `"lease_duration":20211507185753197`},
		{"negative", login, "auth.lease_duration", -5, `"lease_duration":-5`},
		{"exponent as written", login, "auth.lease_duration", json.RawMessage(`1e30`), `"lease_duration":1e30`},
		{"float", login, "auth.lease_duration", 1e30, `"lease_duration":1e+30`},
		{"string", login, "auth.lease_duration", "x", `"lease_duration":"x"`},
		{"null", login, "auth.lease_duration", nil, `"lease_duration":null`},
		{"data as a string", login, "data", "not an object", `"data":"not an object"`},
		{"new key", login, "auth.extra", true, `"extra":true`},
		{"array index", login, "auth.policies.0", 7, `"policies":[7]`},
		{"deep value", login, "auth.lease_duration", json.RawMessage(strings.Repeat("[", 500) + strings.Repeat("]", 500)), `"lease_duration":[[[[`},
		{"other numbers exact", login, "auth.renewable", false, `"big":20211507185753197`},
		{"no HTML escaping", login, "auth.renewable", false, `"html":"<a&b>"`},
		{"missing parent", login, "lease.duration", 1, ""},
		{"through null", login, "data.x", 1, ""},
		{"index out of range", login, "auth.policies.3", 1, ""},
		{"not JSON", `<html>`, "auth", 1, ""},
		{"two values", `{} {}`, "a", 1, ""},
		{"empty path", login, "", 1, ""},
		{"unencodable value", login, "auth.x", make(chan int), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &vaulttest.Answer{Body: []byte(tc.body)}
			err := a.SetJSON(tc.path, tc.value)
			switch {
			case tc.want == "" && err == nil:
				t.Fatalf("SetJSON(%q) = nil, body %s; want an error", tc.path, a.Body)
			case tc.want == "" && string(a.Body) != tc.body:
				t.Fatalf("a failed SetJSON changed the body to %s", a.Body)
			case tc.want != "" && (err != nil || !strings.Contains(string(a.Body), tc.want) || !json.Valid(a.Body)):
				t.Fatalf("SetJSON(%q): %v, body %s; want valid JSON containing %s", tc.path, err, a.Body, tc.want)
			}
		})
	}
}

func TestRewriteJSON(t *testing.T) {
	rw := vaulttest.RewriteJSON("auth.lease_duration", "x")
	req, _ := http.NewRequest(http.MethodPost, "http://vault/v1/auth/approle/login", nil)
	a := &vaulttest.Answer{Status: 200, Body: []byte(`{"auth":{"lease_duration":60}}`)}
	if got := rw(req, a); got == nil || string(got.Body) != `{"auth":{"lease_duration":"x"}}` {
		t.Fatalf("a login answer: %+v", got)
	}
	for _, body := range []string{`{"data":{"k":"v"}}`, `{"auth":{"client_token":"t"}}`, `{"auth":null}`, ``, `<html>`} {
		a := &vaulttest.Answer{Status: 200, Body: []byte(body)}
		if got := rw(req, a); got != nil {
			t.Errorf("an answer without auth.lease_duration (%s) was rewritten to %s", body, got.Body)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("RewriteJSON with an unencodable value did not panic")
		}
	}()
	vaulttest.RewriteJSON("auth.lease_duration", func() {})
}

func TestRespondJSON(t *testing.T) {
	a := vaulttest.RespondJSON(500, `{"errors":["past the max TTL, cannot renew"]}`)(nil, nil)
	if a.Status != 500 || a.Header.Get("Content-Type") != "application/json" || string(a.Body) != `{"errors":["past the max TTL, cannot renew"]}` {
		t.Fatalf("RespondJSON = %+v", a)
	}
}

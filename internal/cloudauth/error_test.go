package cloudauth

import (
	"errors"
	"syscall"
	"testing"
)

func TestErrorPartsText(t *testing.T) {
	for _, tt := range []struct {
		name string
		p    ErrorParts
		want string
	}{
		{"no answer", ErrorParts{Method: "gcp", Op: "identity token from the metadata server", HTTPMethod: "GET", URL: "http://md/x",
			Err: syscall.ECONNREFUSED, Hint: "run on GCE"},
			"gcp auth: identity token from the metadata server: GET http://md/x: no answer: connection refused (hint: run on GCE)"},
		{"status and detail", ErrorParts{Method: "azure", Op: "managed identity token from IMDS", HTTPMethod: "GET", URL: "http://imds/t",
			StatusCode: 400, Detail: "invalid_request: Identity not found", Hint: "assign one"},
			"azure auth: managed identity token from IMDS: GET http://imds/t: 400 bad request: invalid_request: Identity not found (hint: assign one)"},
		{"cut answer", ErrorParts{Method: "gcp", Op: "op", HTTPMethod: "POST", URL: "u", StatusCode: 200, Err: errors.New("unexpected EOF")},
			"gcp auth: op: POST u: 200 ok: unexpected EOF"},
		{"unknown status, nothing else", ErrorParts{Method: "azure", Op: "op", HTTPMethod: "GET", URL: "u", StatusCode: 599},
			"azure auth: op: GET u: 599"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Text(); got != tt.want {
				t.Errorf("Text() = %s\nwant     %s", got, tt.want)
			}
		})
	}
}

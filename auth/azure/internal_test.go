package azure

import (
	"net/http"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/internal/cloudauth"
	"github.com/gdsvault/gdsvault/internal/cloudauth/cloudtest"
)

// TestDefaultClients: without WithHTTPClient, IMDS is asked directly (no
// proxy) and Azure AD through net/http's default proxy settings, every call
// bounded by DefaultTimeout; WithHTTPClient is used for both.
func TestDefaultClients(t *testing.T) {
	m, err := New("web")
	if err != nil {
		t.Fatal(err)
	}
	cloudtest.AssertDefaultClients(t, m.clients, DefaultTimeout)
	if DefaultTimeout != 5*time.Second {
		t.Errorf("DefaultTimeout = %s", DefaultTimeout)
	}
	hc := &http.Client{}
	if m, _ = New("web", WithHTTPClient(hc)); m.clients != (cloudauth.Clients{Metadata: hc, API: hc}) {
		t.Error("WithHTTPClient is not used for both")
	}
}

func TestServerMessage(t *testing.T) {
	tests := []struct{ body, code, msg string }{
		{`{"error":"invalid_request","error_description":"Identity not found"}`, "invalid_request", "Identity not found"},
		{`{"error":"invalid_client","error_description":"AADSTS7000215: bad.\r\nTrace ID: 1"}`, "invalid_client", "AADSTS7000215: bad."},
		{`{"error":{"code":"AuthorizationFailed","message":"no"}}`, "AuthorizationFailed", "no"},
		{"Bad request\nmore", "", "Bad request"},
		{"<html></html>", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if code, msg := serverMessage([]byte(tt.body)); code != tt.code || msg != tt.msg {
			t.Errorf("serverMessage(%q) = %q, %q; want %q, %q", tt.body, code, msg, tt.code, tt.msg)
		}
	}
}

package azure

import (
	"net/http"
	"testing"
)

// TestDefaultClients: without WithHTTPClient, IMDS is asked directly (no
// proxy) and every call is bounded by DefaultTimeout; Azure AD goes through
// net/http's default proxy settings.
func TestDefaultClients(t *testing.T) {
	m, err := New("web")
	if err != nil {
		t.Fatal(err)
	}
	if m.imdsClient.Timeout != DefaultTimeout || m.aad.Timeout != DefaultTimeout || DefaultTimeout.Seconds() != 5 {
		t.Errorf("timeouts = %s, %s", m.imdsClient.Timeout, m.aad.Timeout)
	}
	if tr, ok := m.imdsClient.Transport.(*http.Transport); !ok || tr.Proxy != nil {
		t.Errorf("the IMDS transport uses a proxy")
	}
	if tr, ok := m.aad.Transport.(*http.Transport); !ok || tr.Proxy == nil {
		t.Errorf("the Azure AD transport ignores the default proxy settings")
	}
	hc := &http.Client{}
	m, _ = New("web", WithHTTPClient(hc))
	if m.imdsClient != hc || m.aad != hc {
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

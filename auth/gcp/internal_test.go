package gcp

import (
	"net/http"
	"testing"
)

// TestDefaultClients: without WithHTTPClient, the metadata server is asked
// directly (no proxy) and every call is bounded by DefaultTimeout; the IAM
// API goes through net/http's default proxy settings.
func TestDefaultClients(t *testing.T) {
	m, err := New("web")
	if err != nil {
		t.Fatal(err)
	}
	if m.metadata.Timeout != DefaultTimeout || m.api.Timeout != DefaultTimeout || DefaultTimeout.Seconds() != 5 {
		t.Errorf("timeouts = %s, %s", m.metadata.Timeout, m.api.Timeout)
	}
	if tr, ok := m.metadata.Transport.(*http.Transport); !ok || tr.Proxy != nil {
		t.Errorf("the metadata transport uses a proxy")
	}
	if tr, ok := m.api.Transport.(*http.Transport); !ok || tr.Proxy == nil {
		t.Errorf("the IAM transport ignores the default proxy settings")
	}
	hc := &http.Client{}
	m, _ = New("web", WithHTTPClient(hc))
	if m.metadata != hc || m.api != hc {
		t.Error("WithHTTPClient is not used for both")
	}
}

func TestServerMessage(t *testing.T) {
	for body, want := range map[string]string{
		`{"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}}`: "PERMISSION_DENIED denied",
		`{"error":"invalid_grant","error_description":"bad"}`:                    "invalid_grant: bad",
		"non-empty audience parameter required\nmore":                            "non-empty audience parameter required",
		"<html>x</html>": "",
		"":               "",
	} {
		if got := serverMessage([]byte(body)); got != want {
			t.Errorf("serverMessage(%q) = %q, want %q", body, got, want)
		}
	}
	for s, want := range map[string]bool{"a.b.c": true, "a.b.": true, "a..c": false, "a.b": false, "a.b.c d": false, "<html>.x.y": false} {
		if looksLikeJWT(s) != want {
			t.Errorf("looksLikeJWT(%q) != %v", s, want)
		}
	}
}

package gcp

import (
	"net/http"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/internal/cloudauth"
	"github.com/gdsvault/gdsvault/internal/cloudauth/cloudtest"
)

// TestDefaultClients: without WithHTTPClient, the metadata server is asked directly (no
// proxy) and the IAM API through net/http's default proxy settings, every call
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

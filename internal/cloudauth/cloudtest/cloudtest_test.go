package cloudtest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRecordingProxy: the proxy passes requests on, and keeps each one with
// its JSON body and the answer; a stand-in's RequestLog keeps what reached
// it.
func TestRecordingProxy(t *testing.T) {
	var backend struct {
		*httptest.Server
		RequestLog
	}
	backend.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		backend.Add(r)
		if strings.HasSuffix(r.URL.Path, "/login") {
			http.Error(w, `{"errors":["denied"]}`, http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer backend.Close()
	p := NewRecordingProxy(t, backend.URL)

	for _, path := range []string{"/v1/sys/health", "/v1/auth/gcp/login"} {
		req, _ := http.NewRequest(http.MethodPost, p.URL+path+"?q=1", strings.NewReader(`{"role":"web","jwt":"a.b.c"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	all, logins := p.All(), p.Logins()
	if len(all) != 2 || len(logins) != 1 || all[0].Status != 200 || string(all[0].Answer) != `{"ok":true}` {
		t.Fatalf("exchanges = %+v", all)
	}
	AssertLogin(t, logins[0], "gcp", map[string]any{"role": "web", "jwt": "a.b.c"}, "")
	if logins[0].Status != http.StatusBadRequest || !strings.Contains(string(logins[0].Answer), "denied") {
		t.Errorf("login answer = %d %s", logins[0].Status, logins[0].Answer)
	}
	got := backend.All()
	if len(got) != 2 || got[1].Path != "/v1/auth/gcp/login" || got[1].Query.Get("q") != "1" || string(got[1].Body) != `{"role":"web","jwt":"a.b.c"}` {
		t.Errorf("backend saw %+v", got)
	}
}

func TestRandomHex(t *testing.T) {
	a, b := RandomHex(16), RandomHex(16)
	if len(a) != 32 || a == b || strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("RandomHex = %q, %q", a, b)
	}
}

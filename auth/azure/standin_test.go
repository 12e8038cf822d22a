package azure_test

// Local stand-ins for Azure IMDS and the Azure AD token endpoint. Nothing
// here talks to Microsoft.

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/internal/cloudauth/cloudtest"
)

// fakeJWT builds a JWT-shaped access token (not verifiable by anyone: Vault
// could not reach Microsoft's keys anyway).
func fakeJWT(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "stand-in"})
	c, _ := json.Marshal(claims)
	return b64(h) + "." + b64(c) + "." + b64([]byte(cloudtest.RandomHex(32)))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

type compute struct {
	SubscriptionID    string `json:"subscriptionId"`
	ResourceGroupName string `json:"resourceGroupName"`
	Name              string `json:"name"`
	VMScaleSetName    string `json:"vmScaleSetName"`
	Location          string `json:"location"`
}

// imdsServer stands in for Azure IMDS. Like the real one it answers 400
// without "Metadata: true" or without an api-version, and 400 "Identity not
// found" for a client_id it does not know.
type imdsServer struct {
	*httptest.Server
	cloudtest.RequestLog
	resource string // the resource it issues tokens for
	clientID string // the user-assigned identity it knows ("" = system-assigned only)
	compute  compute

	mu     sync.Mutex
	tokens []string
	fail   http.HandlerFunc
}

func newIMDS(tb testing.TB, resource, clientID string, c compute) *imdsServer {
	tb.Helper()
	s := &imdsServer{resource: resource, clientID: clientID, compute: c}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.Close)
	return s
}

func imdsError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	body := map[string]string{"error": code}
	if desc != "" {
		body["error_description"] = desc
	}
	_ = json.NewEncoder(w).Encode(body)
}

func (s *imdsServer) serve(w http.ResponseWriter, r *http.Request) {
	req := s.Add(r)
	if s.fail != nil {
		s.fail(w, r)
		return
	}
	if r.Header.Get("Metadata") != "true" {
		imdsError(w, http.StatusBadRequest, "invalid_request", "Required metadata header not specified")
		return
	}
	if r.Method != http.MethodGet {
		imdsError(w, http.StatusMethodNotAllowed, "method_not_allowed", "")
		return
	}
	q := req.Query
	switch req.Path {
	case "/metadata/identity/oauth2/token":
		if q.Get("api-version") != "2018-02-01" {
			imdsError(w, http.StatusBadRequest, "invalid_request", "Unsupported api-version "+q.Get("api-version"))
			return
		}
		if q.Get("resource") != s.resource {
			imdsError(w, http.StatusBadRequest, "invalid_resource", "AADSTS500011: The resource principal named "+q.Get("resource")+" was not found")
			return
		}
		if id := q.Get("client_id"); id != s.clientID {
			imdsError(w, http.StatusBadRequest, "invalid_request", "Identity not found")
			return
		}
		oid := "11111111-2222-3333-4444-" + cloudtest.RandomHex(6)
		tok := fakeJWT(map[string]any{"aud": s.resource, "oid": oid, "xms_mirid": "/subscriptions/" + s.compute.SubscriptionID +
			"/resourcegroups/" + s.compute.ResourceGroupName + "/providers/Microsoft.Compute/virtualMachines/" + s.compute.Name,
			"exp": time.Now().Add(time.Hour).Unix()})
		s.mu.Lock()
		s.tokens = append(s.tokens, tok)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"access_token": tok, "client_id": s.clientID, "expires_in": "86399", "resource": s.resource, "token_type": "Bearer",
		})
	case "/metadata/instance":
		if q.Get("api-version") == "" {
			imdsError(w, http.StatusBadRequest, "Bad request. api-version was not specified in the request", "")
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(map[string]any{"compute": s.compute, "network": map[string]any{}})
	default:
		imdsError(w, http.StatusNotFound, "not_found", "no such IMDS path "+req.Path)
	}
}

func (s *imdsServer) issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.tokens...)
}

// aadServer stands in for the Azure AD token endpoint of workload identity.
// It accepts only the client credentials grant with a JWT client assertion
// equal to want (the test sets it to the token file's current content), for
// its tenant, client ID and scope, and issues an access token per assertion.
type aadServer struct {
	*httptest.Server
	cloudtest.RequestLog
	tenant, clientID, scope string

	mu       sync.Mutex
	want     string
	issued   []string
	problems []string
	fail     http.HandlerFunc
}

func newAAD(tb testing.TB, tenant, clientID, scope string) *aadServer {
	tb.Helper()
	s := &aadServer{tenant: tenant, clientID: clientID, scope: scope}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.Close)
	return s
}

func (s *aadServer) expect(assertion string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.want = assertion
}

func (s *aadServer) state() (issued, problems []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...), append([]string(nil), s.problems...)
}

func (s *aadServer) refuse(w http.ResponseWriter, code, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.problems = append(s.problems, msg)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": "AADSTS900000: " + msg + "\r\nTrace ID: x\r\nCorrelation ID: y"})
}

func (s *aadServer) serve(w http.ResponseWriter, r *http.Request) {
	req := s.Add(r)
	if s.fail != nil {
		s.fail(w, r)
		return
	}
	if want := "/" + s.tenant + "/oauth2/v2.0/token"; r.Method != http.MethodPost || req.Path != want {
		s.refuse(w, "invalid_request", "unexpected %s %s, want POST %s", r.Method, req.Path, want)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		s.refuse(w, "invalid_request", "content type %q", ct)
		return
	}
	form, err := url.ParseQuery(string(req.Body))
	if err != nil {
		s.refuse(w, "invalid_request", "body is not a form: %v", err)
		return
	}
	s.mu.Lock()
	want := s.want
	s.mu.Unlock()
	for k, v := range map[string]string{
		"grant_type":            "client_credentials",
		"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
		"client_id":             s.clientID,
		"scope":                 s.scope,
		"client_assertion":      want,
	} {
		if got := form[k]; len(got) != 1 || got[0] != v {
			if k == "client_assertion" {
				s.refuse(w, "invalid_client", "AADSTS700024: client assertion is not the current token file content")
			} else {
				s.refuse(w, "invalid_request", "%s = %q, want %q", k, got, v)
			}
			return
		}
	}
	if len(form) != 5 {
		s.refuse(w, "invalid_request", "form has %d fields, want 5", len(form))
		return
	}
	sum := sha256.Sum256([]byte(want))
	tok := fakeJWT(map[string]any{"aud": strings.TrimSuffix(s.scope, "/.default"), "appid": s.clientID,
		"assertion_sha256": hex.EncodeToString(sum[:8]), "exp": time.Now().Add(time.Hour).Unix()})
	s.mu.Lock()
	s.issued = append(s.issued, tok)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
}

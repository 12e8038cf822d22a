package gcp_test

// Local stand-ins for Google's services. Nothing here talks to Google.

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault/internal/cloudauth/cloudtest"
)

// signingKey is a service account key of the stand-in Google: it signs the
// tokens the stand-in metadata server and signJwt endpoint hand out, and the
// stand-in Google APIs publish its certificate for Vault.
type signingKey struct {
	kid     string
	key     *rsa.PrivateKey
	certPEM string
}

func newSigningKey() (*signingKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "stand-in service account key"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &signingKey{
		kid:     cloudtest.RandomHex(20),
		key:     key,
		certPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
	}, nil
}

// sign makes an RS256 JWS of the claims (a JSON object).
func (k *signingKey) sign(claims []byte) (string, error) {
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": k.kid, "typ": "JWT"})
	input := b64(header) + "." + b64(claims)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwtClaims decodes the claims of a JWS without verifying it.
func jwtClaims(tb testing.TB, jws string) map[string]any {
	tb.Helper()
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		tb.Fatalf("not a JWS: %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		tb.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		tb.Fatal(err)
	}
	return c
}

// metadataServer stands in for the GCE metadata server. Like the real one it
// answers 403 without "Metadata-Flavor: Google", 400 for an identity token
// without an audience, and sets Metadata-Flavor: Google on its answers.
type metadataServer struct {
	*httptest.Server
	cloudtest.RequestLog
	key          *signingKey
	email        string // the instance's default service account
	accessToken  string
	identityJWTs []string // identity tokens handed out
	mu           sync.Mutex
	// fail, when set, answers every request instead.
	fail http.HandlerFunc
}

func newMetadataServer(tb testing.TB, key *signingKey, email string) *metadataServer {
	tb.Helper()
	m := &metadataServer{key: key, email: email, accessToken: "ya29.stand-in-access-" + cloudtest.RandomHex(16)}
	m.Server = httptest.NewServer(http.HandlerFunc(m.serve))
	tb.Cleanup(m.Close)
	return m
}

// host is the stand-in's host:port, as WithMetadataHost takes it.
func (m *metadataServer) host() string { return strings.TrimPrefix(m.URL, "http://") }

func (m *metadataServer) serve(w http.ResponseWriter, r *http.Request) {
	m.Add(r)
	if m.fail != nil {
		m.fail(w, r)
		return
	}
	w.Header().Set("Metadata-Flavor", "Google")
	if r.Header.Get("Metadata-Flavor") != "Google" {
		http.Error(w, "Missing required header \"Metadata-Flavor\": \"Google\"", http.StatusForbidden)
		return
	}
	switch r.URL.Path {
	case "/computeMetadata/v1/project/project-id":
		fmt.Fprint(w, "stand-in-project")
	case "/computeMetadata/v1/instance/service-accounts/default/token":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": m.accessToken, "expires_in": 3599, "token_type": "Bearer"})
	case "/computeMetadata/v1/instance/service-accounts/default/identity":
		aud := r.URL.Query().Get("audience")
		if aud == "" {
			http.Error(w, "non-empty audience parameter required", http.StatusBadRequest)
			return
		}
		now := time.Now()
		claims := map[string]any{
			"aud": aud, "azp": "112233445566778899000", "email": m.email, "email_verified": true,
			"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "iss": "https://accounts.google.com",
			"sub": "112233445566778899000",
		}
		if r.URL.Query().Get("format") == "full" {
			claims["google"] = map[string]any{"compute_engine": map[string]any{
				"instance_creation_timestamp": now.Add(-24 * time.Hour).Unix(),
				"instance_id":                 "4242424242424242424",
				"instance_name":               "stand-in-vm",
				"project_id":                  "stand-in-project",
				"project_number":              123456789012,
				"zone":                        "europe-west1-b",
			}}
		}
		raw, _ := json.Marshal(claims)
		tok, err := m.key.sign(raw)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		m.mu.Lock()
		m.identityJWTs = append(m.identityJWTs, tok)
		m.mu.Unlock()
		w.Header().Set("Content-Type", "application/text")
		fmt.Fprint(w, tok)
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

func (m *metadataServer) lastIdentityJWT() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.identityJWTs) == 0 {
		return ""
	}
	return m.identityJWTs[len(m.identityJWTs)-1]
}

// iamServer stands in for the IAM Service Account Credentials API: signJwt
// accepts only the metadata server's access token as bearer, checks the
// payload's claims, and signs it with key.
type iamServer struct {
	*httptest.Server
	cloudtest.RequestLog
	key         *signingKey
	accessToken string // the bearer token it accepts
	email       string // the one service account it signs for
	role        string // the Vault role the audience must name
	mu          sync.Mutex
	signed      []string
	problems    []string
	fail        http.HandlerFunc
}

func newIAMServer(tb testing.TB, key *signingKey, accessToken, email, role string) *iamServer {
	tb.Helper()
	s := &iamServer{key: key, accessToken: accessToken, email: email, role: role}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.Close)
	return s
}

func (s *iamServer) problem(w http.ResponseWriter, status int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.problems = append(s.problems, msg)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": status, "message": msg, "status": "INVALID_ARGUMENT"}})
}

func (s *iamServer) serve(w http.ResponseWriter, r *http.Request) {
	req := s.Add(r)
	if s.fail != nil {
		s.fail(w, r)
		return
	}
	want := "/v1/projects/-/serviceAccounts/" + s.email + ":signJwt"
	if r.Method != http.MethodPost || req.Path != want {
		s.problem(w, http.StatusNotFound, "unexpected %s %s, want POST %s", r.Method, req.Path, want)
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+s.accessToken {
		s.problem(w, http.StatusUnauthorized, "wrong bearer token")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		s.problem(w, http.StatusBadRequest, "content type %q", ct)
		return
	}
	var body struct {
		Payload string `json:"payload"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil || body.Payload == "" {
		s.problem(w, http.StatusBadRequest, "body is not {\"payload\": ...}: %v", err)
		return
	}
	var claims struct {
		Sub string          `json:"sub"`
		Aud string          `json:"aud"`
		Exp json.RawMessage `json:"exp"`
	}
	if err := json.Unmarshal([]byte(body.Payload), &claims); err != nil {
		s.problem(w, http.StatusBadRequest, "payload is not a JSON object: %v", err)
		return
	}
	var exp int64
	if err := json.Unmarshal(claims.Exp, &exp); err != nil {
		s.problem(w, http.StatusBadRequest, "exp is not an integer: %s", claims.Exp)
		return
	}
	now := time.Now()
	switch {
	case claims.Sub != s.email:
		s.problem(w, http.StatusBadRequest, "sub = %q, want %q", claims.Sub, s.email)
		return
	case claims.Aud != "vault/"+s.role:
		s.problem(w, http.StatusBadRequest, "aud = %q, want vault/%s", claims.Aud, s.role)
		return
	case exp < now.Add(14*time.Minute).Unix() || exp > now.Add(15*time.Minute+time.Second).Unix():
		s.problem(w, http.StatusBadRequest, "exp = %d is not about now+15min (%d)", exp, now.Add(15*time.Minute).Unix())
		return
	}
	tok, err := s.key.sign([]byte(body.Payload))
	if err != nil {
		s.problem(w, http.StatusInternalServerError, "signing: %v", err)
		return
	}
	s.mu.Lock()
	s.signed = append(s.signed, tok)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"keyId": s.key.kid, "signedJwt": tok})
}

func (s *iamServer) state() (signed, problems []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.signed...), append([]string(nil), s.problems...)
}

// googleAPIs stands in, for the real Vault, for the Google services its gcp
// auth method calls: its own metadata server (GCE_METADATA_HOST, for the
// credentials of its IAM client), www.googleapis.com (signing certificates)
// and iam.googleapis.com (service account lookup). It publishes the key of
// every service account registered with addAccount.
type googleAPIs struct {
	*httptest.Server
	cloudtest.RequestLog
	vaultToken string // the access token Vault's IAM client gets and must present

	mu       sync.Mutex
	accounts map[string]*signingKey // service account email -> its key
}

func newGoogleAPIs() *googleAPIs {
	g := &googleAPIs{vaultToken: "ya29.vault-server-" + cloudtest.RandomHex(16), accounts: map[string]*signingKey{}}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	return g
}

func (g *googleAPIs) addAccount(email string, key *signingKey) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.accounts[email] = key
}

func (g *googleAPIs) account(email string) *signingKey {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.accounts[email]
}

func (g *googleAPIs) serve(w http.ResponseWriter, r *http.Request) {
	g.Add(r)
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/computeMetadata/"):
		w.Header().Set("Metadata-Flavor", "Google")
		if r.Header.Get("Metadata-Flavor") != "Google" {
			http.Error(w, "Missing required header \"Metadata-Flavor\": \"Google\"", http.StatusForbidden)
			return
		}
		switch p {
		case "/computeMetadata/v1/instance/service-accounts/default/token":
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": g.vaultToken, "expires_in": 3599, "token_type": "Bearer"})
		case "/computeMetadata/v1/project/project-id":
			fmt.Fprint(w, "vault-project")
		case "/computeMetadata/v1/universe/universe-domain":
			fmt.Fprint(w, "googleapis.com")
		default:
			http.Error(w, "not found", http.StatusNotFound)
		}
	case p == "/oauth2/v1/certs":
		// Google-wide keys: none of ours, so Vault falls back to the
		// service account's own keys, as it does for signJwt tokens.
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "{}")
	case strings.HasPrefix(p, "/service_accounts/v1/metadata/x509/"):
		email := strings.TrimPrefix(p, "/service_accounts/v1/metadata/x509/")
		k := g.account(email)
		if k == nil {
			googleError(w, http.StatusNotFound, "no such service account "+email)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{k.kid: k.certPEM})
	case strings.HasPrefix(p, "/v1/projects/-/serviceAccounts/"):
		if r.Header.Get("Authorization") != "Bearer "+g.vaultToken {
			googleError(w, http.StatusUnauthorized, "Request is missing required authentication credential.")
			return
		}
		email := strings.TrimPrefix(p, "/v1/projects/-/serviceAccounts/")
		if g.account(email) == nil {
			googleError(w, http.StatusNotFound, "Unknown service account")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"name":      "projects/stand-in-project/serviceAccounts/" + email,
			"projectId": "stand-in-project",
			"uniqueId":  "109876543210987654321",
			"email":     email,
		})
	default:
		googleError(w, http.StatusNotFound, "stand-in has no "+p)
	}
}

func googleError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": status, "message": msg, "status": http.StatusText(status)}})
}

package vaulttest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func httpClientFor(caFile string) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("vaulttest: no certificate in %s", caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

func (s *Server) client() *http.Client {
	if s.http != nil {
		return s.http
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// raw sends a request with the given token ("" for the root token) and returns
// the body and status.
func (s *Server) raw(ctx context.Context, method, path string, body any, token string) ([]byte, int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.Addr+"/v1/"+strings.TrimPrefix(path, "/"), rd)
	if err != nil {
		return nil, 0, err
	}
	if token == "" {
		token = s.RootToken
	}
	req.Header.Set("X-Vault-Token", token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client().Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}

// Do sends a request as root and decodes the JSON answer (nil for 204). A
// status of 400 or more is an error carrying Vault's messages.
func (s *Server) Do(ctx context.Context, method, path string, body any) (map[string]any, error) {
	return s.DoWithToken(ctx, method, path, body, "")
}

// DoWithToken is Do with another token ("" means root).
func (s *Server) DoWithToken(ctx context.Context, method, path string, body any, token string) (map[string]any, error) {
	b, status, err := s.raw(ctx, method, path, body, token)
	if err != nil {
		return nil, fmt.Errorf("vaulttest: %s %s: %w", method, path, err)
	}
	var out map[string]any
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			return nil, fmt.Errorf("vaulttest: %s %s: %d, not JSON: %.200s", method, path, status, b)
		}
	}
	if status >= 400 {
		return out, fmt.Errorf("vaulttest: %s %s: %d %v", method, path, status, out["errors"])
	}
	return out, nil
}

// Must is Do for tests: it fails the test on error.
func (s *Server) Must(tb testing.TB, method, path string, body any) map[string]any {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := s.Do(ctx, method, path, body)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// Data returns out["data"] as a map (empty when absent).
func Data(out map[string]any) map[string]any {
	d, _ := out["data"].(map[string]any)
	if d == nil {
		d = map[string]any{}
	}
	return d
}

// EnableAuth enables an auth method of type typ at path. When the server
// does not have the method (OpenBao ships aws, gcp and azure as external
// plugins: "plugin not found in the catalog"), the test is skipped with one
// line saying so, unless Required.
func (s *Server) EnableAuth(tb testing.TB, path, typ string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.Do(ctx, http.MethodPost, "sys/auth/"+path, map[string]any{"type": typ})
	if err != nil && strings.Contains(err.Error(), "plugin not found in the catalog") && !Required() {
		tb.Skipf("vaulttest: this server has no %s auth plugin registered (OpenBao ships it as an external plugin: register it, see the README's OpenBao section)", typ)
	}
	if err != nil {
		tb.Fatal(err)
	}
}

// EnableSecrets mounts a secrets engine of type typ at path, with options
// (e.g. {"version": "2"} for KV v2).
func (s *Server) EnableSecrets(tb testing.TB, path, typ string, options map[string]any) {
	tb.Helper()
	body := map[string]any{"type": typ}
	if options != nil {
		body["options"] = options
	}
	s.Must(tb, http.MethodPost, "sys/mounts/"+path, body)
	if typ == "kv" && options != nil && fmt.Sprint(options["version"]) == "2" {
		s.waitKVReady(tb, path)
	}
}

// waitKVReady waits until a new KV v2 mount serves: OpenBao answers 400
// "Upgrading from non-versioned to versioned data" for a moment.
func (s *Server) waitKVReady(tb testing.TB, mount string) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := s.Do(ctx, http.MethodGet, mount+"/config", nil)
		cancel()
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "non-versioned to versioned") {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("vaulttest: KV mount %s still upgrading after 30 s: %v", mount, err)
		}
		time.Sleep(50 * time.Millisecond) // polling the server, with a deadline
	}
}

// WritePolicy writes an ACL policy.
func (s *Server) WritePolicy(tb testing.TB, name, hcl string) {
	tb.Helper()
	s.Must(tb, http.MethodPut, "sys/policies/acl/"+name, map[string]any{"policy": hcl})
}

// CreateAppRole writes an AppRole role with params (token_policies,
// token_ttl, secret_id_num_uses...).
func (s *Server) CreateAppRole(tb testing.TB, mount, role string, params map[string]any) {
	tb.Helper()
	s.Must(tb, http.MethodPost, "auth/"+mount+"/role/"+role, params)
}

// RoleID reads the role ID of an AppRole role.
func (s *Server) RoleID(tb testing.TB, mount, role string) string {
	tb.Helper()
	return Data(s.Must(tb, http.MethodGet, "auth/"+mount+"/role/"+role+"/role-id", nil))["role_id"].(string)
}

// SecretID generates a secret ID for an AppRole role.
func (s *Server) SecretID(tb testing.TB, mount, role string) string {
	tb.Helper()
	return Data(s.Must(tb, http.MethodPost, "auth/"+mount+"/role/"+role+"/secret-id", nil))["secret_id"].(string)
}

// WrappedSecretID generates a secret ID wrapped in a single-use wrapping
// token that lives ttl, and returns the wrapping token.
func (s *Server) WrappedSecretID(tb testing.TB, mount, role string, ttl time.Duration) string {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, s.Addr+"/v1/auth/"+mount+"/role/"+role+"/secret-id", nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("X-Vault-Token", s.RootToken)
	req.Header.Set("X-Vault-Wrap-TTL", fmt.Sprintf("%ds", int(ttl.Seconds())))
	resp, err := s.client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		WrapInfo struct {
			Token string `json:"token"`
		} `json:"wrap_info"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.WrapInfo.Token == "" {
		tb.Fatalf("vaulttest: wrapped secret ID: status %d, decode error %v", resp.StatusCode, err)
	}
	return out.WrapInfo.Token
}

// PutKV writes a secret to a KV v2 mount.
func (s *Server) PutKV(tb testing.TB, mount, path string, data map[string]any) {
	tb.Helper()
	s.Must(tb, http.MethodPost, mount+"/data/"+path, map[string]any{"data": data})
}

// CreateToken creates a token with params (policies, ttl, no_default_policy...)
// and returns it.
func (s *Server) CreateToken(tb testing.TB, params map[string]any) string {
	tb.Helper()
	out := s.Must(tb, http.MethodPost, "auth/token/create", params)
	auth, _ := out["auth"].(map[string]any)
	tok, _ := auth["client_token"].(string)
	if tok == "" {
		tb.Fatal("vaulttest: auth/token/create returned no token")
	}
	return tok
}

// Seal seals the server.
func (s *Server) Seal(tb testing.TB) {
	tb.Helper()
	s.Must(tb, http.MethodPut, "sys/seal", nil)
}

// Unseal unseals the server with its unseal key.
func (s *Server) Unseal(tb testing.TB) {
	tb.Helper()
	if s.UnsealKey == "" {
		tb.Fatal("vaulttest: the server printed no unseal key")
	}
	s.Must(tb, http.MethodPut, "sys/unseal", map[string]any{"key": s.UnsealKey})
}

// WaitActive waits until the server answers sys/health unsealed and active,
// as after Unseal, failing the test after 30 s.
func (s *Server) WaitActive(tb testing.TB) {
	tb.Helper()
	ctx := Context(tb)
	for {
		if out, err := s.Do(ctx, http.MethodGet, "sys/health", nil); err == nil && out["sealed"] == false {
			return
		}
		select {
		case <-ctx.Done():
			tb.Fatal("vaulttest: the server is not unsealed and active after 30 s")
		case <-time.After(50 * time.Millisecond): // polling the server, with a deadline
		}
	}
}

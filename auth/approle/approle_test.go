package approle_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/approle"
	"github.com/gdsvault/gdsvault/vaulttest"
)

var vault *vaulttest.Server

func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m, vaulttest.Options{}, &vault)) }

// lab provisions the seed's exercise 2 on its own mounts: a KV secret, a
// read policy, an AppRole mount and role. It returns the KV mount, the
// AppRole mount and the role.
func lab(t *testing.T, roleParams map[string]any) (kvMount, arMount, role string) {
	kvMount, arMount, role = vault.UniqueName("kv"), vault.UniqueName("approle"), "myapp"
	vault.EnableSecrets(t, kvMount, "kv", map[string]any{"version": "2"})
	vault.PutKV(t, kvMount, "myapp/config", map[string]any{"db_host": "postgres.example.com"})
	policy := vault.UniqueName("myapp-policy")
	vault.WritePolicy(t, policy, `path "`+kvMount+`/data/myapp/*" { capabilities = ["read"] }`)
	vault.EnableAuth(t, arMount, "approle")
	params := map[string]any{"token_policies": policy, "token_ttl": "1h", "token_max_ttl": "4h"}
	for k, v := range roleParams {
		params[k] = v
	}
	vault.CreateAppRole(t, arMount, role, params)
	return kvMount, arMount, role
}

func readWith(t *testing.T, m gdsvault.AuthMethod, kvMount string) error {
	t.Helper()
	c, err := gdsvault.New(gdsvault.WithAddress(vault.Addr), gdsvault.WithAuth(m))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	s, err := c.GetSecret(vaulttest.Context(t), kvMount+"/data/myapp/config")
	if err == nil && s.Data["db_host"] != "postgres.example.com" {
		t.Fatalf("read %v", s.Data)
	}
	return err
}

func assertClean(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if err != nil && strings.Contains(fmt.Sprintf("%v %+v", err, err), s) {
			t.Errorf("error shows a secret: %v", err)
		}
	}
}

func TestLoginAndRead(t *testing.T) {
	vault.Require(t)
	kvMount, arMount, role := lab(t, nil)
	roleID, secretID := vault.RoleID(t, arMount, role), vault.SecretID(t, arMount, role)
	m, err := approle.New(gdsvault.CredentialValue(roleID), gdsvault.CredentialValue(secretID), approle.WithMountPath(arMount))
	if err != nil {
		t.Fatal(err)
	}
	if err := readWith(t, m, kvMount); err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%v %+v %#v", m, m, m); strings.Contains(s, secretID) || strings.Contains(s, roleID) {
		t.Errorf("method prints a credential: %s", s)
	}
	// The client's token carries the role's policy, not root's.
	c, _ := gdsvault.New(gdsvault.WithAddress(vault.Addr))
	a, err := m.Login(vaulttest.Context(t), c)
	if err != nil || a.TTL() != time.Hour || !a.Renewable || len(a.TokenPolicies) == 0 {
		t.Errorf("login auth = %+v, %v", a, err)
	}
}

func TestWrongCredentials(t *testing.T) {
	vault.Require(t)
	kvMount, arMount, role := lab(t, nil)
	roleID := vault.RoleID(t, arMount, role)
	const bogus = "00000000-1111-2222-3333-444444444444"
	for name, m := range map[string][2]string{"wrong secret id": {roleID, bogus}, "wrong role id": {bogus, vault.SecretID(t, arMount, role)}} {
		meth, err := approle.New(gdsvault.CredentialValue(m[0]), gdsvault.CredentialValue(m[1]), approle.WithMountPath(arMount))
		if err != nil {
			t.Fatal(err)
		}
		err = readWith(t, meth, kvMount)
		if !errors.Is(err, gdsvault.ErrAuthFailed) {
			t.Errorf("%s: err = %v, want ErrAuthFailed", name, err)
		}
		assertClean(t, err, m[0], m[1])
	}
	// The default mount path is "approle": a role on a custom mount is not found there.
	meth, _ := approle.New(gdsvault.CredentialValue(roleID), gdsvault.CredentialValue(vault.SecretID(t, arMount, role)))
	if err := readWith(t, meth, kvMount); err == nil {
		t.Error("login on the default mount succeeded for a role on a custom mount")
	}
}

func TestSecretIDFileRotation(t *testing.T) {
	vault.Require(t)
	_, arMount, role := lab(t, nil)
	roleID := vault.RoleID(t, arMount, role)
	first := vault.SecretID(t, arMount, role)
	file := vaulttest.WriteFile(t, "secret-id", []byte(first+"\n"))
	m, err := approle.New(gdsvault.CredentialValue(roleID), gdsvault.CredentialFile(file), approle.WithMountPath(arMount))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := gdsvault.New(gdsvault.WithAddress(vault.Addr))
	if _, err := m.Login(vaulttest.Context(t), c); err != nil {
		t.Fatal(err)
	}
	// Rotate: destroy the old secret ID in Vault and deliver a new one.
	vault.Must(t, http.MethodPost, "auth/"+arMount+"/role/"+role+"/secret-id/destroy", map[string]any{"secret_id": first})
	if err := os.WriteFile(file, []byte(vault.SecretID(t, arMount, role)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Login(vaulttest.Context(t), c); err != nil {
		t.Fatalf("login after rotation: %v (the file was not re-read?)", err)
	}
	os.Remove(file)
	if _, err := m.Login(vaulttest.Context(t), c); !errors.Is(err, gdsvault.ErrConfig) || !strings.Contains(err.Error(), file) {
		t.Errorf("missing file: %v", err)
	}
}

func TestSingleUseSecretID(t *testing.T) {
	vault.Require(t)
	kvMount, arMount, role := lab(t, map[string]any{"secret_id_num_uses": 1})
	secretID := vault.SecretID(t, arMount, role)
	m, _ := approle.New(gdsvault.CredentialValue(vault.RoleID(t, arMount, role)), gdsvault.CredentialValue(secretID), approle.WithMountPath(arMount))
	if err := readWith(t, m, kvMount); err != nil {
		t.Fatal(err)
	}
	c, _ := gdsvault.New(gdsvault.WithAddress(vault.Addr))
	_, err := m.Login(vaulttest.Context(t), c)
	if !errors.Is(err, gdsvault.ErrAuthFailed) || !strings.Contains(err.Error(), "used up") {
		t.Fatalf("second login with a single-use secret ID: %v", err)
	}
	assertClean(t, err, secretID)
}

func TestWrappedSecretID(t *testing.T) {
	vault.Require(t)
	kvMount, arMount, role := lab(t, nil)
	roleID := gdsvault.CredentialValue(vault.RoleID(t, arMount, role))
	newMethod := func(wrapped string, opts ...approle.Option) *approle.Method {
		m, err := approle.New(roleID, gdsvault.Credential{},
			append([]approle.Option{approle.WithMountPath(arMount), approle.WithWrappedSecretID(gdsvault.CredentialValue(wrapped))}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	t.Run("unwrapped once, logged in twice", func(t *testing.T) {
		wrapped := vault.WrappedSecretID(t, arMount, role, time.Minute)
		m := newMethod(wrapped, approle.WithRoleName(role))
		c, _ := gdsvault.New(gdsvault.WithAddress(vault.Addr))
		for i := 0; i < 2; i++ {
			if _, err := m.Login(vaulttest.Context(t), c); err != nil {
				t.Fatalf("login %d: %v", i, err)
			}
		}
		if err := readWith(t, newMethod(vault.WrappedSecretID(t, arMount, role, time.Minute)), kvMount); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("attacker unwrapped first", func(t *testing.T) {
		wrapped := vault.WrappedSecretID(t, arMount, role, time.Minute)
		// The attacker's real unwrap, before the client's.
		if _, err := vault.DoWithToken(vaulttest.Context(t), http.MethodPost, "sys/wrapping/unwrap", nil, wrapped); err != nil {
			t.Fatal(err)
		}
		err := readWith(t, newMethod(wrapped), kvMount)
		var we *gdsvault.WrappingError
		if !errors.Is(err, gdsvault.ErrWrappingTampered) || !errors.As(err, &we) || !strings.Contains(err.Error(), "intercepted") {
			t.Fatalf("err = %v, want ErrWrappingTampered", err)
		}
		assertClean(t, err, wrapped)
	})

	t.Run("revoked wrapping token", func(t *testing.T) {
		wrapped := vault.WrappedSecretID(t, arMount, role, time.Minute)
		vault.Must(t, http.MethodPost, "auth/token/revoke", map[string]any{"token": wrapped})
		if err := readWith(t, newMethod(wrapped), kvMount); !errors.Is(err, gdsvault.ErrWrappingTampered) {
			t.Fatalf("err = %v, want ErrWrappingTampered", err)
		}
	})

	t.Run("created for another path", func(t *testing.T) {
		// A wrapping token around something else: a child token.
		req, _ := http.NewRequest(http.MethodPost, vault.Addr+"/v1/auth/token/create", strings.NewReader(`{"policies":["default"]}`))
		req.Header.Set("X-Vault-Token", vault.RootToken)
		req.Header.Set("X-Vault-Wrap-TTL", "60s")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			WrapInfo struct{ Token string } `json:"wrap_info"`
		}
		decodeJSON(t, resp, &out)
		err = readWith(t, newMethod(out.WrapInfo.Token), kvMount)
		var we *gdsvault.WrappingError
		if !errors.As(err, &we) || we.CreationPath != "auth/token/create" || !errors.Is(err, gdsvault.ErrWrappingTampered) {
			t.Fatalf("err = %v, want a WrappingError naming auth/token/create", err)
		}
		// The token was only looked up, not used: it is still valid.
		if _, err := vault.DoWithToken(vaulttest.Context(t), http.MethodPost, "sys/wrapping/lookup", map[string]any{"token": out.WrapInfo.Token}, ""); err != nil {
			t.Errorf("lookup used the token up: %v", err)
		}
	})

	t.Run("a creation path pattern of the caller's", func(t *testing.T) {
		wrapped := vault.WrappedSecretID(t, arMount, role, time.Minute)
		err := readWith(t, newMethod(wrapped, approle.WithWrappingPath("auth/elsewhere/role/*/secret-id")), kvMount)
		if !errors.Is(err, gdsvault.ErrWrappingTampered) {
			t.Fatalf("err = %v, want ErrWrappingTampered", err)
		}
		if err := readWith(t, newMethod(vault.WrappedSecretID(t, arMount, role, time.Minute),
			approle.WithWrappingPath("auth/"+arMount+"/role/"+role+"/secret-id")), kvMount); err != nil {
			t.Fatalf("matching pattern: %v", err)
		}
	})

	t.Run("another role than named", func(t *testing.T) {
		vault.CreateAppRole(t, arMount, "other", map[string]any{"token_policies": "default"})
		wrapped := vault.WrappedSecretID(t, arMount, "other", time.Minute)
		if err := readWith(t, newMethod(wrapped, approle.WithRoleName(role)), kvMount); !errors.Is(err, gdsvault.ErrWrappingTampered) {
			t.Fatalf("err = %v, want ErrWrappingTampered", err)
		}
	})
}

func TestNewValidation(t *testing.T) {
	v := gdsvault.CredentialValue("x")
	for name, tc := range map[string]struct {
		role, secret gdsvault.Credential
		opts         []approle.Option
		want         string
	}{
		"no role id":        {gdsvault.Credential{}, v, nil, "VAULT_ROLE_ID"},
		"no secret id":      {v, gdsvault.Credential{}, nil, "VAULT_SECRET_ID"},
		"both secret forms": {v, v, []approle.Option{approle.WithWrappedSecretID(v)}, "exactly one"},
		"empty mount":       {v, v, []approle.Option{approle.WithMountPath("/")}, "mount"},
	} {
		_, err := approle.New(tc.role, tc.secret, tc.opts...)
		if !errors.Is(err, gdsvault.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrConfig mentioning %s", name, err, tc.want)
		}
	}
	m, err := approle.New(v, gdsvault.Credential{}, approle.WithoutSecretID(), approle.WithMountPath("/auth/team-approle/"))
	if err != nil || m.MountPath() != "team-approle" {
		t.Errorf("bind_secret_id=false role: %v %v", m, err)
	}
}

// countingTransport counts the requests that reach Vault, by API path.
type countingTransport struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[strings.TrimPrefix(r.URL.Path, "/v1/")]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// take returns the counts since the last call and resets them.
func (c *countingTransport) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = nil
	if n == nil {
		n = map[string]int{}
	}
	return n
}

// TestWrappedSecretIDFailureIsTerminal: a wrapping token that failed its
// check is not probed again: ten logins make one sys/wrapping/lookup and
// return ErrWrappingTampered each time, until the credential file holds a
// new token; then the next login unwraps it and succeeds.
func TestWrappedSecretIDFailureIsTerminal(t *testing.T) {
	vault.Require(t)
	_, arMount, role := lab(t, nil)
	roleID := gdsvault.CredentialValue(vault.RoleID(t, arMount, role))
	rt := &countingTransport{}
	c, err := gdsvault.New(gdsvault.WithAddress(vault.Addr), gdsvault.WithTransport(rt))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	lookup, unwrap, login := "sys/wrapping/lookup", "sys/wrapping/unwrap", "auth/"+arMount+"/login"

	for _, tc := range []struct {
		name   string
		dead   func(t *testing.T) string // a wrapping token that must fail
		unwrap int                       // unwraps the failing login makes
	}{
		{"used by someone else", func(t *testing.T) string {
			w := vault.WrappedSecretID(t, arMount, role, time.Minute)
			if _, err := vault.DoWithToken(vaulttest.Context(t), http.MethodPost, "sys/wrapping/unwrap", nil, w); err != nil {
				t.Fatal(err)
			}
			return w
		}, 0},
		{"created for another role", func(t *testing.T) string {
			vault.CreateAppRole(t, arMount, "other", map[string]any{"token_policies": "default"})
			return vault.WrappedSecretID(t, arMount, "other", time.Minute)
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dead := tc.dead(t)
			file := vaulttest.WriteFile(t, "wrapped-secret-id", []byte(dead+"\n"))
			m, err := approle.New(roleID, gdsvault.Credential{}, approle.WithMountPath(arMount), approle.WithRoleName(role),
				approle.WithWrappedSecretID(gdsvault.CredentialFile(file)))
			if err != nil {
				t.Fatal(err)
			}
			rt.take()
			var first error
			for i := range 10 {
				_, err := m.Login(vaulttest.Context(t), c)
				var we *gdsvault.WrappingError
				if !errors.Is(err, gdsvault.ErrWrappingTampered) || !errors.As(err, &we) {
					t.Fatalf("login %d: err = %v, want ErrWrappingTampered", i, err)
				}
				if i == 0 {
					first = err
				} else if err.Error() != first.Error() {
					t.Errorf("login %d: %v, not the first error %v", i, err, first)
				}
				assertClean(t, err, dead)
			}
			if n := rt.take(); n[lookup] != 1 || n[unwrap] != tc.unwrap || n[login] != 0 || len(n) != 1 {
				t.Fatalf("requests for 10 logins with a dead wrapping token: %v, want exactly one %s", n, lookup)
			}

			// The same token written again is still the same credential.
			if err := os.WriteFile(file, []byte("  "+dead+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Login(vaulttest.Context(t), c); !errors.Is(err, gdsvault.ErrWrappingTampered) {
				t.Fatalf("same token rewritten: %v", err)
			}
			if n := rt.take(); len(n) != 0 {
				t.Fatalf("same token rewritten: requests %v, want none", n)
			}

			// Another client (say, a new one after Close) checks it once more.
			rt2 := &countingTransport{}
			c2, err := gdsvault.New(gdsvault.WithAddress(vault.Addr), gdsvault.WithTransport(rt2))
			if err != nil {
				t.Fatal(err)
			}
			defer c2.Close(context.Background())
			for range 3 {
				if _, err := m.Login(vaulttest.Context(t), c2); !errors.Is(err, gdsvault.ErrWrappingTampered) {
					t.Fatalf("another client: %v", err)
				}
			}
			if n := rt2.take(); n[lookup] != 1 || len(n) != 1 {
				t.Fatalf("requests for 3 logins of another client: %v, want one %s", n, lookup)
			}

			// A fresh wrapping token in the file: checked, unwrapped, logged in.
			if err := os.WriteFile(file, []byte(vault.WrappedSecretID(t, arMount, role, time.Minute)), 0o600); err != nil {
				t.Fatal(err)
			}
			rt.take()
			if _, err := m.Login(vaulttest.Context(t), c); err != nil {
				t.Fatalf("login with a fresh wrapping token: %v", err)
			}
			if n := rt.take(); n[lookup] != 1 || n[unwrap] != 1 || n[login] != 1 {
				t.Fatalf("requests for the fresh token: %v", n)
			}
			// Later logins reuse the unwrapped secret ID, even once the file
			// is gone (deleted after use, as agents may do).
			os.Remove(file)
			if _, err := m.Login(vaulttest.Context(t), c); err != nil {
				t.Fatalf("login after the file was removed: %v", err)
			}
			if n := rt.take(); n[lookup] != 0 || n[unwrap] != 0 || n[login] != 1 {
				t.Fatalf("requests for a later login: %v, want only the login", n)
			}
		})
	}
}

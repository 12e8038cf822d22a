package gdsvault_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"testing"
	"testing/synctest"

	"github.com/gdsvault/gdsvault"
)

func TestKVv2BothPathForms(t *testing.T) {
	vault.Require(t)
	mount := vault.UniqueName("kv2")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	c := newClient(t, vault.RootToken)
	kv := c.KV()

	m1, err := kv.Put(ctx(t), mount+"/myapp/config", map[string]any{"db_host": "postgres.example.com", "db_pass": "secret123"})
	if err != nil {
		t.Fatal(err)
	}
	if m1.Version != 1 || m1.CreatedTime.IsZero() {
		t.Fatalf("first write metadata = %+v, want version 1 with a creation time", *m1)
	}
	// The seed's API form and the CLI form read the same secret.
	for _, p := range []string{mount + "/data/myapp/config", mount + "/myapp/config", "/" + mount + "/myapp/config/"} {
		s, err := c.GetSecret(ctx(t), p)
		if err != nil {
			t.Fatalf("GetSecret(%q): %v", p, err)
		}
		if s.Data["db_host"] != "postgres.example.com" || s.KVVersion != 2 || s.Mount != mount || s.Path != "myapp/config" {
			t.Errorf("GetSecret(%q) = %v %v", p, s, s.Data)
		}
		if s.VersionMetadata == nil || s.VersionMetadata.Version != 1 {
			t.Errorf("GetSecret(%q) version metadata = %+v", p, s.VersionMetadata)
		}
	}

	// Versions, check-and-set, patch.
	if _, err := kv.Put(ctx(t), mount+"/myapp/config", map[string]any{"db_host": "v2"}, gdsvault.CAS(0)); !errors.Is(err, gdsvault.ErrCASMismatch) || !errors.Is(err, gdsvault.ErrBadRequest) {
		t.Fatalf("CAS(0) on an existing secret: err = %v, want ErrCASMismatch", err)
	}
	m2, err := kv.Put(ctx(t), mount+"/data/myapp/config", map[string]any{"db_host": "v2", "db_pass": "secret456"}, gdsvault.CAS(1))
	if err != nil || m2.Version != 2 {
		t.Fatalf("CAS(1) write: %v, %v", m2, err)
	}
	m3, err := kv.Patch(ctx(t), mount+"/myapp/config", map[string]any{"db_user": "myapp"})
	if err != nil || m3.Version != 3 {
		t.Fatalf("patch: %v, %v", m3, err)
	}
	latest, err := kv.Get(ctx(t), mount+"/myapp/config")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"db_host": "v2", "db_pass": "secret456", "db_user": "myapp"}
	if !maps.Equal(latest.Data, want) || latest.VersionMetadata.Version != 3 {
		t.Errorf("latest = %v %v, want %v at version 3", latest, latest.Data, want)
	}
	v1, err := kv.Get(ctx(t), mount+"/myapp/config", gdsvault.SecretVersion(1))
	if err != nil || v1.Data["db_host"] != "postgres.example.com" || v1.VersionMetadata.Version != 1 {
		t.Fatalf("version 1 = %v %v, %v", v1, v1.Data, err)
	}

	// Custom metadata and metadata read.
	if err := kv.PutMetadata(ctx(t), mount+"/myapp/config", gdsvault.MetadataInput{CustomMetadata: map[string]string{"owner": "team-a"}}); err != nil {
		t.Fatal(err)
	}
	md, err := kv.Metadata(ctx(t), mount+"/metadata/myapp/config")
	if err != nil {
		t.Fatal(err)
	}
	if md.CurrentVersion != 3 || len(md.Versions) != 3 || md.CustomMetadata["owner"] != "team-a" || md.CreatedTime.IsZero() {
		t.Errorf("metadata = %+v", md)
	}
	if s, _ := kv.Get(ctx(t), mount+"/myapp/config"); s == nil || s.CustomMetadata["owner"] != "team-a" {
		t.Errorf("read does not carry custom metadata: %v", s)
	}

	// List in both forms.
	if _, err := kv.Put(ctx(t), mount+"/myapp/other", map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{mount + "/myapp", mount + "/metadata/myapp/"} {
		keys, err := kv.List(ctx(t), p)
		if err != nil || !slices.Equal(keys, []string{"config", "other"}) {
			t.Errorf("List(%q) = %v, %v", p, keys, err)
		}
	}
	if keys, err := kv.List(ctx(t), mount); err != nil || !slices.Equal(keys, []string{"myapp/"}) {
		t.Errorf("List(mount root) = %v, %v", keys, err)
	}

	// Delete, deleted version, undelete, destroy.
	if err := kv.Delete(ctx(t), mount+"/myapp/config"); err != nil {
		t.Fatal(err)
	}
	_, err = kv.Get(ctx(t), mount+"/myapp/config")
	if !errors.Is(err, gdsvault.ErrDeletedVersion) || !errors.Is(err, gdsvault.ErrNotFound) {
		t.Fatalf("read of a deleted version: err = %v, want ErrDeletedVersion", err)
	}
	if err := kv.Undelete(ctx(t), mount+"/myapp/config", 3); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx(t), mount+"/myapp/config"); err != nil {
		t.Fatalf("read after undelete: %v", err)
	}
	if err := kv.Destroy(ctx(t), mount+"/myapp/config", 2); err != nil {
		t.Fatal(err)
	}
	_, err = kv.Get(ctx(t), mount+"/myapp/config", gdsvault.SecretVersion(2))
	if !errors.Is(err, gdsvault.ErrDestroyedVersion) || !errors.Is(err, gdsvault.ErrNotFound) || errors.Is(err, gdsvault.ErrDeletedVersion) {
		t.Fatalf("read of a destroyed version: err = %v, want ErrDestroyedVersion", err)
	}
	if err := kv.Delete(ctx(t), mount+"/myapp/config", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx(t), mount+"/myapp/config", gdsvault.SecretVersion(1)); !errors.Is(err, gdsvault.ErrDeletedVersion) {
		t.Fatalf("version 1 after Delete(1): %v", err)
	}
	if err := kv.Undelete(ctx(t), mount+"/myapp/config"); !errors.Is(err, gdsvault.ErrConfig) {
		t.Errorf("Undelete without versions: %v, want ErrConfig", err)
	}
	if err := kv.DeleteMetadata(ctx(t), mount+"/myapp/config"); err != nil {
		t.Fatal(err)
	}
	_, err = kv.Get(ctx(t), mount+"/myapp/config")
	if !errors.Is(err, gdsvault.ErrNotFound) || errors.Is(err, gdsvault.ErrDeletedVersion) {
		t.Fatalf("read after DeleteMetadata: %v, want plain ErrNotFound", err)
	}
	var re *gdsvault.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 404 || re.Method != "GET" || re.Path != mount+"/data/myapp/config" {
		t.Errorf("ResponseError = %#v", re)
	}
	assertNoSecret(t, "error", err.Error(), vault.RootToken)
}

func TestKVv1(t *testing.T) {
	vault.Require(t)
	mount := vault.UniqueName("kv1")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "1"})
	c := newClient(t, vault.RootToken)
	kv := c.KV()
	if _, err := kv.Put(ctx(t), mount+"/app/db", map[string]any{"password": "hunter2", "ttl": "30m"}); err != nil {
		t.Fatal(err)
	}
	s, err := c.GetSecret(ctx(t), mount+"/app/db")
	if err != nil {
		t.Fatal(err)
	}
	if s.KVVersion != 1 || s.Data["password"] != "hunter2" || s.VersionMetadata != nil {
		t.Errorf("v1 read = %v", s)
	}
	// A KV v1 secret with a "ttl" key is leased for that long.
	if s.LeaseDuration.Minutes() != 30 {
		t.Errorf("lease duration = %v, want 30m", s.LeaseDuration)
	}
	keys, err := kv.List(ctx(t), mount+"/app")
	if err != nil || !slices.Equal(keys, []string{"db"}) {
		t.Errorf("List = %v, %v", keys, err)
	}
	for name, err := range map[string]error{
		"version": func() error { _, err := kv.Get(ctx(t), mount+"/app/db", gdsvault.SecretVersion(2)); return err }(),
		"patch":   func() error { _, err := kv.Patch(ctx(t), mount+"/app/db", map[string]any{"a": "b"}); return err }(),
		"cas": func() error {
			_, err := kv.Put(ctx(t), mount+"/app/db", map[string]any{"a": "b"}, gdsvault.CAS(1))
			return err
		}(),
		"destroy": kv.Destroy(ctx(t), mount+"/app/db", 1),
		"meta":    func() error { _, err := kv.Metadata(ctx(t), mount+"/app/db"); return err }(),
	} {
		if !errors.Is(err, gdsvault.ErrConfig) {
			t.Errorf("%s on KV v1: err = %v, want ErrConfig", name, err)
		}
	}
	if err := kv.Delete(ctx(t), mount+"/app/db"); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx(t), mount+"/app/db"); !errors.Is(err, gdsvault.ErrNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
}

func TestKVBadPaths(t *testing.T) {
	vault.Require(t)
	c := newClient(t, vault.RootToken)
	for _, p := range []string{"", "/", "secret//x", "secret/../sys", "secret/x\ny"} {
		if _, err := c.GetSecret(ctx(t), p); !errors.Is(err, gdsvault.ErrInvalidPath) {
			t.Errorf("GetSecret(%q) = %v, want ErrInvalidPath", p, err)
		}
	}
	if _, err := c.GetSecret(ctx(t), "secret"); !errors.Is(err, gdsvault.ErrInvalidPath) {
		t.Errorf("GetSecret(mount only) = %v, want ErrInvalidPath", err)
	}
	if _, err := c.GetSecret(ctx(t), "sys/policy/default"); err == nil {
		t.Error("GetSecret on a non-KV path succeeded")
	}
	if _, err := c.GetSecret(ctx(t), "nomount-here/x"); !errors.Is(err, gdsvault.ErrNotFound) {
		t.Errorf("GetSecret on no mount = %v, want ErrNotFound", err)
	}
}

func TestGenericReadWriteListDelete(t *testing.T) {
	vault.Require(t)
	mount := vault.UniqueName("transit")
	vault.EnableSecrets(t, mount, "transit", nil)
	c := newClient(t, vault.RootToken)
	if _, err := c.Write(ctx(t), mount+"/keys/app", map[string]any{"type": "aes256-gcm96"}); err != nil {
		t.Fatal(err)
	}
	s, err := c.Read(ctx(t), mount+"/keys/app")
	if err != nil || s.Data["type"] != "aes256-gcm96" {
		t.Fatalf("Read = %v, %v", s, err)
	}
	keys, err := c.List(ctx(t), mount+"/keys")
	if err != nil || !slices.Equal(keys, []string{"app"}) {
		t.Fatalf("List = %v, %v", keys, err)
	}
	enc, err := c.Write(ctx(t), mount+"/encrypt/app", map[string]any{"plaintext": "aGVsbG8="})
	if err != nil || enc.Data["ciphertext"] == nil {
		t.Fatalf("encrypt = %v, %v", enc, err)
	}
	if _, err := c.Write(ctx(t), mount+"/keys/app/config", map[string]any{"deletion_allowed": true}); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx(t), mount+"/keys/app"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(ctx(t), mount+"/keys/app"); !errors.Is(err, gdsvault.ErrNotFound) {
		t.Fatalf("Read after delete = %v, want ErrNotFound", err)
	}
	if _, err := c.List(ctx(t), mount+"/keys"); !errors.Is(err, gdsvault.ErrNotFound) {
		t.Fatalf("List of nothing = %v, want ErrNotFound", err)
	}
}

// "secret/data/metadata/x" is the API form of the secret "metadata/x".
func TestKVPathStripsOnePrefix(t *testing.T) {
	vault.Require(t)
	mount := vault.UniqueName("kv")
	vault.EnableSecrets(t, mount, "kv", map[string]any{"version": "2"})
	c := newClient(t, vault.RootToken)
	if _, err := c.KV().Put(ctx(t), mount+"/data/metadata/x", map[string]any{"k": "nested"}); err != nil {
		t.Fatal(err)
	}
	out := vault.Must(t, http.MethodGet, mount+"/data/metadata/x", nil)
	if vaultData(out)["k"] != "nested" {
		t.Fatalf("the write did not land at metadata/x: %v", out)
	}
	if _, err := c.GetSecret(ctx(t), mount+"/x"); !errors.Is(err, gdsvault.ErrNotFound) {
		t.Errorf("a secret appeared at x: %v", err)
	}
}

func vaultData(out map[string]any) map[string]any {
	d, _ := out["data"].(map[string]any)
	inner, _ := d["data"].(map[string]any)
	return inner
}

// TestColdReadGuessesTheMount: a client without a cache reading from a
// mount it has not met sends the mount lookup and the read it guesses (the
// path's first segment as a KV v2 mount) at once. A right guess is the
// answer (one round trip); a wrong one is thrown away, unrefined (no
// lookup-self after its 403), and the right read follows. Once the mount
// is known, reads go alone.
func TestColdReadGuessesTheMount(t *testing.T) {
	tests := []struct {
		name, path, want string
		requests         map[string]int // after two reads
	}{
		{"KV v2 at the first segment", "secret/app", "h1", map[string]int{
			"GET sys/internal/ui/mounts/secret/app": 1, "GET secret/data/app": 2}},
		{"API form", "secret/data/app", "h1", map[string]int{
			"GET sys/internal/ui/mounts/secret/data/app": 1, "GET secret/data/app": 2}},
		{"KV v1", "kv1/app", "v1-host", map[string]int{
			"GET sys/internal/ui/mounts/kv1/app": 1, "GET kv1/data/app": 1, "GET kv1/app": 2}},
		{"a mount two segments deep", "team/kv/app", "team-host", map[string]int{
			"GET sys/internal/ui/mounts/team/kv/app": 1, "GET team/data/kv/app": 1, "GET team/kv/data/app": 2,
			"GET auth/token/lookup-self": 0, "POST sys/capabilities-self": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newKVFake()
				c, err := gdsvault.New(gdsvault.WithAddress("http://vault.test:8200"), gdsvault.WithToken("t"), gdsvault.WithTransport(f),
					gdsvault.WithLogger(slog.New(slog.DiscardHandler)))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close(context.Background())
				for range 2 {
					if v, err := c.Field(context.Background(), tt.path, "db_host"); err != nil || v != tt.want {
						t.Fatalf("Field = %v, %v; want %s", v, err, tt.want)
					}
				}
				for req, n := range tt.requests {
					if got := f.count(req); got != n {
						t.Errorf("%s: %d requests, want %d", req, got, n)
					}
				}
			})
		})
	}
}

// TestColdReadGuessFailure: a right guess that fails is not the answer:
// the read is sent again, the usual way (a missing secret is still
// ErrNotFound, a missing mount still the lookup's error).
func TestColdReadGuessFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newKVFake()
		c, err := gdsvault.New(gdsvault.WithAddress("http://vault.test:8200"), gdsvault.WithToken("t"), gdsvault.WithTransport(f),
			gdsvault.WithLogger(slog.New(slog.DiscardHandler)), gdsvault.WithMaxRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.Background())
		if _, err := c.GetSecret(context.Background(), "secret/nothing"); !errors.Is(err, gdsvault.ErrNotFound) {
			t.Fatalf("missing secret: %v", err)
		}
		if n := f.count("GET secret/data/nothing"); n != 2 {
			t.Errorf("%d reads of the missing secret, want 2 (the guess, then the read)", n)
		}
		f.setDown(true)
		if _, err := c.GetSecret(context.Background(), "other/app"); !errors.Is(err, gdsvault.ErrSealed) {
			t.Fatalf("sealed: %v", err)
		}
	})
}

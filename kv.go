package gdsvault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gdsvault/gdsvault/secretcache"
)

// KV reads and writes the key/value secrets engine, version 1 or 2. Paths may
// be given in the API form ("secret/data/myapp/config") or in the
// CLI form ("secret/myapp/config"); the mount and its KV version are detected
// once per mount (sys/internal/ui/mounts) and remembered. On a KV v2 mount, a
// first segment "data/" or "metadata/" after the mount is taken as the API
// form: to reach a secret whose own name starts with "data/", write
// "secret/data/data/...".
type KV struct{ c *Client }

// KV returns the client's key/value API.
func (c *Client) KV() KV { return KV{c: c} }

// GetSecret reads a KV secret (the Python gds_vault's get_secret). It is
// c.KV().Get.
func (c *Client) GetSecret(ctx context.Context, path string, opts ...KVOption) (*KVSecret, error) {
	return c.KV().Get(ctx, path, opts...)
}

// KVOption changes one KV call.
type KVOption func(*kvOptions)

type kvOptions struct {
	// guess marks a read sent before its mount is known (guessRead): a
	// 403 is not refined, since the read may be for the wrong path.
	guess      bool
	version    int
	cas        int
	hasCAS     bool
	readTTL    time.Duration
	hasReadTTL bool
	noCache    bool
}

// SecretVersion pins the KV v2 version of the secret to read (0 means the
// latest).
func SecretVersion(n int) KVOption { return func(o *kvOptions) { o.version = n } }

// CAS makes a KV v2 write or patch succeed only if the secret's current
// version is n (0: only if the secret does not exist yet). A mismatch is
// ErrCASMismatch.
func CAS(n int) KVOption { return func(o *kvOptions) { o.cas, o.hasCAS = n, true } }

// KVSecret is one KV secret. Printing it with fmt or slog shows its keys and
// metadata, never its values.
type KVSecret struct {
	// Mount is the KV mount ("secret"), Path the secret's path inside it
	// ("myapp/config"), KVVersion the engine version (1 or 2).
	Mount     string
	Path      string
	KVVersion int
	// Data holds the secret's keys and values (printed, logged or
	// marshalled, it shows the keys only: see SecretData).
	Data SecretData
	// VersionMetadata describes this version (KV v2 only, else nil).
	VersionMetadata *VersionMetadata
	// CustomMetadata is the secret's custom metadata (KV v2 only).
	CustomMetadata map[string]string
	LeaseID        string
	LeaseDuration  time.Duration
	Renewable      bool
	Warnings       []string
	// Stale is set when the client's cache answered with an old value
	// because Vault could not be reached (see WithCache).
	Stale bool
}

// String shows the path, the version and the keys, never the values.
func (s *KVSecret) String() string {
	if s == nil {
		return "<nil>"
	}
	v := 0
	if s.VersionMetadata != nil {
		v = s.VersionMetadata.Version
	}
	return fmt.Sprintf("KVSecret{path=%s/%s kv=v%d version=%d keys=%v}", s.Mount, s.Path, s.KVVersion, v, keysOf(s.Data))
}

// Format makes every fmt verb print String.
func (s *KVSecret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// LogValue logs the path, the version and the keys.
func (s *KVSecret) LogValue() slog.Value {
	if s == nil {
		return slog.StringValue("<nil>")
	}
	attrs := []slog.Attr{slog.String("path", s.Mount+"/"+s.Path), slog.Any("keys", keysOf(s.Data))}
	if s.VersionMetadata != nil {
		attrs = append(attrs, slog.Int("version", s.VersionMetadata.Version))
	}
	return slog.GroupValue(attrs...)
}

// VersionMetadata describes one version of a KV v2 secret.
type VersionMetadata struct {
	Version      int       `json:"version"`
	CreatedTime  time.Time `json:"-"`
	DeletionTime time.Time `json:"-"` // zero when not deleted
	Destroyed    bool      `json:"destroyed"`
}

// KVMetadata is the metadata of a KV v2 secret and all its versions.
type KVMetadata struct {
	CurrentVersion     int
	OldestVersion      int
	MaxVersions        int
	CASRequired        bool
	DeleteVersionAfter string
	CreatedTime        time.Time
	UpdatedTime        time.Time
	CustomMetadata     map[string]string
	Versions           map[int]VersionMetadata
}

// MetadataInput is what PutMetadata writes. Nil fields are left unchanged.
type MetadataInput struct {
	CustomMetadata     map[string]string `json:"custom_metadata,omitempty"`
	MaxVersions        *int              `json:"max_versions,omitempty"`
	CASRequired        *bool             `json:"cas_required,omitempty"`
	DeleteVersionAfter string            `json:"delete_version_after,omitempty"`
}

// wireVersion is VersionMetadata as Vault sends it.
type wireVersion struct {
	Version        int               `json:"version"`
	CreatedTime    wireTime          `json:"created_time"`
	DeletionTime   wireTime          `json:"deletion_time"`
	Destroyed      bool              `json:"destroyed"`
	CustomMetadata map[string]string `json:"custom_metadata"`
}

func (w *wireVersion) metadata() *VersionMetadata {
	vm := new(VersionMetadata)
	w.fill(vm)
	return vm
}

func (w *wireVersion) fill(vm *VersionMetadata) {
	*vm = VersionMetadata{Version: w.Version, CreatedTime: time.Time(w.CreatedTime),
		DeletionTime: time.Time(w.DeletionTime), Destroyed: w.Destroyed}
}

// wireTime is a time Vault sends as an RFC 3339 string, "" for none. It
// decodes without making a string of it first (one allocation less per
// KV v2 read); like parseTime, it takes what does not parse as no time.
type wireTime time.Time

func (t *wireTime) UnmarshalJSON(b []byte) error {
	var tt time.Time
	if len(b) > 2 && b[0] == '"' && tt.UnmarshalJSON(b) != nil {
		tt = time.Time{}
	}
	*t = wireTime(tt)
	return nil
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// kvTarget is a user path resolved against its mount.
type kvTarget struct {
	mount   string // without slashes
	rest    string // the secret's path in the mount, may be "" (the root, for List)
	version int    // 1 or 2
}

// readPath is the API path that reads the secret.
func (t kvTarget) readPath() string {
	if t.version == 1 {
		return t.api("")
	}
	return t.api("data")
}

func (t kvTarget) api(part string) string {
	if t.version == 1 {
		return join(t.mount, t.rest)
	}
	return join(t.mount+"/"+part, t.rest)
}

func join(a, b string) string {
	if b == "" {
		return a
	}
	return a + "/" + b
}

// resolve finds the mount and KV version of path.
func (kv KV) resolve(ctx context.Context, path string, allowRoot bool) (kvTarget, error) {
	p, err := NormalizePath(path)
	if err != nil {
		return kvTarget{}, err
	}
	m, err := kv.c.mountFor(ctx, p)
	if err != nil {
		return kvTarget{}, err
	}
	t := m.target(p)
	if t.rest == "" && !allowRoot {
		return kvTarget{}, &PathError{Path: path, Problem: "names the mount " + m.path + "/ but no secret in it",
			Hint: "give the secret's path, e.g. " + m.path + "/myapp/config"}
	}
	return t, nil
}

// Get reads a secret (the latest version, or the one pinned with Version).
// A missing secret is ErrNotFound; a soft-deleted version ErrDeletedVersion;
// a destroyed one ErrDestroyedVersion. The secret is the caller's own: with
// WithCache it is a copy of the cached one (View and Field read the cached
// one without copying it).
func (kv KV) Get(ctx context.Context, path string, opts ...KVOption) (*KVSecret, error) {
	s, shared, stale, err := kv.read(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	if shared {
		s = s.Clone()
	}
	s.Stale = stale
	return s, nil
}

// read reads a secret through the client's cache, if it has one. shared
// reports a value the cache holds (every reader's: not to be modified);
// otherwise the secret was just fetched and is the caller's.
func (kv KV) read(ctx context.Context, path string, opts []KVOption) (s *KVSecret, shared, stale bool, err error) {
	if kv.c.shared.closed.Load() {
		return nil, false, false, ErrClosed
	}
	cs := kv.c.shared.caches
	if cs == nil {
		if s, ok, err := kv.guessRead(ctx, path, kvOpts(opts)); ok {
			return s, false, false, err
		}
	}
	if len(opts) == 0 {
		r, err := kv.route(ctx, path)
		if err != nil {
			return nil, false, false, err
		}
		if r.ref == nil {
			s, err := kv.get(ctx, r.t, r.api, kvOptions{})
			return s, false, false, err
		}
		if s, ok := r.ref.Peek(); ok {
			return s, true, false, nil
		}
		s, res, err := cs.kv.GetShared(ctx, r.key, r.fetch(kv))
		return s, err == nil, res.Stale, err
	}
	o := kvOpts(opts)
	t, err := kv.resolve(ctx, path, false)
	if err != nil {
		return nil, false, false, err
	}
	if cs == nil {
		s, err := kv.get(ctx, t, t.readPath(), o)
		return s, false, false, err
	}
	s, res, err := cs.kv.GetShared(ctx, kv.c.cacheKey(t.mount+"/"+t.rest, o.version),
		func(ctx context.Context) (*KVSecret, error) { return kv.get(ctx, t, t.readPath(), o) }, o.readOpts()...)
	return s, err == nil, res.Stale, err
}

// get reads a resolved secret from Vault at api, its read path.
func (kv KV) get(ctx context.Context, t kvTarget, api string, o kvOptions) (*KVSecret, error) {
	if t.version == 1 {
		if o.version != 0 {
			return nil, &ConfigError{Field: "version", Problem: "mount " + t.mount + "/ is KV version 1, which keeps no versions",
				Hint: "read without a version"}
		}
		var s Secret
		if err := kv.c.do(ctx, &request{method: http.MethodGet, path: api, noRefine: o.guess}, &s); err != nil {
			return nil, err
		}
		out := &KVSecret{Mount: t.mount, Path: t.rest, KVVersion: t.version}
		out.Data, out.LeaseID, out.Renewable, out.Warnings = s.Data, s.LeaseID, s.Renewable, s.Warnings
		out.LeaseDuration = s.LeaseTTL()
		return out, nil
	}
	var q url.Values
	if o.version > 0 {
		q = url.Values{"version": {strconv.Itoa(o.version)}}
	}
	// Vault's answer goes to a pooled kvWire (a cached secret does not keep
	// it alive); the secret and its version metadata are one allocation.
	w := wires.Get().(*kvWire)
	defer func() { *w = kvWire{}; wires.Put(w) }() // let go of what it points to
	if err := kv.c.do(ctx, &request{method: http.MethodGet, path: api, query: q, noRefine: o.guess}, w); err != nil {
		markDeleted(err)
		return nil, err
	}
	a := new(kvSecretAlloc)
	out := &a.secret
	*out = KVSecret{Mount: t.mount, Path: t.rest, KVVersion: t.version, Data: w.Data.Data,
		CustomMetadata: w.Data.Metadata.CustomMetadata, LeaseID: w.LeaseID, Renewable: w.Renewable, Warnings: w.Warnings,
		LeaseDuration: clampSeconds(w.LeaseDuration, 0), VersionMetadata: &a.version}
	if out.Data == nil {
		out.Data = map[string]any{}
	}
	w.Data.Metadata.fill(&a.version)
	return out, nil
}

// kvSecretAlloc is a KV v2 secret and its version metadata, allocated
// together.
type kvSecretAlloc struct {
	secret  KVSecret
	version VersionMetadata
}

// wires are the kvWires KV v2 reads decode into.
var wires = sync.Pool{New: func() any { return new(kvWire) }}

// kvWire is Vault's answer to a KV v2 read (decodeAnswer decodes the
// usual shape of it by hand).
type kvWire struct {
	LeaseID       string `json:"lease_id"`
	LeaseDuration int    `json:"lease_duration"`
	Renewable     bool   `json:"renewable"`
	Data          struct {
		Data     SecretData  `json:"data"`
		Metadata wireVersion `json:"metadata"`
	} `json:"data"`
	Warnings []string `json:"warnings"`
}

// guessRead reads a secret whose mount the client has not met yet, on a
// client without a cache (a one-shot read, such as the CLI's). The read
// would wait for the mount lookup (sys/internal/ui/mounts) before it could
// be sent; instead both go at once: the read as it is if the path's first
// segment is a KV v2 mount (the common layout: "secret/..."), and the
// lookup. The read's answer is used only when the lookup confirms the
// guess, which makes it the very request the client would have sent, and
// only when it succeeded (a failure is sent again, to be refined and
// retried as usual). Otherwise it is cancelled and forgotten, and the read
// goes on as usual (ok false). On a cached client a guess would go around
// the cache's shared fetch: never there.
func (kv KV) guessRead(ctx context.Context, path string, o kvOptions) (s *KVSecret, ok bool, err error) {
	p, err := NormalizePath(path)
	if err != nil {
		return nil, false, nil
	}
	if _, known := kv.c.shared.mounts.lookup(kv.c.namespace, p); known {
		return nil, false, nil
	}
	first, _, cut := strings.Cut(p, "/")
	if !cut {
		return nil, false, nil
	}
	guess := mountInfo{path: first, typ: "kv", version: 2}
	t := guess.target(p)
	if t.rest == "" {
		return nil, false, nil
	}
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		s   *KVSecret
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		o := o
		o.guess = true
		s, err := kv.get(gctx, t, t.readPath(), o)
		ch <- answer{s, err}
	}()
	m, err := kv.c.mountFor(ctx, p)
	if err != nil || m.path != guess.path || m.version != guess.version {
		cancel()
		<-ch
		return nil, err != nil, err
	}
	if a := <-ch; a.err == nil {
		return a.s, true, nil
	}
	return nil, false, nil
}

// markDeleted turns a KV v2 404 that carries version metadata into
// ErrDeletedVersion or ErrDestroyedVersion.
func markDeleted(err error) {
	var re *ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusNotFound || len(re.data) == 0 {
		return
	}
	var d struct {
		Metadata *struct {
			Version      int    `json:"version"`
			DeletionTime string `json:"deletion_time"`
			Destroyed    bool   `json:"destroyed"`
		} `json:"metadata"`
	}
	if json.Unmarshal(re.data, &d) != nil || d.Metadata == nil {
		return
	}
	v := strconv.Itoa(d.Metadata.Version)
	switch {
	case d.Metadata.Destroyed:
		re.setKind(ErrDestroyedVersion, ErrNotFound)
		re.Hint = "version " + v + " was destroyed and cannot be recovered; read another version"
	case d.Metadata.DeletionTime != "":
		re.setKind(ErrDeletedVersion, ErrNotFound)
		re.Hint = "version " + v + " was deleted; undelete it to read it again"
	}
}

func kvOpts(opts []KVOption) kvOptions {
	if len(opts) == 0 {
		return kvOptions{}
	}
	var o kvOptions
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}

// Put writes a new version of a secret (KV v2) or replaces it (KV v1). With
// CAS the write happens only if the current version matches. It returns the
// new version's metadata (zero for KV v1).
func (kv KV) Put(ctx context.Context, path string, data map[string]any, opts ...KVOption) (*VersionMetadata, error) {
	defer kv.c.InvalidateCache(path)
	return kv.write(ctx, http.MethodPost, path, data, opts)
}

// Patch merges data into the latest version of a KV v2 secret, creating a new
// version; keys set to nil are removed. KV v1 has no patch.
func (kv KV) Patch(ctx context.Context, path string, data map[string]any, opts ...KVOption) (*VersionMetadata, error) {
	defer kv.c.InvalidateCache(path)
	return kv.write(ctx, http.MethodPatch, path, data, opts)
}

func (kv KV) write(ctx context.Context, method, path string, data map[string]any, opts []KVOption) (*VersionMetadata, error) {
	o := kvOpts(opts)
	t, err := kv.resolve(ctx, path, false)
	if err != nil {
		return nil, err
	}
	if data == nil {
		data = map[string]any{}
	}
	if t.version == 1 {
		if method == http.MethodPatch || o.hasCAS {
			return nil, &ConfigError{Field: "kv version", Problem: "mount " + t.mount + "/ is KV version 1, which has no patch or check-and-set",
				Hint: "use Put without CAS, or a KV v2 mount"}
		}
		if err := kv.c.do(ctx, &request{method: method, path: t.api(""), body: data}, nil); err != nil {
			return nil, err
		}
		return &VersionMetadata{}, nil
	}
	body := map[string]any{"data": data}
	if o.hasCAS {
		body["options"] = map[string]any{"cas": o.cas}
	}
	// A check-and-set write may go twice: a second try of one that went
	// through fails with ErrCASMismatch instead of writing again.
	r := &request{method: method, path: t.api("data"), body: body, safe: o.hasCAS}
	if method == http.MethodPatch {
		r.contentType = "application/merge-patch+json"
	}
	var s struct {
		Data wireVersion `json:"data"`
	}
	if err := kv.c.do(ctx, r, &s); err != nil {
		return nil, err
	}
	return s.Data.metadata(), nil
}

// List lists the keys under a path (sub-folders end with "/").
func (kv KV) List(ctx context.Context, path string) ([]string, error) {
	t, err := kv.resolve(ctx, path, true)
	if err != nil {
		return nil, err
	}
	return kv.c.list(ctx, t.api("metadata"))
}

// Delete soft-deletes versions of a KV v2 secret (the latest when none are
// given), or deletes a KV v1 secret.
func (kv KV) Delete(ctx context.Context, path string, versions ...int) error {
	defer kv.c.InvalidateCache(path)
	t, err := kv.resolve(ctx, path, false)
	if err != nil {
		return err
	}
	switch {
	case t.version == 1:
		if len(versions) > 0 {
			return &ConfigError{Field: "versions", Problem: "mount " + t.mount + "/ is KV version 1, which keeps no versions"}
		}
		return kv.c.do(ctx, &request{method: http.MethodDelete, path: t.api("")}, nil)
	case len(versions) == 0:
		return kv.c.do(ctx, &request{method: http.MethodDelete, path: t.api("data")}, nil)
	default:
		return kv.c.do(ctx, &request{method: http.MethodPost, path: t.api("delete"), body: map[string]any{"versions": versions}, safe: true}, nil)
	}
}

// Undelete restores soft-deleted versions of a KV v2 secret.
func (kv KV) Undelete(ctx context.Context, path string, versions ...int) error {
	return kv.versionsOp(ctx, "undelete", http.MethodPost, path, versions)
}

// Destroy removes versions of a KV v2 secret for good.
func (kv KV) Destroy(ctx context.Context, path string, versions ...int) error {
	return kv.versionsOp(ctx, "destroy", http.MethodPut, path, versions)
}

func (kv KV) versionsOp(ctx context.Context, op, method, path string, versions []int) error {
	defer kv.c.InvalidateCache(path)
	if len(versions) == 0 {
		return &ConfigError{Field: "versions", Problem: op + " needs at least one version", Hint: "name the versions to " + op}
	}
	t, err := kv.v2(ctx, path, op)
	if err != nil {
		return err
	}
	return kv.c.do(ctx, &request{method: method, path: t.api(op), body: map[string]any{"versions": versions}, safe: true}, nil)
}

func (kv KV) v2(ctx context.Context, path, op string) (kvTarget, error) {
	t, err := kv.resolve(ctx, path, false)
	if err != nil {
		return t, err
	}
	if t.version != 2 {
		return t, &ConfigError{Field: "kv version", Problem: "mount " + t.mount + "/ is KV version 1, which has no " + op,
			Hint: "use a KV v2 mount"}
	}
	return t, nil
}

// Metadata reads the metadata of a KV v2 secret and all its versions.
func (kv KV) Metadata(ctx context.Context, path string) (*KVMetadata, error) {
	t, err := kv.v2(ctx, path, "metadata")
	if err != nil {
		return nil, err
	}
	var s struct {
		Data struct {
			CurrentVersion     int                    `json:"current_version"`
			OldestVersion      int                    `json:"oldest_version"`
			MaxVersions        int                    `json:"max_versions"`
			CASRequired        bool                   `json:"cas_required"`
			DeleteVersionAfter string                 `json:"delete_version_after"`
			CreatedTime        string                 `json:"created_time"`
			UpdatedTime        string                 `json:"updated_time"`
			CustomMetadata     map[string]string      `json:"custom_metadata"`
			Versions           map[string]wireVersion `json:"versions"`
		} `json:"data"`
	}
	if err := kv.c.do(ctx, &request{method: http.MethodGet, path: t.api("metadata")}, &s); err != nil {
		return nil, err
	}
	d := s.Data
	m := &KVMetadata{CurrentVersion: d.CurrentVersion, OldestVersion: d.OldestVersion, MaxVersions: d.MaxVersions,
		CASRequired: d.CASRequired, DeleteVersionAfter: d.DeleteVersionAfter, CreatedTime: parseTime(d.CreatedTime),
		UpdatedTime: parseTime(d.UpdatedTime), CustomMetadata: d.CustomMetadata, Versions: make(map[int]VersionMetadata, len(d.Versions))}
	for k, v := range d.Versions {
		n, err := strconv.Atoi(k)
		if err != nil {
			continue
		}
		v.Version = n
		m.Versions[n] = *v.metadata()
	}
	return m, nil
}

// PutMetadata writes the metadata of a KV v2 secret (custom metadata, max
// versions, check-and-set requirement, version expiry).
func (kv KV) PutMetadata(ctx context.Context, path string, in MetadataInput) error {
	defer kv.c.InvalidateCache(path)
	t, err := kv.v2(ctx, path, "metadata")
	if err != nil {
		return err
	}
	return kv.c.do(ctx, &request{method: http.MethodPost, path: t.api("metadata"), body: in, safe: true}, nil)
}

// DeleteMetadata removes a KV v2 secret with all its versions and metadata.
func (kv KV) DeleteMetadata(ctx context.Context, path string) error {
	defer kv.c.InvalidateCache(path)
	t, err := kv.v2(ctx, path, "metadata")
	if err != nil {
		return err
	}
	return kv.c.do(ctx, &request{method: http.MethodDelete, path: t.api("metadata")}, nil)
}

// routes remembers how each path a client read resolved, by the path
// string as the caller gave it: normalised, its mount found, its read path
// and cache key built, once. A repeated read of the same path (the common
// case: a program reads a few secrets again and again) goes straight to
// the cache or to the request. Routes are kept per client value (one
// namespace); they are only a memo of what NormalizePath and the mount
// cache would say, so the table is simply emptied when it grows past
// maxRoutes (a program that reads paths without end).
//
// Reads take no lock: they look in read, an immutable map published
// through an atomic pointer. New routes go to dirty (read's routes and the
// new ones, under mu), which becomes the next read once enough lookups
// missed read, as sync.Map once did; a plain map read is about half the
// cost of a sync.Map one, on the hot path of every read.
type routes struct {
	// recent holds routes by where their path string's bytes are: a
	// program that reads with a string constant, or a string it keeps,
	// passes the same bytes every time, and its route is then found with a
	// pointer comparison instead of hashing the path for the map (the
	// larger part of a cached field read's cost besides the clock).
	recent [64]atomic.Pointer[kvRoute]
	read   atomic.Pointer[map[string]*kvRoute]

	mu     sync.Mutex
	dirty  map[string]*kvRoute // nil: read has every route
	misses int
}

// maxRoutes bounds a client's routes (about 200 bytes each).
const maxRoutes = 16 << 10

// lookup finds path's route without the lock: in recent, else in the
// read map.
func (rt *routes) lookup(path string) *kvRoute {
	slot := &rt.recent[(uintptr(unsafe.Pointer(unsafe.StringData(path)))>>4^uintptr(len(path)))%uintptr(len(rt.recent))]
	if r := slot.Load(); r != nil && r.path == path { // same bytes: == sees equal pointers and compares no byte
		return r
	}
	if m := rt.read.Load(); m != nil {
		if r := (*m)[path]; r != nil {
			slot.Store(r)
			return r
		}
	}
	return nil
}

func (rt *routes) get(path string) *kvRoute {
	if r := rt.lookup(path); r != nil {
		return r
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.dirty == nil {
		return nil
	}
	r := rt.dirty[path]
	if rt.misses++; rt.misses >= len(rt.dirty)/4 {
		rt.publish()
	}
	return r
}

func (rt *routes) put(path string, r *kvRoute) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.dirty == nil {
		var old map[string]*kvRoute
		if m := rt.read.Load(); m != nil {
			old = *m
		}
		if len(old) >= maxRoutes {
			old = nil // start over
		}
		rt.dirty = make(map[string]*kvRoute, len(old)+1)
		for k, v := range old {
			rt.dirty[k] = v
		}
	}
	rt.dirty[path] = r
	if rt.read.Load() == nil {
		rt.publish() // the first route: readable at once
	}
}

// publish makes dirty the read map (under mu).
func (rt *routes) publish() {
	m := rt.dirty
	rt.read.Store(&m)
	rt.dirty, rt.misses = nil, 0
}

// kvRoute is a path resolved for reads of the latest version.
type kvRoute struct {
	path string // as the caller gave it
	t    kvTarget
	api  string // the read's API path: "secret/data/myapp/config"
	key  string // the cache key
	// ref is the cache's handle on key (nil without WithCache).
	ref *secretcache.Ref[*KVSecret]
}

// route resolves path for a read, from the client's routes when it was
// resolved before. A path that does not resolve is not remembered.
func (kv KV) route(ctx context.Context, path string) (*kvRoute, error) {
	if r := kv.c.routes.get(path); r != nil {
		return r, nil
	}
	t, err := kv.resolve(ctx, path, false)
	if err != nil {
		return nil, err
	}
	r := &kvRoute{path: path, t: t, api: t.readPath(), key: kv.c.cacheKey(t.mount+"/"+t.rest, 0)}
	if cs := kv.c.shared.caches; cs != nil {
		r.ref = cs.kv.Ref(r.key)
	}
	kv.c.routes.put(path, r)
	return r, nil
}

// fetch is the cache's fetch function for a read of r.
func (r *kvRoute) fetch(kv KV) func(context.Context) (*KVSecret, error) {
	return func(ctx context.Context) (*KVSecret, error) { return kv.get(ctx, r.t, r.api, kvOptions{}) }
}

// mountInfo is a secrets engine mount.
type mountInfo struct {
	path    string // "secret", "team/kv"
	typ     string
	version int
}

// target resolves p, a normalised path inside the mount, in either form.
func (m mountInfo) target(p string) kvTarget {
	t := kvTarget{mount: m.path, version: m.version}
	t.rest = strings.TrimPrefix(strings.TrimPrefix(p, m.path), "/")
	if m.version == 2 {
		for _, part := range [...]string{"data", "metadata"} {
			if t.rest == part {
				t.rest = ""
				break
			} else if strings.HasPrefix(t.rest, part+"/") {
				t.rest = t.rest[len(part)+1:]
				break
			}
		}
	}
	return t
}

// mountCache remembers mounts per namespace.
type mountCache struct {
	mu sync.RWMutex
	m  map[mountKey]mountInfo
}

type mountKey struct{ ns, path string }

func (mc *mountCache) lookup(ns, p string) (mountInfo, bool) {
	mc.mu.RLock()
	defer mc.mu.RUnlock()
	if len(mc.m) == 0 {
		return mountInfo{}, false
	}
	// Vault refuses a mount inside another mount, so the shortest prefix
	// that is a mount is the mount: try the shortest first.
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == '/' {
			if m, ok := mc.m[mountKey{ns, p[:i]}]; ok {
				return m, true
			}
		}
	}
	return mountInfo{}, false
}

func (mc *mountCache) store(ns string, m mountInfo) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if mc.m == nil {
		mc.m = make(map[mountKey]mountInfo)
	}
	mc.m[mountKey{ns, m.path}] = m
}

// mountFor finds the KV mount that holds p, asking Vault once per mount:
// concurrent callers share one lookup, each bounded by its own context.
func (c *Client) mountFor(ctx context.Context, p string) (mountInfo, error) {
	if m, ok := c.shared.mounts.lookup(c.namespace, p); ok {
		return m, nil
	}
	ch := c.shared.mountFlight.DoChan(c.namespace+"\x00"+p, func() (any, error) {
		if m, ok := c.shared.mounts.lookup(c.namespace, p); ok {
			return m, nil
		}
		return c.lookupMount(context.WithoutCancel(ctx), p)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return mountInfo{}, r.Err
		}
		return r.Val.(mountInfo), nil
	case <-ctx.Done():
		return mountInfo{}, &ConnectionError{Method: http.MethodGet, Address: c.address, Path: "sys/internal/ui/mounts/" + p, Err: ctx.Err()}
	}
}

// lookupMount asks Vault which mount holds p and remembers it.
func (c *Client) lookupMount(ctx context.Context, p string) (mountInfo, error) {
	var s struct {
		Data struct {
			Path    string            `json:"path"`
			Type    string            `json:"type"`
			Options map[string]string `json:"options"`
		} `json:"data"`
	}
	lookup := "sys/internal/ui/mounts/" + p
	err := c.do(ctx, &request{method: http.MethodGet, path: lookup}, &s)
	var re *ResponseError
	if err != nil && (!errors.As(err, &re) || re.Path != lookup) {
		return mountInfo{}, err // not the lookup's answer (a failed login, say)
	}
	switch {
	case err == nil:
	case errors.As(err, &re) && re.StatusCode == http.StatusForbidden && !errors.Is(err, ErrInvalidToken):
		// Some policies hide the mount table: assume the first segment is a
		// KV v2 mount, the common case.
		first, _, _ := strings.Cut(p, "/")
		m := mountInfo{path: first, typ: "kv", version: 2}
		c.shared.mounts.store(c.namespace, m)
		return m, nil
	case errors.As(err, &re) && re.StatusCode == http.StatusBadRequest, errors.Is(err, ErrNotFound):
		if re != nil {
			re.setKind(ErrNotFound)
			re.Hint = "no secrets engine is mounted at " + p + "; list mounts with `vault secrets list`"
		}
		return mountInfo{}, err
	default:
		return mountInfo{}, err
	}
	m := mountInfo{path: strings.Trim(s.Data.Path, "/"), typ: s.Data.Type, version: 1}
	if s.Data.Options["version"] == "2" {
		m.version = 2
	}
	if m.path == "" {
		return mountInfo{}, &PathError{Path: p, Problem: "no secrets engine is mounted there", Hint: "list mounts with `vault secrets list`"}
	}
	if m.typ != "kv" && m.typ != "generic" {
		return mountInfo{}, &PathError{Path: p, Problem: "mount " + m.path + "/ is a " + m.typ + " engine, not KV",
			Hint: "use Client.Read/Write for other engines"}
	}
	c.shared.mounts.store(c.namespace, m)
	return m, nil
}

// Clone returns a deep copy: mutating it never changes s (or a cache that
// holds s).
func (s *KVSecret) Clone() *KVSecret {
	if s == nil {
		return nil
	}
	cp := *s
	cp.Data = cloneMap(s.Data)
	if s.VersionMetadata != nil {
		vm := *s.VersionMetadata
		cp.VersionMetadata = &vm
	}
	cp.CustomMetadata = maps.Clone(s.CustomMetadata)
	cp.Warnings = slices.Clone(s.Warnings)
	return &cp
}

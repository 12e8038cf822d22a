package gdsvault

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
)

// Field reads one key of a KV secret: c.KV().Field.
func (c *Client) Field(ctx context.Context, path, key string, opts ...KVOption) (any, error) {
	return c.KV().Field(ctx, path, key, opts...)
}

// View reads a KV secret without copying it: c.KV().View.
func (c *Client) View(ctx context.Context, path string, opts ...KVOption) (SecretView, error) {
	return c.KV().View(ctx, path, opts...)
}

// Field reads the value of one key of a KV secret, as Get would read the
// secret (same paths, options, errors, cache), but without copying the
// secret: on a client built WithCache, reading a field of a cached secret
// allocates nothing and takes no lock, for a string, number, bool or null
// value. A nested value (a JSON object or array) is copied, so the cache
// never hands out something the caller could change. A key the secret does
// not have is a *FieldError, which matches ErrKeyNotFound and ErrNotFound.
//
// The value is what the caller asked for, so it is not redacted: keep it out
// of logs.
func (kv KV) Field(ctx context.Context, path, key string, opts ...KVOption) (any, error) {
	// The hot path, spelt out: a path read before, a fresh cached secret,
	// a plain value.
	if len(opts) == 0 {
		if r := kv.c.routes.lookup(path); r != nil && r.ref != nil && !kv.c.shared.closed.Load() {
			if s, ok := r.ref.Peek(); ok {
				if x, ok := s.Data[key]; ok && !nested(x) {
					return x, nil
				}
			}
		}
	}
	v, err := kv.View(ctx, path, opts...)
	if err != nil {
		return nil, err
	}
	x, ok := v.Get(key)
	if !ok {
		return nil, &FieldError{Path: path, Key: key, Keys: v.Keys()}
	}
	return x, nil
}

// View reads a KV secret, as Get does, and returns a read-only view of it
// instead of a copy: on a client built WithCache, the view reads the cached
// secret itself, so taking a view of a cached secret allocates nothing. The
// view stays valid (and unchanged) after the cache refreshes or drops the
// secret; it is safe for concurrent use.
func (kv KV) View(ctx context.Context, path string, opts ...KVOption) (SecretView, error) {
	s, _, stale, err := kv.read(ctx, path, opts)
	if err != nil {
		return SecretView{}, err
	}
	return SecretView{s: s, stale: stale}, nil
}

// SecretView is a read-only view of a KV secret (KV.View). Its accessors
// return the secret's values; printed with fmt (any verb), logged with slog
// or encoded with encoding/json, it shows the path and the keys, never a
// value, like KVSecret. The zero SecretView is an empty secret.
type SecretView struct {
	s     *KVSecret // shared with the cache: never modified
	stale bool
}

// Get returns the value of key and whether the secret has it. A string,
// number (float64), bool or nil comes as it is; a nested object or array is
// a copy.
func (v SecretView) Get(key string) (any, bool) {
	if v.s == nil {
		return nil, false
	}
	x, ok := v.s.Data[key]
	if nested(x) {
		return cloneValue(x), ok
	}
	return x, ok
}

// nested reports a value that cloneValue copies (a JSON object or array).
func nested(x any) bool {
	switch x.(type) {
	case map[string]any, []any, []string, map[string]string:
		return true
	}
	return false
}

// GetString returns the value of key when it is a string; ok is false when
// the secret has no such key or its value is not a string.
func (v SecretView) GetString(key string) (s string, ok bool) {
	if v.s == nil {
		return "", false
	}
	s, ok = v.s.Data[key].(string)
	return s, ok
}

// Has reports whether the secret has key.
func (v SecretView) Has(key string) bool {
	if v.s == nil {
		return false
	}
	_, ok := v.s.Data[key]
	return ok
}

// Len is the number of keys.
func (v SecretView) Len() int {
	if v.s == nil {
		return 0
	}
	return len(v.s.Data)
}

// Keys returns the keys, sorted.
func (v SecretView) Keys() []string {
	if v.s == nil {
		return []string{}
	}
	return keysOf(v.s.Data)
}

// Mount is the KV mount ("secret").
func (v SecretView) Mount() string {
	if v.s == nil {
		return ""
	}
	return v.s.Mount
}

// Path is the secret's path in its mount ("myapp/config").
func (v SecretView) Path() string {
	if v.s == nil {
		return ""
	}
	return v.s.Path
}

// Version is the KV v2 version read (0 for KV v1).
func (v SecretView) Version() int {
	if v.s == nil || v.s.VersionMetadata == nil {
		return 0
	}
	return v.s.VersionMetadata.Version
}

// Stale reports that the client's cache answered with an old value because
// Vault could not be reached (see WithCache).
func (v SecretView) Stale() bool { return v.stale }

// Secret returns a copy of the whole secret, as Get would: the caller's to
// change.
func (v SecretView) Secret() *KVSecret {
	if v.s == nil {
		return nil
	}
	s := v.s.Clone()
	s.Stale = v.stale
	return s
}

// String shows the path, the version and the keys, never the values.
func (v SecretView) String() string {
	if v.s == nil {
		return "SecretView{}"
	}
	var b strings.Builder
	b.WriteString("SecretView{path=")
	b.WriteString(v.s.Mount + "/" + v.s.Path)
	fmt.Fprintf(&b, " version=%d keys=%v", v.Version(), keysOf(v.s.Data))
	if v.stale {
		b.WriteString(" stale")
	}
	b.WriteByte('}')
	return b.String()
}

// Format makes every fmt verb print String.
func (v SecretView) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(v.String())) }

// LogValue logs the path, the version and the keys.
func (v SecretView) LogValue() slog.Value {
	if v.s == nil {
		return slog.GroupValue()
	}
	return slog.GroupValue(slog.String("path", v.s.Mount+"/"+v.s.Path), slog.Int("version", v.Version()),
		slog.Any("keys", keysOf(v.s.Data)))
}

// MarshalJSON writes the path, the version and the keys with the value
// "[redacted]" (to encode the values on purpose, encode
// map[string]any(v.Secret().Data)).
func (v SecretView) MarshalJSON() ([]byte, error) {
	if v.s == nil {
		return []byte("null"), nil
	}
	return json.Marshal(struct {
		Path    string     `json:"path"`
		Version int        `json:"version"`
		Data    SecretData `json:"data"`
		Stale   bool       `json:"stale,omitempty"`
	}{v.s.Mount + "/" + v.s.Path, v.Version(), v.s.Data, v.stale})
}

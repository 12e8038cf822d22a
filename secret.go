package gdsvault

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// Secret is Vault's answer to a generic read or write. Printing it with fmt or
// slog shows its keys, never its values.
type Secret struct {
	RequestID     string     `json:"request_id"`
	LeaseID       string     `json:"lease_id"`
	LeaseDuration int        `json:"lease_duration"`
	Renewable     bool       `json:"renewable"`
	Data          SecretData `json:"data"`
	Warnings      []string   `json:"warnings"`
	Auth          *Auth      `json:"auth"`
	WrapInfo      *WrapInfo  `json:"wrap_info"`
	// Stale is set when the client's cache answered with an old value
	// because Vault could not be reached (see WithCache).
	Stale bool `json:"-"`
}

// LeaseTTL is the lease duration as a time.Duration (a negative value from
// the server counts as 0, more than ten years as MaxSaneTTL).
func (s *Secret) LeaseTTL() time.Duration { return clampSeconds(s.LeaseDuration, 0) }

// String shows the lease and the data's keys, not their values.
func (s *Secret) String() string {
	if s == nil {
		return "<nil>"
	}
	return fmt.Sprintf("Secret{lease_id=%q lease_duration=%d renewable=%t keys=%v auth=%t}",
		s.LeaseID, s.LeaseDuration, s.Renewable, keysOf(s.Data), s.Auth != nil)
}

// Format makes every fmt verb print String.
func (s *Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// LogValue logs the keys, not the values.
func (s *Secret) LogValue() slog.Value {
	if s == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.String("lease_id", s.LeaseID), slog.Int("lease_duration", s.LeaseDuration),
		slog.Any("keys", keysOf(s.Data)))
}

// SecretData holds a secret's keys and values. It is a plain map (index it,
// range over it, pass it where a map[string]any is wanted), but every
// printed form shows the keys only: fmt (every verb, also as a field of a
// struct printed by value or inside a slice or map), slog (text and JSON)
// and json.Marshal write "[redacted]" for each value. To encode the values
// on purpose, convert: json.Marshal(map[string]any(s.Data)).
type SecretData map[string]any

// String lists the keys with redacted values.
func (d SecretData) String() string {
	if d == nil {
		return "map[]"
	}
	var b strings.Builder
	b.WriteString("map[")
	for i, k := range keysOf(d) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteString(":" + redacted)
	}
	b.WriteByte(']')
	return b.String()
}

// Format makes every fmt verb print String.
func (d SecretData) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(d.String())) }

// LogValue logs each key with a redacted value.
func (d SecretData) LogValue() slog.Value {
	ks := keysOf(d)
	attrs := make([]slog.Attr, len(ks))
	for i, k := range ks {
		attrs[i] = slog.String(k, redacted)
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON writes each key with the value "[redacted]".
func (d SecretData) MarshalJSON() ([]byte, error) {
	if d == nil {
		return []byte("null"), nil
	}
	m := make(map[string]string, len(d))
	for k := range d {
		m[k] = redacted
	}
	return json.Marshal(m)
}

// UnmarshalJSON decodes a JSON object into d (merging into d when it is
// not nil, as encoding/json does for maps; null makes d nil), to the same
// result as encoding/json's own decoding of a map[string]any. A flat
// object, what a secret's data nearly always is (keys and text values
// without escapes, numbers, booleans, nulls), is decoded by hand: one
// string holds every key and text value, and nothing goes through
// reflection, which makes a KV read about ten allocations lighter.
// Anything else goes to encoding/json.
func (d *SecretData) UnmarshalJSON(b []byte) error {
	m, ok := decodeFlat(b)
	if !ok {
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
	}
	switch {
	case m == nil:
		*d = nil
	case *d == nil:
		*d = m
	default:
		maps.Copy(*d, m)
	}
	return nil
}

// WrapInfo describes a response-wrapping token.
type WrapInfo struct {
	Token           Token     `json:"token"`
	Accessor        string    `json:"accessor"`
	TTL             int       `json:"ttl"`
	CreationTime    time.Time `json:"creation_time"`
	CreationPath    string    `json:"creation_path"`
	WrappedAccessor string    `json:"wrapped_accessor"`
}

func keysOf(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Read reads any path (a transit key, a PKI role, database credentials...).
// The path may carry a query ("secret/data/x?version=2"). A path with
// nothing at it gives ErrNotFound, never a nil Secret.
func (c *Client) Read(ctx context.Context, path string) (*Secret, error) {
	p, q, err := splitQuery(path)
	if err != nil {
		return nil, err
	}
	if p, err = NormalizePath(p); err != nil {
		return nil, err
	}
	return c.cachedRead(ctx, p, &request{method: http.MethodGet, path: p, query: q})
}

// Write writes data to any path and returns Vault's answer (an empty Secret
// when Vault answers 204).
func (c *Client) Write(ctx context.Context, path string, data map[string]any) (*Secret, error) {
	defer c.InvalidateCache(path)
	return c.send2(ctx, http.MethodPost, path, data)
}

// Do sends any method (GET, POST, PUT, PATCH, DELETE) with a JSON body to a
// path, for what Read, Write, List and Delete do not cover.
func (c *Client) Do(ctx context.Context, method, path string, body any) (*Secret, error) {
	return c.send2(ctx, strings.ToUpper(method), path, body)
}

func (c *Client) send2(ctx context.Context, method, path string, body any) (*Secret, error) {
	p, q, err := splitQuery(path)
	if err != nil {
		return nil, err
	}
	if p, err = NormalizePath(p); err != nil {
		return nil, err
	}
	r := &request{method: method, path: p, query: q, body: body}
	if method == http.MethodPatch {
		r.contentType = "application/merge-patch+json"
	}
	var s Secret
	if err := c.do(ctx, r, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// List lists the keys under a path. Nothing there gives ErrNotFound.
func (c *Client) List(ctx context.Context, path string) ([]string, error) {
	p, err := NormalizePath(path)
	if err != nil {
		return nil, err
	}
	return c.list(ctx, p)
}

func (c *Client) list(ctx context.Context, p string) ([]string, error) {
	var s struct {
		Data struct {
			Keys []string `json:"keys"`
		} `json:"data"`
	}
	if err := c.do(ctx, &request{method: http.MethodGet, path: p, query: url.Values{"list": {"true"}}}, &s); err != nil {
		return nil, err
	}
	return s.Data.Keys, nil
}

// Delete deletes a path.
func (c *Client) Delete(ctx context.Context, path string) error {
	defer c.InvalidateCache(path)
	p, q, err := splitQuery(path)
	if err != nil {
		return err
	}
	if p, err = NormalizePath(p); err != nil {
		return err
	}
	return c.do(ctx, &request{method: http.MethodDelete, path: p, query: q}, nil)
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	flat := true
	for _, v := range m {
		switch v.(type) {
		case map[string]any, []any, []string, map[string]string:
			flat = false
		}
	}
	if flat { // JSON scalars only: a shallow copy is a deep one
		return maps.Clone(m)
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	case []string:
		return slices.Clone(x)
	case map[string]string:
		return maps.Clone(x)
	default:
		return v // JSON scalars: string, float64, bool, json.Number, nil
	}
}

// Clone returns a deep copy of s.
func (s *Secret) Clone() *Secret {
	if s == nil {
		return nil
	}
	cp := *s
	cp.Data = cloneMap(s.Data)
	cp.Warnings = slices.Clone(s.Warnings)
	if s.Auth != nil {
		a := *s.Auth
		a.Policies, a.TokenPolicies, a.Metadata = slices.Clone(a.Policies), slices.Clone(a.TokenPolicies), maps.Clone(a.Metadata)
		cp.Auth = &a
	}
	if s.WrapInfo != nil {
		w := *s.WrapInfo
		cp.WrapInfo = &w
	}
	return &cp
}

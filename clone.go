package gdsvault

import (
	"context"
	"errors"
	"maps"
	"slices"
)

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

// IsTransient reports whether err may go away by itself, so that retrying,
// or serving a cached value meanwhile, makes sense: no answer from Vault
// (connection refused or reset, timeout, an answer cut off), 412, 429, 500,
// 502, 503 (sealed, standby) and 504. Authentication, authorization,
// not-found, bad-request, configuration and certificate errors are not
// transient; neither is a cancelled context.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, ErrCertificate) {
		return false
	}
	var re *ResponseError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case 412, 429, 500, 502, 503, 504:
			return true
		}
		return false
	}
	return errors.Is(err, ErrConnection) || errors.Is(err, ErrCircuitOpen)
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

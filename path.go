package gdsvault

import (
	"errors"
	"strings"
	"unicode"
)

// ErrInvalidPath is matched by every *PathError.
var ErrInvalidPath = errors.New("invalid path")

// PathError reports a secret path that cannot be sent to Vault.
type PathError struct {
	Path    string
	Problem string
	Hint    string
}

func (e *PathError) Error() string {
	if e.Path == "" {
		return "gdsvault: invalid path: " + e.Problem
	}
	s := "gdsvault: invalid path " + quoteShort(e.Path) + ": " + e.Problem
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Is matches ErrInvalidPath.
func (e *PathError) Is(target error) bool { return target == ErrInvalidPath }

// NormalizePath trims surrounding slashes and spaces and a leading "v1/",
// and rejects what Vault cannot take: an empty path, empty, "." or ".."
// segments, control characters.
func NormalizePath(p string) (string, error) {
	if plainPath(p) {
		return p, nil // the common case: nothing to trim or check further
	}
	orig := p
	edge := func(r rune) bool { return r == '/' || unicode.IsSpace(r) }
	p = strings.TrimFunc(p, edge)
	if strings.HasPrefix(p, "v1/") {
		p = strings.TrimFunc(p[len("v1/"):], edge)
	}
	if p == "" {
		return "", &PathError{Path: orig, Problem: "is empty", Hint: "give a path such as secret/myapp/config"}
	}
	for _, r := range p {
		if unicode.IsControl(r) || r == unicode.ReplacementChar || r == '?' || r == '#' {
			return "", &PathError{Path: orig, Problem: "contains a control character, '?' or '#'"}
		}
	}
	start := 0
	for i := 0; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		switch p[start:i] {
		case "":
			return "", &PathError{Path: orig, Problem: "has an empty segment (//)", Hint: "remove the doubled slash"}
		case ".", "..":
			return "", &PathError{Path: orig, Problem: "has a '.' or '..' segment", Hint: "give the path without relative segments"}
		}
		start = i + 1
	}
	return p, nil
}

// plainPath reports whether p is already normal: printable ASCII without
// space, '?' or '#', no slash at either end, no "v1/" prefix, and no empty,
// "." or ".." segment.
func plainPath(p string) bool {
	if p == "" || p[0] == '/' || p[len(p)-1] == '/' || strings.HasPrefix(p, "v1/") {
		return false
	}
	start := 0
	for i := 0; i <= len(p); i++ {
		if i < len(p) {
			b := p[i]
			if b <= ' ' || b > '~' || b == '?' || b == '#' {
				return false
			}
			if b != '/' {
				continue
			}
		}
		if seg := p[start:i]; seg == "" || seg == "." || seg == ".." {
			return false
		}
		start = i + 1
	}
	return true
}

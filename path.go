package gdsvault

import (
	"net/url"
	"strings"
	"unicode"
)

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

// splitQuery separates "path?x=y" into the path and its query.
func splitQuery(p string) (string, url.Values, error) {
	i := strings.IndexByte(p, '?')
	if i < 0 {
		return p, nil, nil
	}
	q, err := url.ParseQuery(p[i+1:])
	if err != nil {
		return "", nil, &PathError{Path: p, Problem: "bad query: " + errText(err)}
	}
	return p[:i], q, nil
}

// escapePath escapes each segment of an API path, without allocating when
// nothing needs escaping.
func escapePath(p string) string {
	for i := 0; i < len(p); i++ {
		if !pathSafe(p[i]) {
			segs := strings.Split(p, "/")
			for j, s := range segs {
				segs[j] = url.PathEscape(s)
			}
			return strings.Join(segs, "/")
		}
	}
	return p
}

func pathSafe(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
		b == '/' || b == '-' || b == '_' || b == '.' || b == '~' || b == '@' || b == ':' || b == '+' || b == '='
}

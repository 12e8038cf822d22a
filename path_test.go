package gdsvault

import (
	"errors"
	"strings"
	"testing"
)

func TestEscapePath(t *testing.T) {
	for in, want := range map[string]string{
		"secret/data/myapp/config": "secret/data/myapp/config",
		"secret/data/my app":       "secret/data/my%20app",
		"secret/data/a%b":          "secret/data/a%25b",
		"auth/token/lookup-self":   "auth/token/lookup-self",
	} {
		if got := escapePath(in); got != want {
			t.Errorf("escapePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizePath(t *testing.T) {
	for in, want := range map[string]string{
		"secret/data/myapp/config":   "secret/data/myapp/config",
		"/secret/myapp/config/":      "secret/myapp/config",
		" v1/secret/x ":              "secret/x",
		"/v1/secret/x":               "secret/x",
		"secret/ünïcode/ok":          "secret/ünïcode/ok",
		"secret/with space/is fine ": "secret/with space/is fine",
	} {
		got, err := NormalizePath(in)
		if err != nil || got != want {
			t.Errorf("NormalizePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "/", "  ", "a//b", "a/./b", "a/../b", "..", "a/b?x=1", "a\x00b", "a\nb", "a#b", "\xff"} {
		if _, err := NormalizePath(in); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("NormalizePath(%q) err = %v, want ErrInvalidPath", in, err)
		}
	}
}

func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"secret/data/myapp/config", "/a/b/", "a//b", "../x", "v1/x", "\x00", "a b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := NormalizePath(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("error %v is not ErrInvalidPath", err)
			}
			return
		}
		if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//") {
			t.Fatalf("NormalizePath(%q) = %q: bad shape", in, p)
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("NormalizePath(%q) = %q keeps a relative segment", in, p)
			}
		}
		if again, err := NormalizePath(p); err != nil && !strings.HasPrefix(p, "v1/") || err == nil && again != p && !strings.HasPrefix(p, "v1/") {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, p, again, err)
		}
		if plainPath(in) && p != in {
			t.Fatalf("plainPath(%q) but NormalizePath changed it to %q", in, p)
		}
		if esc := escapePath(p); strings.ContainsAny(esc, " ?#") {
			t.Fatalf("escapePath(%q) = %q keeps a character a URL path cannot hold", p, esc)
		}
	})
}

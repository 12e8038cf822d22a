package gdsvault

import (
	"errors"
	"testing"
)

func TestCleanMountPath(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"gcp", "gcp"},
		{"/team-a/gcp/", "team-a/gcp"},
		{"  azure  ", "azure"},
		{"auth/approle", "approle"},
		{"/auth/ci/gitlab/", "ci/gitlab"},
		{"a.b/c_d", "a.b/c_d"},
		{"...", "..."},
	} {
		got, err := CleanMountPath("gcp", tt.in)
		if err != nil || got != tt.want {
			t.Errorf("CleanMountPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", " / ", "//", "auth/", "a//b", "a/../b", "../sys", "./a", "a b", "a\tb", "gcp?x=1", "a#b", "a%2fb", `a\b`} {
		got, err := CleanMountPath("azure", in)
		var ce *ConfigError
		if got != "" || !errors.As(err, &ce) || ce.Field != "azure mount path" || ce.Hint == "" {
			t.Errorf("CleanMountPath(%q) = %q, %v", in, got, err)
		}
	}
}

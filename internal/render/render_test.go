package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func source(reads map[string]int, data map[string]map[string]any) Source {
	return SourceFunc(func(_ context.Context, path string) (map[string]any, error) {
		reads[path]++
		m, ok := data[path]
		if !ok {
			return nil, errors.New("not found")
		}
		return m, nil
	})
}

func TestExecute(t *testing.T) {
	data := map[string]map[string]any{
		"secret/app":        {"db_pass": "p@ss", "port": 5432.0, "nested": map[string]any{"a": 1.0}},
		"database/creds/db": {"username": "v-user", "password": "v-pass"},
	}
	reads := map[string]int{}
	tp, err := Parse("app.tmpl", `pass={{ secret "secret/app" "db_pass" }} port={{ secret "secret/app" "port" }} nested={{ secret "secret/app" "nested" }}
{{ with secretMap "database/creds/db" }}{{ .username }}:{{ .password }}{{ end }} {{ range $k, $v := secretMap "secret/app" }}{{ $k }} {{ end }}`)
	if err != nil {
		t.Fatal(err)
	}
	out, paths, err := tp.Execute(context.Background(), source(reads, data))
	if err != nil {
		t.Fatal(err)
	}
	want := "pass=p@ss port=5432 nested={\"a\":1}\nv-user:v-pass db_pass nested port "
	if string(out) != want {
		t.Errorf("out = %q, want %q", out, want)
	}
	if reads["secret/app"] != 1 || reads["database/creds/db"] != 1 {
		t.Errorf("each path must be read once per render: %v", reads)
	}
	if strings.Join(paths, ",") != "database/creds/db,secret/app" {
		t.Errorf("paths = %v", paths)
	}
}

func TestExecuteErrors(t *testing.T) {
	data := map[string]map[string]any{"secret/app": {"a": "SECRETVALUE", "b": "x"}}
	for _, tc := range []struct{ text, want string }{
		{`{{ secret "secret/app" "nope" }}`, `secret "secret/app" has no key "nope" (keys: a, b)`},
		{`{{ secret "secret/none" "a" }}`, `secret "secret/none": not found`},
		{`{{ (secretMap "secret/app").nope }}`, `map has no entry for key "nope"`},
	} {
		tp, err := Parse("t.tmpl", tc.text)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = tp.Execute(context.Background(), source(map[string]int{}, data))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "t.tmpl") || strings.Contains(err.Error(), "SECRETVALUE") {
			t.Errorf("%s: %v, want %q naming the template and no value", tc.text, err, tc.want)
		}
	}
	if _, err := Parse("bad.tmpl", "line1\n{{ secrett \"x\" }}"); err == nil || !strings.Contains(err.Error(), `bad.tmpl:2: function "secrett" not defined`) {
		t.Errorf("parse error: %v", err)
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.conf")
	changed, err := WriteFile(p, []byte("one"), 0o640)
	if err != nil || !changed {
		t.Fatal(changed, err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", fi.Mode())
	}
	ino := inode(t, p)
	if changed, err := WriteFile(p, []byte("one"), 0o640); err != nil || changed {
		t.Errorf("same content rewritten: %v %v", changed, err)
	}
	if inode(t, p) != ino {
		t.Error("same content: the file was replaced")
	}
	if changed, err := WriteFile(p, []byte("two"), 0o640); err != nil || !changed {
		t.Errorf("new content: %v %v", changed, err)
	}
	if inode(t, p) == ino {
		t.Error("new content was not renamed into place")
	}
	if changed, _ := WriteFile(p, []byte("two"), 0o600); !changed {
		t.Error("a new mode must rewrite")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	if b, _ := os.ReadFile(p); string(b) != "two" {
		t.Errorf("content %q", b)
	}
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	os.Mkdir(filepath.Join(dir, "sub"), 0o700)
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "missing", "x.conf"), "does not exist: create it"},
		{filepath.Join(file, "x.conf"), "is not a directory"},
		{filepath.Join(dir, "sub"), "is not a regular file"},
	} {
		if err := CheckWritable(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.path, err, tc.want)
		}
	}
	if err := CheckWritable(filepath.Join(dir, "ok.conf")); err != nil {
		t.Error(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("CheckWritable left files: %v", entries)
	}
}

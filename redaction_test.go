package gdsvault

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestTokenNeverPrints(t *testing.T) {
	const v = "hvs.CAESIsupersecret"
	tok := NewToken(v)
	a := &Auth{ClientToken: tok, Accessor: "acc", Policies: []string{"default"}}
	w := &WrapInfo{Token: tok}
	j, _ := json.Marshal(a)
	var logged bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&logged, nil))
	l.Info("x", "token", tok, "auth", a, "wrap", w)
	l.Info("y", slog.Any("token", tok))
	outs := []string{
		tok.String(), tok.GoString(), fmt.Sprint(tok), fmt.Sprintf("%v %+v %#v %s %q %x %d", tok, tok, tok, tok, tok, tok, tok),
		fmt.Sprintf("%v %+v %#v", a, a, *a), fmt.Sprintf("%+v %#v", w, *w), string(j), logged.String(),
	}
	for _, o := range outs {
		if strings.Contains(o, v) || strings.Contains(o, "supersecret") {
			t.Errorf("token leaked: %s", o)
		}
	}
	if tok.Reveal() != v {
		t.Error("Reveal lost the value")
	}
	var back Token
	if err := json.Unmarshal([]byte(`"`+v+`"`), &back); err != nil || back.Reveal() != v {
		t.Errorf("UnmarshalJSON: %v", err)
	}
	if NewToken("").String() != "" || !NewToken("").IsZero() {
		t.Error("empty token")
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	s := &KVSecret{Mount: "secret", Path: "myapp/config", KVVersion: 2, Data: map[string]any{"db_pass": "secret123"},
		VersionMetadata: &VersionMetadata{Version: 3}}
	g := &Secret{Data: map[string]any{"password": "secret123"}, Auth: &Auth{ClientToken: NewToken("secret123")}}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("read", "secret", s, "generic", g)
	for _, o := range []string{fmt.Sprint(s), fmt.Sprintf("%+v %#v %s", s, s, s), fmt.Sprint(g), fmt.Sprintf("%+v %#v", g, g), logged.String()} {
		if strings.Contains(o, "secret123") {
			t.Errorf("secret value printed: %s", o)
		}
		if !strings.Contains(o, "db_pass") && !strings.Contains(o, "password") {
			t.Errorf("printed form should still name the keys: %s", o)
		}
	}
}

// TestSecretsNeverPrintByValueOrInContainers: values, pointers, slices,
// maps and structs holding secrets, through fmt, slog text and JSON, and
// json.Marshal.
func TestSecretsNeverPrintByValueOrInContainers(t *testing.T) {
	const v = "s3cr3t-value"
	kv := &KVSecret{Mount: "secret", Path: "app", KVVersion: 2, Data: map[string]any{"db_pass": v, "nested": map[string]any{"k": v}}}
	g := &Secret{LeaseID: "database/creds/app/xyz", Data: map[string]any{"password": v}}
	type holder struct {
		Name   string
		Secret Secret
		KV     *KVSecret
		List   []*Secret
		ByKey  map[string]KVSecret
	}
	h := holder{Name: "h", Secret: *g, KV: kv, List: []*Secret{g, g}, ByKey: map[string]KVSecret{"a": *kv}}
	var text, js bytes.Buffer
	tl := slog.New(slog.NewTextHandler(&text, nil))
	jl := slog.New(slog.NewJSONHandler(&js, nil))
	for _, l := range []*slog.Logger{tl, jl} {
		l.Info("x", "byvalue", *g, "kvbyvalue", *kv, "list", []*Secret{g}, "kvlist", []KVSecret{*kv}, "holder", h, "data", g.Data)
	}
	j1, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	j2, _ := json.Marshal([]Secret{*g})
	outs := map[string]string{
		"%v value":    fmt.Sprintf("%v", *g),
		"%+v value":   fmt.Sprintf("%+v", *kv),
		"%#v value":   fmt.Sprintf("%#v", *kv),
		"%v slice":    fmt.Sprintf("%v", []Secret{*g}),
		"%+v holder":  fmt.Sprintf("%+v", h),
		"%#v holder":  fmt.Sprintf("%#v", h),
		"%v data":     fmt.Sprint(g.Data),
		"slog text":   text.String(),
		"slog json":   js.String(),
		"json holder": string(j1),
		"json slice":  string(j2),
	}
	for name, o := range outs {
		if strings.Contains(o, v) {
			t.Errorf("%s shows the value: %s", name, o)
		}
		if !strings.Contains(o, "password") && !strings.Contains(o, "db_pass") {
			t.Errorf("%s should still name the keys: %s", name, o)
		}
	}
	// The values stay reachable on purpose.
	b, _ := json.Marshal(map[string]any(g.Data))
	if !strings.Contains(string(b), v) || g.Data["password"] != v {
		t.Errorf("explicit encoding lost the value: %s", b)
	}
}

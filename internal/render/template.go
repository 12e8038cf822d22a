package render

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"text/template"
)

// Source reads the secrets templates ask for.
type Source interface {
	// Secret returns the keys and values of the secret at path.
	Secret(ctx context.Context, path string) (map[string]any, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context, path string) (map[string]any, error)

// Secret calls f.
func (f SourceFunc) Secret(ctx context.Context, path string) (map[string]any, error) {
	return f(ctx, path)
}

// Template is a parsed template. Execute may be called from several
// goroutines; executions of one Template run one at a time.
type Template struct {
	name string
	t    *template.Template

	mu  sync.Mutex
	cur *pass // the execution under way, read by the template functions
}

// pass is one execution: its context, its source and the secrets it read.
type pass struct {
	ctx   context.Context
	src   Source
	memo  map[string]map[string]any
	paths []string
}

// FuncNames are the functions templates can call.
var FuncNames = []string{"secret", "secretMap"}

// Parse parses a template. name appears in errors (use the source file's
// name).
func Parse(name, text string) (*Template, error) {
	tp := &Template{name: name}
	t, err := template.New(name).Option("missingkey=error").Funcs(template.FuncMap{
		"secret":    tp.secret,
		"secretMap": tp.secretMap,
	}).Parse(text)
	if err != nil {
		return nil, err
	}
	tp.t = t
	return tp, nil
}

// Name is the name given to Parse.
func (tp *Template) Name() string { return tp.name }

// Execute renders the template, reading secrets from src, and returns the
// content and the paths it read (sorted).
func (tp *Template) Execute(ctx context.Context, src Source) ([]byte, []string, error) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	p := &pass{ctx: ctx, src: src, memo: map[string]map[string]any{}}
	tp.cur = p
	defer func() { tp.cur = nil }()
	var b bytes.Buffer
	if err := tp.t.Execute(&b, nil); err != nil {
		return nil, p.paths, err
	}
	sort.Strings(p.paths)
	return b.Bytes(), p.paths, nil
}

func (tp *Template) read(path string) (map[string]any, error) {
	p := tp.cur
	if p == nil {
		return nil, fmt.Errorf("template %s executed outside Execute", tp.name)
	}
	if m, ok := p.memo[path]; ok {
		return m, nil
	}
	m, err := p.src.Secret(p.ctx, path)
	if err != nil {
		return nil, fmt.Errorf("secret %q: %w", path, err)
	}
	p.memo[path] = m
	p.paths = append(p.paths, path)
	return m, nil
}

func (tp *Template) secret(path, key string) (string, error) {
	m, err := tp.read(path)
	if err != nil {
		return "", err
	}
	v, ok := m[key]
	if !ok {
		return "", fmt.Errorf("secret %q has no key %q (keys: %s)", path, key, strings.Join(keys(m), ", "))
	}
	return Scalar(v), nil
}

func (tp *Template) secretMap(path string) (map[string]string, error) {
	m, err := tp.read(path)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = Scalar(v)
	}
	return out, nil
}

func keys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Scalar renders one value: strings as they are, nil as "", anything else
// as JSON (as `gdsvault get -format env` does).
func Scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}

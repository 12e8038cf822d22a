package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/config"
)

// Decision says which method Detect chose and why.
type Decision struct {
	Method string
	Reason string
}

// Attempt is one method Detect considered and what it lacked.
type Attempt struct {
	Method  string
	Missing string
}

// NoMethodError: no auth method fits the configuration. It matches
// gdsvault.ErrConfig.
type NoMethodError struct {
	Environment string
	Tried       []Attempt
}

func (e *NoMethodError) Error() string {
	var b strings.Builder
	b.WriteString("gdsvault: no auth method fits this environment (" + e.Environment + "): ")
	for i, a := range e.Tried {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(a.Method + ": " + a.Missing)
	}
	b.WriteString(" (set VAULT_AUTH_METHOD and what it needs, or one of the above)")
	return b.String()
}

// Is matches gdsvault.ErrConfig.
func (e *NoMethodError) Is(target error) bool { return target == gdsvault.ErrConfig }

// Builder builds a method from the configuration: Method.Build, and the
// AWS builder that WithAWS links in (its package is a separate module).
type Builder func(cfg *config.Config) (gdsvault.AuthMethod, error)

// Option changes Detect. An option given a bad value makes Detect (and
// NewClient) fail with a *gdsvault.ConfigError, several joined with
// errors.Join.
type Option func(*options) error

type options struct {
	methods []Method // nil: Methods()
	aws     Builder
}

// WithAWS lets Detect build the AWS IAM method (pass awsauth.FromConfig from
// github.com/gdsvault/gdsvault/auth/aws): it becomes the Build of the table's
// "aws" row. A nil builder is a configuration error.
func WithAWS(b Builder) Option {
	return func(o *options) error {
		if b == nil {
			return &gdsvault.ConfigError{Field: "auth aws builder", Problem: "is nil",
				Hint: "pass awsauth.FromConfig from github.com/gdsvault/gdsvault/auth/aws, or leave auth.WithAWS out"}
		}
		o.aws = b
		return nil
	}
}

// WithMethods makes Detect read methods instead of Methods(): typically
// Methods() with a row added, removed or moved. Detect reads a copy, so the
// caller may reuse the slice. An empty table, a row without a name or
// without a builder, a Setting without a Name or an IsSet, and two rows of
// the same name are configuration errors.
func WithMethods(methods []Method) Option {
	return func(o *options) error {
		bad := func(problem string) error {
			return &gdsvault.ConfigError{Field: "auth methods", Problem: problem, Hint: "start from auth.Methods() and add rows to it"}
		}
		if len(methods) == 0 {
			return bad("is empty")
		}
		seen := map[string]bool{}
		var errs []error
		for i, m := range methods {
			switch {
			case m.Name == "":
				errs = append(errs, bad(fmt.Sprintf("row %d has no name", i)))
			case seen[m.Name]:
				errs = append(errs, bad(fmt.Sprintf("%q appears twice", m.Name)))
			case m.Build == nil:
				errs = append(errs, bad(fmt.Sprintf("%q has no builder", m.Name)))
			}
			seen[m.Name] = true
			for _, n := range m.Needs {
				if n.Name == "" || n.IsSet == nil {
					errs = append(errs, bad(fmt.Sprintf("%q needs a setting without a name or an IsSet", m.Name)))
				}
			}
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		o.methods = slices.Clone(methods)
		return nil
	}
}

// table is the decision tree Detect reads: WithMethods' or Methods(), with
// the builder WithAWS links in.
func (o *options) table() []Method {
	t := slices.Clone(o.methods)
	if t == nil {
		t = Methods()
	}
	if o.aws != nil {
		for i := range t {
			if t[i].Name == "aws" {
				t[i].Build = linkedAWS(o.aws)
			}
		}
	}
	return t
}

// linkedAWS is b, checked: a builder that returns neither a method nor an
// error would make the first login panic.
func linkedAWS(b Builder) Builder {
	return func(cfg *config.Config) (gdsvault.AuthMethod, error) {
		m, err := b(cfg)
		if err != nil {
			return nil, err
		}
		if isNil(m) {
			return nil, &gdsvault.ConfigError{Field: "auth method aws", Problem: "the builder passed to auth.WithAWS returned no method and no error",
				Hint: "pass awsauth.FromConfig from github.com/gdsvault/gdsvault/auth/aws"}
		}
		return m, nil
	}
}

// configure checks Detect's arguments and applies its options.
func configure(cfg *config.Config, opts []Option) (options, error) {
	var o options
	var errs []error
	if cfg == nil {
		errs = append(errs, &gdsvault.ConfigError{Field: "auth config", Problem: "is nil",
			Hint: "pass the configuration of config.FromEnv or config.Load"})
	}
	for _, f := range opts {
		if f == nil {
			continue
		}
		if err := f(&o); err != nil {
			errs = append(errs, err)
		}
	}
	switch len(errs) {
	case 0:
		return o, nil
	case 1:
		return o, errs[0]
	}
	return o, errors.Join(errs...)
}

// Detect picks and builds the auth method by walking the decision tree,
// the table of Methods (or of WithMethods): the explicit method if cfg
// names one, else the first row whose Detect fits. It returns which method
// it chose and why. A nil cfg or a bad option is a *gdsvault.ConfigError;
// so is an explicit method the table does not have, or one that lacks
// settings; when nothing fits, the error is a *NoMethodError.
func Detect(cfg *config.Config, opts ...Option) (gdsvault.AuthMethod, Decision, error) {
	o, err := configure(cfg, opts)
	if err != nil {
		return nil, Decision{}, err
	}
	table := o.table()
	if name := cfg.AuthMethod; name != "" {
		d := Decision{Method: name, Reason: "VAULT_AUTH_METHOD=" + name}
		i := slices.IndexFunc(table, func(m Method) bool { return m.Name == name })
		if i < 0 {
			return nil, d, &gdsvault.ConfigError{Field: "auth method", Problem: strconv.Quote(name) + " is not supported",
				Hint: "use one of " + strings.Join(Names(table), ", ")}
		}
		m, err := table[i].build(cfg)
		return m, d, err
	}
	var tried []Attempt
	for i := range table {
		row := &table[i]
		if row.Detect == nil {
			continue // used only when asked for
		}
		lacking, _ := row.missing(cfg)
		fits, why := row.Detect(cfg, lacking)
		if !fits {
			tried = append(tried, Attempt{Method: row.Name, Missing: why})
			continue
		}
		m, err := row.build(cfg)
		return m, Decision{Method: row.Name, Reason: why}, err
	}
	return nil, Decision{}, &NoMethodError{Environment: cfg.Environment, Tried: tried}
}

// asMethod turns a constructor's result into an AuthMethod, so that an error
// never comes with a non-nil interface holding a nil pointer.
func asMethod[M gdsvault.AuthMethod](m M, err error) (gdsvault.AuthMethod, error) {
	if err != nil {
		return nil, err
	}
	return m, nil
}

// isNil reports whether m is nil or holds a nil pointer, map, func...
// (which would panic at the first login).
func isNil(m gdsvault.AuthMethod) bool {
	if m == nil {
		return true
	}
	switch v := reflect.ValueOf(m); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Slice, reflect.Chan, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// NewClient builds a client from cfg: its connection settings, the method
// Detect chooses, then extra options. When Detect fails, the client's own
// bad settings (cfg's and extra's) are reported in the same joined error, so
// that one run shows every problem.
func NewClient(cfg *config.Config, extra []gdsvault.Option, opts ...Option) (*gdsvault.Client, Decision, error) {
	m, d, err := Detect(cfg, opts...)
	if err != nil {
		if cfg != nil {
			// Only to validate: New does no I/O, and the client is closed at once.
			if c, cerr := gdsvault.New(append(cfg.Options(), extra...)...); cerr != nil {
				err = errors.Join(err, cerr)
			} else {
				_ = c.Close(context.Background())
			}
		}
		return nil, d, err
	}
	c, err := gdsvault.New(append(append(cfg.Options(), gdsvault.WithAuth(m)), extra...)...)
	return c, d, err
}

// FromEnv is the seed's VaultClient(): it reads the environment with lookup
// (os.LookupEnv when nil), picks the auth method and builds the client. The
// client logs in at its first request.
func FromEnv(lookup config.LookupFunc, extra ...gdsvault.Option) (*gdsvault.Client, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	cfg, err := config.FromEnv(lookup)
	if err != nil {
		return nil, err
	}
	c, _, err := NewClient(cfg, extra)
	return c, err
}

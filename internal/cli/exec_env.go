package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/config"
	"github.com/gdsvault/gdsvault/lease"
)

// The variables `gdsvault exec` hands its child: where they come from, how
// they are read again, and what counts as a change.

// sourceKind is how a path is read.
type sourceKind int

const (
	kindKV     sourceKind = iota // a KV secret: read again every -refresh
	kindRead                     // another engine's secret without a lease: read again every -refresh
	kindLeased                   // a leased secret: renewed, and replaced before its max TTL by lease.Manager
)

func (k sourceKind) String() string {
	return [...]string{"kv", "read", "leased"}[k]
}

// execSource is one Vault path and the variables the child takes from it.
type execSource struct {
	path string
	all  bool              // -secret-from: every key, named by envNames with the prefix
	vars map[string]string // -secret: variable name -> key

	kind  sourceKind
	mgr   *lease.Manager // kindLeased
	data  map[string]any // kindKV, kindRead: the values last read
	stale bool           // the last re-read failed: data is older
}

// secretSet is every source of one `gdsvault exec`.
type secretSet struct {
	prefix  string
	sources []*execSource // sorted by path
	// rotated is poked (never blocks) when a lease manager rotates.
	rotated chan struct{}
	logger  *slog.Logger
}

// parseSecretFlag reads -secret NAME=PATH#KEY.
func parseSecretFlag(s string) (name, path, key string, err error) {
	name, rest, ok := strings.Cut(s, "=")
	i := strings.LastIndex(rest, "#")
	if !ok || i < 0 {
		return "", "", "", usagef("-secret %q: use NAME=PATH#KEY, e.g. DB_PASS=secret/myapp/config#db_pass", s)
	}
	path, key = strings.TrimSpace(rest[:i]), rest[i+1:]
	switch {
	case name == "":
		return "", "", "", usagef("-secret %q: the variable name before = is empty", s)
	case path == "":
		return "", "", "", usagef("-secret %q: the path between = and # is empty", s)
	case key == "":
		return "", "", "", usagef("-secret %q: the key after # is empty", s)
	}
	if err := checkVarName(name); err != nil {
		return "", "", "", err
	}
	return name, path, key, nil
}

// checkVarName accepts a variable name given on the command line: letters,
// digits and _, not starting with a digit, and not one that changes which
// code runs (isDangerousEnv, as for keys).
func checkVarName(name string) error {
	for i, r := range name {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '_' || r >= '0' && r <= '9' && i > 0) {
			return usagef("-secret: %q is not a variable name: use letters, digits and _, not starting with a digit", name)
		}
	}
	if isDangerousEnv(name) {
		return usagef("-secret: %s changes how programs run: refusing (choose another name)", name)
	}
	return nil
}

// newSecretSet groups the flags by path: one read (one lease) per path
// whatever the number of variables taken from it.
func newSecretSet(secrets, from []string, prefix string, logger *slog.Logger) (*secretSet, error) {
	if err := checkEnvPrefix(prefix); err != nil {
		return nil, err
	}
	if len(secrets) == 0 && len(from) == 0 {
		return nil, usagef("nothing to inject: give -secret NAME=PATH#KEY or -secret-from PATH")
	}
	byPath := map[string]*execSource{}
	get := func(p string) (*execSource, error) {
		np, err := gdsvault.NormalizePath(p)
		if err != nil {
			return nil, usageError{err}
		}
		s := byPath[np]
		if s == nil {
			s = &execSource{path: np, vars: map[string]string{}}
			byPath[np] = s
		}
		return s, nil
	}
	owner := map[string]string{} // variable -> flag, for explicit names
	for _, f := range secrets {
		name, path, key, err := parseSecretFlag(f)
		if err != nil {
			return nil, err
		}
		if o, ok := owner[name]; ok {
			return nil, usagef("-secret %q and -secret %q both set %s", o, f, name)
		}
		owner[name] = f
		s, err := get(path)
		if err != nil {
			return nil, err
		}
		s.vars[name] = key
	}
	for _, p := range from {
		if strings.TrimSpace(p) == "" {
			return nil, usagef("-secret-from: the path is empty")
		}
		s, err := get(p)
		if err != nil {
			return nil, err
		}
		s.all = true
	}
	set := &secretSet{prefix: prefix, rotated: make(chan struct{}, 1), logger: logger}
	for _, p := range slices.Sorted(maps.Keys(byPath)) {
		set.sources = append(set.sources, byPath[p])
	}
	return set, nil
}

// open reads every source once and decides how each is kept fresh: a KV
// secret; else a leased secret (held by a lease.Manager); else a plain read.
// A missing secret or key is an error here, before the child starts.
func (set *secretSet) open(ctx context.Context, c *gdsvault.Client) error {
	for _, s := range set.sources {
		if err := set.openSource(ctx, c, s); err != nil {
			return err
		}
	}
	_, err := set.vars()
	return err
}

func (set *secretSet) openSource(ctx context.Context, c *gdsvault.Client, s *execSource) error {
	kv, err := c.KV().Get(ctx, s.path)
	if err == nil {
		s.kind, s.data = kindKV, kv.Data
		return nil
	}
	if !errors.Is(err, gdsvault.ErrInvalidPath) {
		return err
	}
	// Not a KV secret (another engine's mount): a leased secret, or a plain
	// one.
	m, err := lease.Watch(ctx, c, s.path, lease.WithLogger(set.logger), lease.OnRotate(func(lease.Rotation) {
		select {
		case set.rotated <- struct{}{}:
		default:
		}
	}))
	if err == nil {
		s.kind, s.mgr = kindLeased, m
		set.logger.Info("leased secret held", "path", s.path, "lease_id", m.Current().LeaseID, "ttl", m.Current().LeaseTTL())
		return nil
	}
	if !errors.Is(err, gdsvault.ErrConfig) { // ErrConfig: the answer had no lease
		return err
	}
	r, err := c.Read(ctx, s.path)
	if err != nil {
		return err
	}
	s.kind, s.data = kindRead, r.Data
	return nil
}

// refresh reads the static sources again. It returns the sources whose read
// failed (their last values stay in use).
func (set *secretSet) refresh(ctx context.Context, c *gdsvault.Client) []error {
	var errs []error
	for _, s := range set.sources {
		var data map[string]any
		var err error
		switch s.kind {
		case kindKV:
			var kv *gdsvault.KVSecret
			if kv, err = c.KV().Get(ctx, s.path, gdsvault.NoCache()); err == nil {
				data = kv.Data
			}
		case kindRead:
			var r *gdsvault.Secret
			if r, err = c.Read(ctx, s.path); err == nil {
				data = r.Data
			}
		default:
			continue
		}
		if err != nil {
			if !s.stale {
				set.logger.Warn("cannot read the secret again; the child keeps its current values", "path", s.path, "error", err.Error())
			}
			s.stale = true
			errs = append(errs, err)
			continue
		}
		if s.stale {
			set.logger.Warn("secret readable again", "path", s.path)
		}
		s.data, s.stale = data, false
	}
	return errs
}

// vars computes every variable the child receives, refusing a missing key,
// a dangerous or colliding name, and a value a variable cannot hold.
func (set *secretSet) vars() (map[string]string, error) {
	out := map[string]string{}
	origin := map[string]string{} // variable -> path#key
	for _, s := range set.sources {
		data := s.data
		if s.kind == kindLeased {
			data = s.mgr.Current().Data
		}
		add := func(name, key string) error {
			v := scalar(data[key])
			if strings.IndexByte(v, 0) >= 0 {
				return fmt.Errorf("the value of %s#%s holds a NUL byte, which no environment variable can hold", s.path, key)
			}
			from := s.path + "#" + key
			if o, ok := origin[name]; ok && o != from {
				return fmt.Errorf("%s and %s would both set %s: refusing (use -prefix, or rename one)", o, from, name)
			}
			out[name], origin[name] = v, from
			return nil
		}
		for _, name := range slices.Sorted(maps.Keys(s.vars)) {
			key := s.vars[name]
			if _, ok := data[key]; !ok {
				return nil, fmt.Errorf("no key %q in %s (keys: %v): %w", key, s.path, sortedKeys(data), gdsvault.ErrNotFound)
			}
			if err := add(name, key); err != nil {
				return nil, err
			}
		}
		if s.all {
			keys := sortedKeys(data)
			names, err := envNames(keys, set.prefix)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.path, err)
			}
			for _, k := range keys {
				if err := add(names[k], k); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// close revokes every lease held.
func (set *secretSet) close(ctx context.Context) error {
	var errs []error
	for _, s := range set.sources {
		if s.mgr != nil {
			if err := s.mgr.Close(ctx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// leases returns the IDs of the leases held now (for logs and tests).
func (set *secretSet) leases() []string {
	var ids []string
	for _, s := range set.sources {
		if s.mgr != nil {
			ids = append(ids, s.mgr.Current().LeaseID)
		}
	}
	return ids
}

// credentialVars are the variables that hold gdsvault's own credentials:
// the child never inherits them.
var credentialVars = []string{"TOKEN", "ROLE_ID", "SECRET_ID", "WRAPPED_SECRET_ID", "PASSWORD", "JWT"}

// exitStatus is the child's exit status, passed on by Main as gdsvault's own
// (without a message: the child speaks for itself).
type exitStatus struct{ code int }

func (e exitStatus) Error() string { return fmt.Sprintf("the program exited with status %d", e.code) }

// credentialDrops are gdsvault's own credentials, which the child must not
// inherit: VAULT_TOKEN, VAULT_SECRET_ID... (and BAO_*), and the variables
// the YAML file names for them (token_env, secret_id_env...).
func credentialDrops(cfg *config.Config) map[string]bool {
	drop := map[string]bool{}
	for _, n := range credentialVars {
		drop["VAULT_"+n], drop["BAO_"+n] = true, true
	}
	for _, k := range []string{"token", "role_id", "secret_id", "wrapped_secret_id", "jwt", "password"} {
		if n := cfg.NameOf(k); checkEnvPrefix(n) == nil && n != "" {
			drop[n] = true
		}
	}
	return drop
}

// isInteractive reports whether f is a terminal (a character device other
// than /dev/null).
func isInteractive(f *os.File) bool {
	if !isTerminal(f) {
		return false
	}
	fi, err := f.Stat()
	null, nerr := os.Stat(os.DevNull)
	return err == nil && nerr == nil && !os.SameFile(fi, null)
}

// childEnv is the child's environment: base (gdsvault's own environment,
// without its Vault credentials and without the variables the secrets set)
// then the secrets, sorted.
func childEnv(base []string, drop map[string]bool, vars map[string]string) []string {
	env := make([]string, 0, len(base)+len(vars))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if drop[k] {
			continue
		}
		if _, ok := vars[k]; ok {
			continue
		}
		env = append(env, kv)
	}
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		env = append(env, k+"="+vars[k])
	}
	return env
}

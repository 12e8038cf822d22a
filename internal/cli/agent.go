package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth"
	"github.com/gdsvault/gdsvault/config"
	"github.com/gdsvault/gdsvault/internal/render"
	"github.com/gdsvault/gdsvault/lease"
	"github.com/gdsvault/gdsvault/secretcache"
	"github.com/spf13/cobra"
)

type agentOptions struct {
	*globals
	listen string
}

func newAgentCmd(g *globals) *cobra.Command {
	o := &agentOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "agent [flags] CONFIG.yaml",
		Short: "Stay logged in, write the token to a sink file, render templates with secrets",
		Long: `Run until stopped (TERM or INT; HUP renders at once): log in with the configured auth method
(VAULT_* variables, --config/--env, --method, as every command), keep the token alive, write it to
a sink file for other processes (mode 0600, atomic, optionally response-wrapped), and render Go
text/template files with secrets to their destinations, atomically and only when their content
changes, running a command after each change.

Template functions:
  {{ secret "secret/myapp/config" "db_pass" }}           one value
  {{ with secretMap "secret/myapp/config" }}{{ .db_host }}{{ end }}   every key
  {{ secret "database/creds/app" "username" }}            a leased secret: held, renewed, replaced
                                                          before its max TTL (then re-rendered)

When Vault cannot be reached (or is sealed), the files keep the last good render and the agent
says so; /healthz (with -listen or listen:) reports it.

The configuration file:
  refresh: 5m                  # how often secrets are read again
  max_stale: 1h                # how long the last good values are served while Vault is unreachable
  listen: 127.0.0.1:8100       # /healthz (and /metrics, Prometheus)
  token_sink: {path: /run/gdsvault/token, mode: "0600", wrap_ttl: 5m}
  templates:
    - source: app.tmpl         # or contents: "..."
      destination: /etc/app/app.conf
      mode: "0640"
      command: [/bin/systemctl, reload, app]`,
		Example: `  gdsvault agent -listen 127.0.0.1:8100 /etc/gdsvault/agent.yaml
  gdsvault --config /etc/gdsvault/vault.yaml --env production agent /etc/gdsvault/agent.yaml`,
		Args: exactArgs(1, "the agent's configuration file"),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd.Context(), args[0]) },
	}
	cmd.Flags().StringVar(&o.listen, "listen", "", "serve /healthz and /metrics on this local address (host:port; overrides listen:)")
	return cmd
}

// agent is one running `gdsvault agent`.
type agent struct {
	cfg     *agentConfig
	c       *gdsvault.Client
	wrap    *gdsvault.Client // the sink's wrapping requests (wrap_ttl), else nil
	src     *agentSource
	log     *slog.Logger
	streams Streams
	drop    map[string]bool // gdsvault's credentials: never in a command's environment
	method  auth.Decision
	metrics http.Handler // /metrics, when the binary provides a collector (WithMetrics) and the agent listens

	tokenChanged chan struct{}

	mu        sync.Mutex
	token     gdsvault.Token
	tokenTTL  time.Duration
	tokenAt   time.Time // last login or renewal
	tokenErr  string    // last login or renewal failure, "" after a success
	status    []templateStatus
	stale     bool
	staleFrom time.Time
	rendered  bool // the first render completed
}

// templateStatus is what /healthz says about one template.
type templateStatus struct {
	Destination string    `json:"destination"`
	RenderedAt  time.Time `json:"rendered_at,omitzero"`
	Changes     int       `json:"changes"`
	Error       string    `json:"error,omitempty"`
}

func (o *agentOptions) run(ctx context.Context, file string) error {
	acfg, err := loadAgentConfig(file)
	cfg, cerr := o.config()
	if err != nil || cerr != nil {
		return errors.Join(err, cerr)
	}
	if o.listen != "" {
		if _, _, err := net.SplitHostPort(o.listen); err != nil {
			return usagef("-listen %q is not host:port (e.g. 127.0.0.1:8100)", o.listen)
		}
		acfg.listen = o.listen
	}
	m, d, err := auth.Detect(cfg, o.authOpts...)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	a := &agent{cfg: acfg, streams: o.streams, method: d, drop: credentialDrops(cfg), tokenChanged: make(chan struct{}, 1),
		log: slog.New(slog.NewTextHandler(o.streams.Err, &slog.HandlerOptions{Level: level})).With("component", "agent")}
	a.status = make([]templateStatus, len(acfg.templates))
	for i, t := range acfg.templates {
		a.status[i].Destination = t.dest
	}
	var extra []gdsvault.Option
	if o.metrics != nil && acfg.listen != "" {
		obs, h, err := o.metrics()
		if err != nil {
			return err
		}
		a.metrics = h
		extra = append(extra, gdsvault.WithObserver(obs))
	}
	opts := append(append(cfg.Options(), extra...),
		gdsvault.WithAuth(observeLogins(m, a.loggedIn)),
		gdsvault.WithRevokeOnClose(d.Method != "token"), // a token the user gave is theirs
		gdsvault.WithCache(secretcache.WithTTL(acfg.refresh), secretcache.WithMaxStale(acfg.maxStale)),
		gdsvault.WithEvents(a.tokenEvent))
	c, err := gdsvault.New(append(opts, o.clientOptions(cfg)...)...)
	if err != nil {
		return err
	}
	a.c = c
	a.src = &agentSource{c: c, log: a.log, rotated: make(chan struct{}, 1), kinds: map[string]sourceKind{}, leases: map[string]*lease.Manager{}}
	cleanup := func() context.Context {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		_ = cancel // the deadline bounds it
		return cctx
	}
	defer func() {
		if err := c.Close(cleanup()); err != nil {
			a.log.Warn("closing the client", "error", err.Error())
		}
	}()
	if s := acfg.sink; s != nil && s.wrapTTL > 0 {
		if a.wrap, err = newWrapClient(cfg, s.wrapTTL, a.currentToken, o.clientOptions(cfg)); err != nil {
			return err
		}
		defer a.wrap.Close(cleanup())
	}
	a.log.Info("logging in", "method", d.Method, "reason", d.Reason)
	if err := c.Authenticate(ctx); err != nil {
		return err
	}
	defer func() {
		if err := a.src.close(cleanup()); err != nil {
			a.log.Warn("revoking leases", "error", err.Error())
		}
	}()
	if acfg.sink != nil {
		defer func() {
			if err := os.Remove(acfg.sink.path); err == nil {
				a.log.Info("token sink removed", "path", acfg.sink.path)
			}
		}()
		if err := a.writeSink(ctx); err != nil {
			return err
		}
	}
	if acfg.listen != "" {
		ln, err := net.Listen("tcp", acfg.listen)
		if err != nil {
			return &gdsvault.ConfigError{Field: "listen", Problem: "cannot listen on " + acfg.listen + ": " + errText(err),
				Hint: "choose a free local port (-listen 127.0.0.1:PORT)"}
		}
		srv := &http.Server{Handler: a.mux(), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Shutdown(cleanup())
		a.log.Info("serving /healthz", "addr", ln.Addr().String())
		if host, _, _ := net.SplitHostPort(acfg.listen); host != "localhost" {
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				a.log.Warn("/healthz listens on an address other machines may reach", "listen", acfg.listen)
			}
		}
	}
	if err := a.renderAll(ctx); err != nil {
		return fmt.Errorf("first render failed (nothing was written for the templates in error):\n%w", err)
	}
	a.mu.Lock()
	a.rendered = true
	a.mu.Unlock()
	a.log.Info("running", "templates", len(acfg.templates), "refresh", acfg.refresh, "max_stale", acfg.maxStale)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(acfg.refresh)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			a.log.Info("stopping")
			return nil
		case <-a.tokenChanged:
			if acfg.sink != nil {
				if err := a.writeSink(ctx); err != nil {
					a.log.Error("cannot write the token sink", "path", acfg.sink.path, "error", err.Error())
				}
			}
		case <-tick.C:
			_ = a.renderAll(ctx)
		case <-a.src.rotated:
			a.log.Info("a lease was replaced: rendering")
			_ = a.renderAll(ctx)
		case <-hup:
			a.log.Info("HUP: rendering")
			_ = a.renderAll(ctx)
		}
	}
}

// loggedIn receives every login's answer (observeLogins).
func (a *agent) loggedIn(au *gdsvault.Auth) {
	a.mu.Lock()
	a.token, a.tokenTTL, a.tokenAt, a.tokenErr = au.ClientToken, au.TTL(), time.Now(), ""
	a.mu.Unlock()
	select {
	case a.tokenChanged <- struct{}{}:
	default:
	}
}

func (a *agent) currentToken() gdsvault.Token {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.token
}

// tokenEvent follows the token's life for /healthz and the log.
func (a *agent) tokenEvent(e gdsvault.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch e.Kind {
	case gdsvault.EventRenewed:
		a.tokenTTL, a.tokenAt, a.tokenErr = e.TTL, e.Time, ""
	case gdsvault.EventLoginFailed, gdsvault.EventRenewFailed, gdsvault.EventExpired:
		if e.Err != nil {
			a.tokenErr = e.Kind.String() + ": " + e.Err.Error()
		} else {
			a.tokenErr = e.Kind.String()
		}
	}
}

// writeSink writes the current token (or a wrapping token for it) to the
// sink, mode as configured (0600 by default), atomically.
func (a *agent) writeSink(ctx context.Context) error {
	s := a.cfg.sink
	tok := a.currentToken()
	if tok.IsZero() {
		return nil
	}
	content := tok.Reveal()
	if a.wrap != nil {
		w, err := a.wrap.Write(ctx, "sys/wrapping/wrap", map[string]any{"token": content})
		if err != nil {
			return fmt.Errorf("wrapping the token for the sink: %w", err)
		}
		if w.WrapInfo == nil || w.WrapInfo.Token.IsZero() {
			return fmt.Errorf("wrapping the token for the sink: vault answered without a wrapping token")
		}
		content = w.WrapInfo.Token.Reveal()
	}
	if _, err := render.WriteFile(s.path, []byte(content), s.mode); err != nil {
		return err
	}
	a.log.Info("token written to the sink", "path", s.path, "wrapped", a.wrap != nil)
	return nil
}

// renderAll renders every template, writes those whose content changed,
// then runs their commands (each distinct command once). A template that
// fails keeps its destination as it was.
func (a *agent) renderAll(ctx context.Context) error {
	a.src.beginPass()
	var errs []error
	var cmds [][]string
	seen := map[string]bool{}
	for i, t := range a.cfg.templates {
		out, _, err := t.tmpl.Execute(ctx, a.src)
		changed := false
		if err == nil {
			changed, err = render.WriteFile(t.dest, out, t.mode)
		}
		a.mu.Lock()
		st := &a.status[i]
		if err != nil {
			st.Error = err.Error()
		} else {
			st.Error, st.RenderedAt = "", time.Now()
			if changed {
				st.Changes++
			}
		}
		a.mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s -> %s: %w", t.name, t.dest, err))
			if a.rendered {
				a.log.Error("render failed; the destination keeps its last good render", "template", t.name, "destination", t.dest, "error", err.Error())
			}
			continue
		}
		if changed {
			a.log.Info("rendered", "template", t.name, "destination", t.dest)
			if key := strings.Join(t.command, "\x00"); len(t.command) > 0 && !seen[key] {
				seen[key] = true
				cmds = append(cmds, t.command)
			}
		}
	}
	a.noteStaleness(len(errs) == 0)
	for i, cmd := range cmds {
		a.runCommand(ctx, cmd, a.commandTimeout(cmds[i]))
	}
	return errors.Join(errs...)
}

func (a *agent) commandTimeout(cmd []string) time.Duration {
	for _, t := range a.cfg.templates {
		if slices.Equal(t.command, cmd) {
			return t.commandTimeout
		}
	}
	return defaultCommandTimeout
}

// noteStaleness logs when the agent starts and stops serving values Vault
// could not confirm.
func (a *agent) noteStaleness(allGood bool) {
	stalePaths := a.src.stalePaths()
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case len(stalePaths) > 0 && !a.stale:
		a.stale, a.staleFrom = true, time.Now()
		a.log.Warn("vault cannot be reached: the files keep the last good values", "paths", stalePaths, "max_stale", a.cfg.maxStale)
	case len(stalePaths) == 0 && a.stale && allGood:
		a.stale = false
		a.log.Warn("vault reachable again: values are fresh", "stale_for", time.Since(a.staleFrom).Round(time.Millisecond))
	}
}

// runCommand runs a template's command after a change, without the agent's
// Vault credentials in its environment.
func (a *agent) runCommand(ctx context.Context, argv []string, timeout time.Duration) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
	cmd.Env = childEnv(os.Environ(), a.drop, nil)
	cmd.Stdout, cmd.Stderr = a.streams.Err, a.streams.Err
	cmd.WaitDelay = time.Second
	start := time.Now()
	if err := cmd.Run(); err != nil {
		a.log.Error("command failed", "command", argv[0], "error", err.Error())
		return
	}
	a.log.Info("command ran", "command", argv[0], "took", time.Since(start).Round(time.Millisecond))
}

// agentSource reads the secrets templates name: KV secrets fresh at every
// pass (the cache answers, marked stale, when Vault cannot), leased
// secrets from their lease.Manager, others through the cache.
type agentSource struct {
	c       *gdsvault.Client
	log     *slog.Logger
	rotated chan struct{}

	mu     sync.Mutex
	kinds  map[string]sourceKind
	leases map[string]*lease.Manager
	stale  map[string]bool // paths answered stale in this pass
}

func (s *agentSource) beginPass() {
	s.mu.Lock()
	s.stale = map[string]bool{}
	s.mu.Unlock()
}

func (s *agentSource) stalePaths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for p := range s.stale {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Secret implements render.Source.
func (s *agentSource) Secret(ctx context.Context, path string) (map[string]any, error) {
	p, err := gdsvault.NormalizePath(path)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	kind, known := s.kinds[p]
	m := s.leases[p]
	s.mu.Unlock()
	switch {
	case known && kind == kindLeased:
		return m.Current().Data, nil
	case known && kind == kindRead:
		r, err := s.c.Read(ctx, p)
		if err != nil {
			return nil, err
		}
		s.noteStale(p, r.Stale)
		return r.Data, nil
	}
	kv, err := s.c.KV().Get(ctx, p, gdsvault.NoCache())
	if err == nil {
		s.remember(p, kindKV, nil)
		s.noteStale(p, kv.Stale)
		return kv.Data, nil
	}
	if known || !errors.Is(err, gdsvault.ErrInvalidPath) {
		return nil, err
	}
	m, err = lease.Watch(ctx, s.c, p, lease.WithLogger(s.log), lease.OnRotate(func(lease.Rotation) {
		select {
		case s.rotated <- struct{}{}:
		default:
		}
	}))
	if err == nil {
		s.remember(p, kindLeased, m)
		s.log.Info("leased secret held", "path", p, "lease_id", m.Current().LeaseID, "ttl", m.Current().LeaseTTL())
		return m.Current().Data, nil
	}
	if !errors.Is(err, gdsvault.ErrConfig) {
		return nil, err
	}
	r, err := s.c.Read(ctx, p)
	if err != nil {
		return nil, err
	}
	s.remember(p, kindRead, nil)
	return r.Data, nil
}

func (s *agentSource) remember(p string, k sourceKind, m *lease.Manager) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kinds[p] = k
	if m != nil {
		s.leases[p] = m
	}
}

func (s *agentSource) noteStale(p string, stale bool) {
	if stale {
		s.mu.Lock()
		s.stale[p] = true
		s.mu.Unlock()
	}
}

// close revokes the leases held.
func (s *agentSource) close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, m := range s.leases {
		if err := m.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// newWrapClient is a client for the sink's sys/wrapping/wrap requests: it
// adds X-Vault-Wrap-TTL, which the client has no option for, and carries the
// agent's current token.
func newWrapClient(cfg *config.Config, ttl time.Duration, tok func() gdsvault.Token, extra []gdsvault.Option) (*gdsvault.Client, error) {
	tc, err := tlsClientConfig(cfg.TLS)
	if err != nil {
		return nil, err
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = tc
	opts := []gdsvault.Option{
		gdsvault.WithTransport(wrapTTLTransport{base: base, ttl: fmt.Sprintf("%ds", int(ttl.Seconds()))}),
		gdsvault.WithTokenSource(gdsvault.TokenSourceFunc(func(context.Context) (gdsvault.Token, error) { return tok(), nil })),
	}
	if cfg.Address != "" {
		opts = append(opts, gdsvault.WithAddress(cfg.Address))
	}
	if cfg.Namespace != "" {
		opts = append(opts, gdsvault.WithNamespace(cfg.Namespace))
	}
	if cfg.Timeout > 0 {
		opts = append(opts, gdsvault.WithTimeout(cfg.Timeout))
	}
	return gdsvault.New(append(opts, extra...)...)
}

type wrapTTLTransport struct {
	base http.RoundTripper
	ttl  string
}

func (w wrapTTLTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/v1/sys/wrapping/wrap") {
		r = r.Clone(r.Context())
		r.Header.Set("X-Vault-Wrap-TTL", w.ttl)
	}
	return w.base.RoundTrip(r)
}

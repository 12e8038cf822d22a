package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth"
	"github.com/gdsvault/gdsvault/config"
	"github.com/spf13/cobra"
)

type doctorOptions struct {
	*globals
	paths   []string
	timeout time.Duration
}

// errChecksFailed: doctor found at least one problem (exit 1).
var errChecksFailed = errors.New("failed")

func newDoctorCmd(g *globals) *cobra.Command {
	o := &doctorOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check, step by step, that gdsvault can reach Vault, log in and use the paths given",
		Long: `Check, in order, and print each result with how to fix it:
  address   VAULT_ADDR parses (scheme, host, port)
  dns       the host name resolves
  tcp       the port accepts connections
  tls       the certificate: trusted CA, name, expiry (and VAULT_SKIP_VERIFY)
  health    sys/health: initialised, sealed, standby, version, clock skew
  auth      the auth method the decision tree chooses, and why
  login     logging in with it
  token     the token's TTL, renewability and policies
  path      for each -path, the token's capabilities there (sys/capabilities-self)

Exit code 0 only when every check needed for the paths passes (warnings do not count). Nothing
printed holds a token or a secret. The token the doctor logged in for is revoked at the end.`,
		Example: `  gdsvault doctor
  gdsvault doctor -path secret/myapp/config -path database/creds/app
  gdsvault doctor -path secret/myapp/config=read,update`,
		Args: exactArgs(0, "no arguments (paths go with -path)"),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.Context()) },
	}
	cmd.Flags().StringArrayVar(&o.paths, "path", nil, "PATH[=CAP,CAP]: check the token's capabilities there (default: read); KV paths may be given as for get")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 5*time.Second, "bound each network check")
	return cmd
}

// status of one check.
type status int

const (
	statusOK status = iota
	statusWarn
	statusFail
	statusSkip
)

func (s status) String() string { return [...]string{"ok", "warn", "FAIL", "skip"}[s] }

// report prints one line per check (and its fix) as they run.
type report struct {
	w      io.Writer
	failed int
}

func (r *report) add(s status, name, detail, fix string) {
	fmt.Fprintf(r.w, "%-4s  %-7s %s\n", s, name, escape(detail, false))
	if fix != "" {
		fmt.Fprintf(r.w, "      %-7s fix: %s\n", "", escape(fix, false))
	}
	if s == statusFail {
		r.failed++
	}
}

func (r *report) skip(reason string, names ...string) {
	for _, n := range names {
		r.add(statusSkip, n, reason, "")
	}
}

// pathNeed is one -path: a path and the capabilities it needs.
type pathNeed struct {
	path string
	caps []string
}

func parsePathFlag(s string) (pathNeed, error) {
	p, caps, ok := strings.Cut(s, "=")
	n := pathNeed{path: strings.TrimSpace(p), caps: []string{"read"}}
	if n.path == "" {
		return n, usagef("-path %q: the path is empty", s)
	}
	if ok {
		n.caps = nil
		for _, c := range strings.Split(caps, ",") {
			c = strings.TrimSpace(c)
			if !slices.Contains([]string{"create", "read", "update", "patch", "delete", "list", "sudo"}, c) {
				return n, usagef("-path %q: unknown capability %q (create, read, update, patch, delete, list, sudo)", s, c)
			}
			n.caps = append(n.caps, c)
		}
	}
	return n, nil
}

func (o *doctorOptions) run(ctx context.Context) error {
	var needs []pathNeed
	for _, p := range o.paths {
		n, err := parsePathFlag(p)
		if err != nil {
			return err
		}
		needs = append(needs, n)
	}
	r := &report{w: o.streams.Out}
	cfg, err := o.config()
	if err != nil {
		r.add(statusFail, "config", err.Error(), "correct the settings named above (environment variables or the --config file)")
		return r.result()
	}
	reached := o.network(ctx, r, cfg)
	m, d, err := auth.Detect(cfg, o.authOpts...)
	if err != nil {
		r.add(statusFail, "auth", err.Error(), "set VAULT_AUTH_METHOD (or --method) and the settings it needs")
		r.skip("needs an auth method", "login", "token", "path")
		return r.result()
	}
	r.add(statusOK, "auth", d.Method+": "+d.Reason, "")
	if !reached {
		r.skip("needs a reachable, unsealed Vault", "login", "token", "path")
		return r.result()
	}
	o.login(ctx, r, cfg, m, d, needs)
	return r.result()
}

func (r *report) result() error {
	switch {
	case r.failed == 1:
		return fmt.Errorf("doctor: 1 check %w", errChecksFailed)
	case r.failed > 1:
		return fmt.Errorf("doctor: %d checks %w", r.failed, errChecksFailed)
	}
	return nil
}

// network runs address, dns, tcp, tls and health; it reports whether Vault
// answered, unsealed.
func (o *doctorOptions) network(ctx context.Context, r *report, cfg *config.Config) bool {
	addr := cfg.Address
	source := "VAULT_ADDR"
	if addr == "" {
		addr, source = gdsvault.DefaultAddress, "the default (VAULT_ADDR is not set)"
	}
	u, err := url.Parse(addr)
	fixAddr := "set VAULT_ADDR to http(s)://HOST:PORT, e.g. https://vault.example.com:8200"
	switch {
	case err != nil:
		r.add(statusFail, "address", fmt.Sprintf("%s from %s does not parse: %v", addr, source, errText(err)), fixAddr)
	case u.Scheme != "http" && u.Scheme != "https":
		r.add(statusFail, "address", fmt.Sprintf("%q from %s does not start with http:// or https://", addr, source), fixAddr)
		err = errors.New("scheme")
	case u.Hostname() == "":
		r.add(statusFail, "address", fmt.Sprintf("%q from %s has no host", addr, source), fixAddr)
		err = errors.New("host")
	}
	if err != nil {
		r.skip("needs a valid address", "dns", "tcp", "tls", "health")
		return false
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		r.add(statusWarn, "address", fmt.Sprintf("%s from %s names no port: connecting to %s", addr, source, port), "Vault listens on 8200 unless configured otherwise: add :8200 if that is yours")
	} else {
		r.add(statusOK, "address", fmt.Sprintf("%s (from %s)", addr, source), "")
	}
	ctx, cancel := context.WithTimeout(ctx, 4*o.timeout)
	defer cancel()

	// dns
	ip := net.ParseIP(host)
	if ip != nil {
		r.add(statusOK, "dns", host+" is an IP address", "")
	} else {
		dctx, dcancel := context.WithTimeout(ctx, o.timeout)
		addrs, err := net.DefaultResolver.LookupHost(dctx, host)
		dcancel()
		if err != nil {
			r.add(statusFail, "dns", "cannot resolve "+host+": "+dnsReason(err),
				"check the host name in VAULT_ADDR, or this machine's name servers (/etc/resolv.conf, /etc/hosts)")
			r.skip("needs the host's address", "tcp", "tls", "health")
			return false
		}
		r.add(statusOK, "dns", host+" -> "+strings.Join(addrs, ", "), "")
	}

	// tcp
	hp := net.JoinHostPort(host, port)
	start := time.Now()
	conn, err := (&net.Dialer{Timeout: o.timeout}).DialContext(ctx, "tcp", hp)
	if err != nil {
		fix := "no answer from " + hp + ": a firewall drops the packets, or the host is down"
		if errors.Is(err, syscall.ECONNREFUSED) {
			fix = "nothing listens on " + hp + ": is Vault running? is the port in VAULT_ADDR right (8200 by default)?"
		}
		r.add(statusFail, "tcp", "cannot connect to "+hp+": "+errText(err), fix)
		r.skip("needs a connection", "tls", "health")
		return false
	}
	conn.Close()
	r.add(statusOK, "tcp", fmt.Sprintf("connected to %s in %v", hp, time.Since(start).Round(100*time.Microsecond)), "")

	// tls
	if u.Scheme == "https" {
		if !o.checkTLS(ctx, r, cfg, host, hp) {
			r.skip("needs a trusted TLS connection", "health")
			return false
		}
	} else if ip == nil && host != "localhost" || ip != nil && !ip.IsLoopback() {
		r.add(statusWarn, "tls", "plain http to another machine: tokens and secrets travel unencrypted", "use https:// in production")
	} else {
		r.add(statusOK, "tls", "plain http on this machine (no TLS to check)", "")
	}

	// health
	c, err := gdsvault.New(append(cfg.Options(), gdsvault.WithLogger(slog.New(slog.DiscardHandler)), gdsvault.WithMaxRetries(0))...)
	if err != nil {
		r.add(statusFail, "health", err.Error(), "correct the settings named above")
		return false
	}
	defer c.Close(context.WithoutCancel(ctx))
	h, err := c.Health(ctx)
	if err != nil {
		fix := "is this a Vault server? sys/health must answer at " + addr + "/v1/sys/health"
		if errors.Is(err, gdsvault.ErrCertificate) {
			fix = "set VAULT_CACERT to the CA that signed the server's certificate"
		}
		r.add(statusFail, "health", err.Error(), fix)
		return false
	}
	detail := "server version " + h.Version // Vault or OpenBao: sys/health does not say which
	if h.ClusterName != "" {
		detail += " (cluster " + h.ClusterName + ")"
	}
	switch {
	case !h.Initialized:
		r.add(statusFail, "health", detail+": not initialised", "initialise it: vault operator init")
		return false
	case h.Sealed:
		r.add(statusFail, "health", detail+": sealed", "unseal it: vault operator unseal (with the unseal keys), or check its auto-unseal configuration")
		return false
	case h.Standby:
		detail += ", standby (requests are forwarded to the active node)"
	default:
		detail += ", initialised, unsealed, active"
	}
	if h.ServerTime > 0 {
		skew := time.Since(time.Unix(h.ServerTime, 0))
		if skew > 30*time.Second || skew < -30*time.Second {
			r.add(statusWarn, "health", detail+fmt.Sprintf("; this machine's clock differs from Vault's by %v", skew.Round(time.Second)),
				"synchronise the clocks (NTP): JWT, cloud and certificate logins and TTLs depend on them")
			return true
		}
		detail += fmt.Sprintf("; clock skew %v", skew.Round(time.Second))
	}
	r.add(statusOK, "health", detail, "")
	return true
}

func dnsReason(err error) string {
	var de *net.DNSError
	if errors.As(err, &de) {
		switch {
		case de.IsNotFound:
			return "no such host"
		case de.IsTimeout:
			return "the name servers did not answer"
		}
		return de.Err
	}
	return err.Error()
}

// checkTLS connects without verifying, then verifies the certificate
// itself, so that it can say what exactly is wrong.
func (o *doctorOptions) checkTLS(ctx context.Context, r *report, cfg *config.Config, host, hp string) bool {
	tc, err := tlsClientConfig(cfg.TLS)
	if err != nil {
		r.add(statusFail, "tls", err.Error(), "correct VAULT_CACERT, VAULT_CAPATH or VAULT_CLIENT_CERT/KEY")
		return false
	}
	name := host
	if cfg.TLS.ServerName != "" {
		name = cfg.TLS.ServerName
	}
	probe := tc.Clone()
	probe.InsecureSkipVerify, probe.ServerName = true, name //nolint:gosec // verified below, to report why it fails
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: o.timeout}, Config: probe}
	conn, err := d.DialContext(ctx, "tcp", hp)
	if err != nil {
		fix := "check that " + hp + " is Vault's TLS listener"
		if strings.Contains(err.Error(), "first record does not look like a TLS handshake") {
			fix = "the server speaks plain HTTP there: use http:// in VAULT_ADDR (or enable TLS on the listener)"
		}
		r.add(statusFail, "tls", "handshake with "+hp+" failed: "+err.Error(), fix)
		return false
	}
	state := conn.(*tls.Conn).ConnectionState()
	conn.Close()
	certs := state.PeerCertificates
	leaf := certs[0]
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	names := strings.Join(append(slices.Clone(leaf.DNSNames), ipStrings(leaf.IPAddresses)...), ", ")
	desc := fmt.Sprintf("%s, certificate for %s issued by %q, expires %s", tls.VersionName(state.Version), names,
		leaf.Issuer.CommonName, leaf.NotAfter.UTC().Format("2006-01-02"))
	_, verr := leaf.Verify(x509.VerifyOptions{Roots: tc.RootCAs, Intermediates: inter, DNSName: name})
	var unknown x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	ca := "VAULT_CACERT (ca_cert in the config file)"
	if cfg.TLS.CACert != "" {
		ca = "VAULT_CACERT (now " + cfg.TLS.CACert + ")"
	}
	switch {
	case verr == nil:
	case cfg.TLS.Insecure:
		r.add(statusWarn, "tls", desc+"; it would fail verification ("+verr.Error()+"), which VAULT_SKIP_VERIFY turns off",
			"development only: set "+ca+" to the CA that signed it and unset VAULT_SKIP_VERIFY")
		return true
	case errors.As(verr, &unknown):
		r.add(statusFail, "tls", desc+": signed by an authority this client does not trust",
			"set "+ca+" to the PEM file of the CA that issued it ("+leaf.Issuer.CommonName+")")
		return false
	case errors.As(verr, &hostErr):
		r.add(statusFail, "tls", desc+": not valid for "+name,
			"use one of its names ("+names+") in VAULT_ADDR, or set VAULT_TLS_SERVER_NAME to one of them")
		return false
	case errors.As(verr, &invalid) && invalid.Reason == x509.Expired:
		r.add(statusFail, "tls", desc+": expired or not yet valid at "+time.Now().UTC().Format(time.RFC3339),
			"renew the server's certificate (or fix this machine's clock if it is wrong)")
		return false
	default:
		r.add(statusFail, "tls", desc+": "+verr.Error(), "fix the server's certificate or "+ca)
		return false
	}
	if cfg.TLS.Insecure {
		r.add(statusWarn, "tls", desc+"; VAULT_SKIP_VERIFY is set although it verifies", "unset VAULT_SKIP_VERIFY")
		return true
	}
	if left := time.Until(leaf.NotAfter); left < 14*24*time.Hour {
		r.add(statusWarn, "tls", desc+fmt.Sprintf(": expires in %v", left.Round(time.Hour)), "renew the server's certificate soon")
		return true
	}
	r.add(statusOK, "tls", desc, "")
	return true
}

func ipStrings(ips []net.IP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}

// login logs in with the chosen method, describes the token, then checks
// each path. The token is revoked at the end (unless it is the user's own).
func (o *doctorOptions) login(ctx context.Context, r *report, cfg *config.Config, m gdsvault.AuthMethod, d auth.Decision, needs []pathNeed) {
	var got *gdsvault.Auth
	c, err := gdsvault.New(append(cfg.Options(), gdsvault.WithAuth(observeLogins(m, func(a *gdsvault.Auth) { got = a })),
		gdsvault.WithRevokeOnClose(d.Method != "token"), gdsvault.WithLogger(slog.New(slog.DiscardHandler)))...)
	if err != nil {
		r.add(statusFail, "login", err.Error(), "correct the settings named above")
		r.skip("needs a login", "token", "path")
		return
	}
	defer c.Close(context.WithoutCancel(ctx))
	if err := c.Authenticate(ctx); err != nil {
		r.add(statusFail, "login", err.Error(), loginFix(d.Method, cfg, err))
		r.skip("needs a login", "token", "path")
		return
	}
	r.add(statusOK, "login", "logged in with "+d.Method, "")

	policies := got.Policies
	if len(policies) == 0 {
		policies = got.TokenPolicies
	}
	detail := fmt.Sprintf("%s token, policies %s", orDefault(got.TokenType, "service"), strings.Join(policies, ", "))
	switch {
	case got.TTL() == 0 && got.LeaseDuration == 0:
		detail += ", no TTL (never expires)"
	case got.Renewable:
		detail += ", TTL " + got.TTL().String() + ", renewable"
	default:
		detail += ", TTL " + got.TTL().String() + ", not renewable"
	}
	switch {
	case slices.Contains(policies, "root"):
		r.add(statusWarn, "token", detail, "a root token: give applications a token with narrow policies")
	case got.TTL() > 0 && got.TTL() < time.Minute:
		r.add(statusWarn, "token", detail, "a TTL under a minute means constant renewals: raise the role's token_ttl")
	case got.TTL() > 0 && !got.Renewable && d.Method == "token":
		r.add(statusWarn, "token", detail, "this token cannot be renewed and expires in "+got.TTL().String()+": use an auth method that can log in again")
	default:
		r.add(statusOK, "token", detail, "")
	}
	for _, n := range needs {
		o.checkPath(ctx, r, c, n, policies)
	}
	if len(needs) == 0 {
		r.add(statusSkip, "path", "no -path given", "")
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// loginFix says how to fix a failed login, per method.
func loginFix(method string, cfg *config.Config, err error) string {
	switch {
	case errors.Is(err, gdsvault.ErrConfig):
		return "correct the settings named above"
	case errors.Is(err, gdsvault.ErrConnection):
		return "Vault stopped answering: run doctor again"
	case errors.Is(err, gdsvault.ErrNotFound):
		return "no " + method + " auth method is enabled at that mount: enable it (vault auth enable " + method + ") or set VAULT_AUTH_MOUNT"
	}
	switch method {
	case "approle":
		return "Vault refused the role ID or the secret ID (" + cfg.NameOf("secret_id") + "): the secret ID may be wrong, expired or used up; issue a new one (vault write -f auth/approle/role/ROLE/secret-id) and check the role ID (" + cfg.NameOf("role_id") + ")"
	case "token":
		return "the token (" + cfg.NameOf("token") + ") is invalid, expired or revoked: log in again (gdsvault login -store) or set a valid VAULT_TOKEN"
	case "userpass":
		return "Vault refused the username or password (" + cfg.NameOf("password") + ")"
	case "kubernetes":
		return "Vault refused the service account token: check the role's bound_service_account_names and namespaces, and VAULT_K8S_ROLE"
	case "jwt":
		return "Vault refused the JWT (" + cfg.NameOf("jwt") + "): check its expiry, audience and issuer against the role's bound claims"
	}
	return "Vault refused the " + method + " login: check the role and the credentials it is bound to"
}

// checkPath asks sys/capabilities-self what the token may do at a path.
func (o *doctorOptions) checkPath(ctx context.Context, r *report, c *gdsvault.Client, n pathNeed, policies []string) {
	api := apiPath(ctx, c, n.path)
	s, err := c.Do(ctx, http.MethodPost, "sys/capabilities-self", map[string]any{"paths": []string{api}})
	if err != nil {
		r.add(statusFail, "path", api+": cannot ask for the token's capabilities: "+err.Error(),
			"the default policy allows sys/capabilities-self: attach it to the token")
		return
	}
	var caps []string
	raw, _ := s.Data[api].([]any)
	if raw == nil {
		raw, _ = s.Data["capabilities"].([]any)
	}
	for _, v := range raw {
		if c, ok := v.(string); ok {
			caps = append(caps, c)
		}
	}
	var missing []string
	if !slices.Contains(caps, "root") {
		for _, need := range n.caps {
			if !slices.Contains(caps, need) {
				missing = append(missing, need)
			}
		}
	}
	detail := fmt.Sprintf("%s: %s (needs %s)", api, strings.Join(caps, ", "), strings.Join(n.caps, ", "))
	if len(missing) > 0 || slices.Contains(caps, "deny") {
		r.add(statusFail, "path", detail, fmt.Sprintf("the token's policies (%s) do not grant %s on %s: add `path %q { capabilities = [%s] }` to one of them",
			strings.Join(policies, ", "), strings.Join(missing, ", "), api, api, quoteList(n.caps)))
		return
	}
	r.add(statusOK, "path", detail, "")
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

// apiPath turns a KV v2 path in the CLI form (secret/myapp/config) into the
// API form policies name (secret/data/myapp/config), asking Vault which
// mount holds it; other paths are returned as they are.
func apiPath(ctx context.Context, c *gdsvault.Client, p string) string {
	p = strings.Trim(p, "/")
	s, err := c.Read(ctx, "sys/internal/ui/mounts/"+p)
	if err != nil {
		return p
	}
	mount, _ := s.Data["path"].(string)
	typ, _ := s.Data["type"].(string)
	opts, _ := s.Data["options"].(map[string]any)
	mount = strings.Trim(mount, "/")
	if (typ != "kv" && typ != "generic") || opts["version"] != "2" || mount == "" || !strings.HasPrefix(p, mount+"/") {
		return p
	}
	rest := strings.TrimPrefix(p, mount+"/")
	if strings.HasPrefix(rest, "data/") || strings.HasPrefix(rest, "metadata/") {
		return p
	}
	return mount + "/data/" + rest
}

package aws_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/aws"
	"github.com/gdsvault/gdsvault/auth/internal/authtest"
	"github.com/gdsvault/gdsvault/vaulttest"
)

var vault *vaulttest.Server

func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m, vaulttest.Options{}, &vault)) }

// Test credentials (the shape of real ones, valid nowhere).
var (
	appKey = awssdk.Credentials{
		AccessKeyID:     "AKIAGDSVAULTTEST0001",
		SecretAccessKey: "gdsvaultTestSecret0001/abcdefghijklmnopqrstu",
	}
	sessionKey = awssdk.Credentials{
		AccessKeyID:     "ASIAGDSVAULTTEST0002",
		SecretAccessKey: "gdsvaultTestSecret0002/abcdefghijklmnopqrstu",
		SessionToken:    "gdsvaultTestSessionToken0002/IQoJb3JpZ2luX2VjEXAMPLE",
	}
	rotatedKey = awssdk.Credentials{
		AccessKeyID:     "AKIAGDSVAULTTEST0003",
		SecretAccessKey: "gdsvaultTestSecret0003/abcdefghijklmnopqrstu",
	}
)

// perLogin is how many times Vault 1.21 sends the signed request to STS for
// one successful login: once in the login itself, and once more after it,
// when the core resolves the login's role to record it with the token's lease
// (Core.DetermineRoleFromLoginRequest, for role-based lease-count quotas; it
// runs for service tokens unless imprecise lease role tracking is on). A
// refused login stops after the first.
const perLogin = 2

const (
	roleARN = "arn:aws:iam::123456789012:role/app"
	userARN = "arn:aws:iam::123456789012:user/app"
)

func static(c awssdk.Credentials) awssdk.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
}

// lab is one isolated aws auth mount with its own STS stand-in, a KV v2
// mount holding app/config, and a role whose policy may read it.
type lab struct {
	mount, role, kv string
	sts             *stsStandIn
}

type labOptions struct {
	mount    string // auth mount; "" for a unique one
	serverID string // Vault's iam_server_id_header_value
	region   string // the region STS (and Vault's sts_region) is in; "" for us-east-1
	host     string // the Host the stand-in accepts; "" for sts.amazonaws.com
	arn      string // the identity STS reports; "" for an assumed role of role/app
	bound    string // bound_iam_principal_arn; "" for role/app
}

func newLab(t *testing.T, o labOptions) *lab {
	t.Helper()
	l := &lab{mount: o.mount, role: "app", kv: vault.UniqueName("kv")}
	if l.mount == "" {
		l.mount = vault.UniqueName("aws")
	}
	if o.region == "" {
		o.region = "us-east-1"
	}
	if o.bound == "" {
		o.bound = roleARN
	}
	l.sts = newSTSStandIn(t, standInOptions{region: o.region, host: o.host, serverID: o.serverID, arn: o.arn,
		keys: []awssdk.Credentials{appKey, sessionKey, rotatedKey}})

	vault.EnableAuth(t, l.mount, "aws")
	cfg := map[string]any{
		"sts_endpoint": l.sts.URL,
		"sts_region":   o.region,
		"max_retries":  0,
	}
	if o.serverID != "" {
		cfg["iam_server_id_header_value"] = o.serverID
	}
	vault.Must(t, http.MethodPost, "auth/"+l.mount+"/config/client", cfg)

	vault.EnableSecrets(t, l.kv, "kv", map[string]any{"version": "2"})
	vault.PutKV(t, l.kv, "app/config", map[string]any{"db_host": "db.internal", "db_pass": "s3cr3t"})
	policy := l.mount + "-read"
	vault.WritePolicy(t, policy, `path "`+l.kv+`/data/app/*" { capabilities = ["read"] }`)
	vault.Must(t, http.MethodPost, "auth/"+l.mount+"/role/"+l.role, map[string]any{
		"auth_type":               "iam",
		"bound_iam_principal_arn": []string{o.bound},
		"resolve_aws_unique_ids":  false, // Vault must not call IAM
		"token_policies":          []string{policy},
		"token_ttl":               "10m",
	})
	return l
}

// login runs m.Login against the shared server with a tokenless client.
func login(t *testing.T, m *aws.Method) (*gdsvault.Auth, error) {
	t.Helper()
	return m.Login(vaulttest.Context(t), authtest.Client(t, vault.Addr))
}

func mustNew(t *testing.T, role string, opts ...aws.Option) *aws.Method {
	t.Helper()
	m, err := aws.New(role, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// noSecrets fails when s holds any test secret key or session token.
func noSecrets(t *testing.T, s string) {
	t.Helper()
	for _, c := range []awssdk.Credentials{appKey, sessionKey, rotatedKey} {
		for _, v := range []string{c.SecretAccessKey, c.SessionToken} {
			if v != "" && strings.Contains(s, v) {
				t.Fatalf("a credential leaked into %q", s)
			}
		}
	}
}

// isolateAWSEnv makes the SDK's default chain see nothing of this machine:
// no credential variables, empty shared files, no IMDS.
func isolateAWSEnv(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"config", "credentials"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, v := range []string{
		"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN",
		"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
	} {
		t.Setenv(v, "")
	}
}

// TestLoginReadsSecret: a signed GetCallerIdentity, verified by the STS
// stand-in, logs in to the real aws auth method; the client then reads the
// secret its policy allows, and Vault forwarded the request as documented on
// stsStandIn.
func TestLoginReadsSecret(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	l := newLab(t, labOptions{})
	m := mustNew(t, l.role, aws.WithMountPath(l.mount), aws.WithCredentialsProvider(static(appKey)))

	auth, err := login(t, m)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(auth.TokenPolicies, l.mount+"-read") || auth.Metadata["account_id"] != "123456789012" ||
		auth.Metadata["auth_type"] != "iam" || auth.TTL() != 10*time.Minute {
		t.Fatalf("auth = policies %v, metadata %v, ttl %v", auth.TokenPolicies, auth.Metadata, auth.TTL())
	}

	c := authtest.Client(t, vault.Addr, gdsvault.WithAuth(m))
	ctx := vaulttest.Context(t)
	s, err := c.GetSecret(ctx, l.kv+"/app/config")
	if err != nil {
		t.Fatal(err)
	}
	if s.Data["db_host"] != "db.internal" {
		t.Fatalf("secret = %v", s)
	}
	if _, err := c.GetSecret(ctx, l.kv+"/other"); !errors.Is(err, gdsvault.ErrPermissionDenied) {
		t.Fatalf("read outside the policy: %v, want ErrPermissionDenied", err)
	}

	// Vault 1.21 sends the signed request to STS twice per login (see
	// perLogin).
	calls := l.sts.Calls()
	if len(calls) != 2*perLogin {
		t.Fatalf("STS saw %d requests, want %d (two logins): %+v", len(calls), 2*perLogin, calls)
	}
	for _, call := range calls {
		// How Vault forwards: POST <sts_endpoint> + "/" + the signed URL's
		// request URI ("/"), Host kept from the signed URL.
		if call.Verdict != "ok" || call.Method != http.MethodPost || call.RequestURI != "//" || call.Host != "sts.amazonaws.com" ||
			call.AccessKeyID != appKey.AccessKeyID || call.SignedHeaders != "content-length;content-type;host;x-amz-date" {
			t.Fatalf("STS saw %+v", call)
		}
	}
}

// TestLoginDefaultChainFromEnvironment: without WithCredentialsProvider the
// SDK's standard chain supplies the credentials, read from the environment
// at the first login (not at New), session token included; an IAM user
// identity binds too.
func TestLoginDefaultChainFromEnvironment(t *testing.T) {
	vault.Require(t)
	isolateAWSEnv(t)
	l := newLab(t, labOptions{arn: userARN, bound: userARN})
	m := mustNew(t, l.role, aws.WithMountPath(l.mount)) // before the variables exist: loading is lazy

	t.Setenv("AWS_ACCESS_KEY_ID", sessionKey.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", sessionKey.SecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", sessionKey.SessionToken)
	auth, err := login(t, m)
	if err != nil {
		t.Fatal(err)
	}
	if auth.Metadata["account_id"] != "123456789012" || auth.ClientToken.IsZero() {
		t.Fatalf("auth metadata = %v", auth.Metadata)
	}
	calls := l.sts.Calls()
	if len(calls) != perLogin || calls[0].Verdict != "ok" || calls[0].AccessKeyID != sessionKey.AccessKeyID ||
		!strings.Contains(calls[0].SignedHeaders, "x-amz-security-token") {
		t.Fatalf("STS saw %+v", calls)
	}
	noSecrets(t, m.String()+fmt.Sprintf("%v %+v %#v", m, m, m))
}

// TestWrongSecretKey: a request signed with a wrong secret key is rejected
// by STS (the stand-in's signature check), Vault refuses the login, and the
// error is ErrAuthFailed without any secret in it.
func TestWrongSecretKey(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	l := newLab(t, labOptions{})
	wrong := appKey
	wrong.SecretAccessKey = "gdsvaultWrongSecret/abcdefghijklmnopqrstuvwxyz"
	m := mustNew(t, l.role, aws.WithMountPath(l.mount), aws.WithCredentialsProvider(static(wrong)))

	_, err := login(t, m)
	if !errors.Is(err, gdsvault.ErrAuthFailed) || errors.Is(err, aws.ErrCredentials) {
		t.Fatalf("err = %v, want ErrAuthFailed", err)
	}
	noSecrets(t, err.Error())
	if strings.Contains(err.Error(), wrong.SecretAccessKey) {
		t.Fatalf("the wrong secret key leaked into %q", err)
	}
	if calls := l.sts.Calls(); len(calls) != 1 || calls[0].Verdict != "SignatureDoesNotMatch" {
		t.Fatalf("STS saw %+v, want one request refused for its signature", calls)
	}
}

// TestUnboundPrincipal: a valid signature for an identity the role does not
// bind is refused by Vault itself.
func TestUnboundPrincipal(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	l := newLab(t, labOptions{arn: "arn:aws:sts::123456789012:assumed-role/other/session"})
	m := mustNew(t, l.role, aws.WithMountPath(l.mount), aws.WithCredentialsProvider(static(appKey)))
	_, err := login(t, m)
	if !errors.Is(err, gdsvault.ErrAuthFailed) || !strings.Contains(err.Error(), "does not belong to the role") {
		t.Fatalf("err = %v, want ErrAuthFailed for an unbound principal", err)
	}
	if calls := l.sts.Calls(); len(calls) != 1 || calls[0].Verdict != "ok" {
		t.Fatalf("STS saw %+v, want one accepted request (the login stops at the binding)", calls)
	}
}

// TestServerIDHeader: with iam_server_id_header_value configured, only a
// request carrying that value in the signed X-Vault-AWS-IAM-Server-ID
// header logs in; a missing or wrong one is refused before STS is called.
func TestServerIDHeader(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	const id = "vault.example.com"
	l := newLab(t, labOptions{serverID: id})
	for _, tc := range []struct {
		name   string
		opts   []aws.Option
		wantOK bool
	}{
		{"matching", []aws.Option{aws.WithServerIDHeader(id)}, true},
		{"missing", nil, false},
		{"wrong", []aws.Option{aws.WithServerIDHeader("other-vault.example.com")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(l.sts.Calls())
			opts := append([]aws.Option{aws.WithMountPath(l.mount), aws.WithCredentialsProvider(static(appKey))}, tc.opts...)
			_, err := login(t, mustNew(t, l.role, opts...))
			calls := l.sts.Calls()[before:]
			if tc.wantOK {
				if err != nil {
					t.Fatal(err)
				}
				if len(calls) != perLogin || calls[0].Verdict != "ok" || calls[0].ServerID != id ||
					!strings.Contains(calls[0].SignedHeaders, "x-vault-aws-iam-server-id") {
					t.Fatalf("STS saw %+v", calls)
				}
				return
			}
			if !errors.Is(err, gdsvault.ErrAuthFailed) || !strings.Contains(err.Error(), "X-Vault-AWS-IAM-Server-ID") {
				t.Fatalf("err = %v, want ErrAuthFailed naming the header", err)
			}
			if len(calls) != 0 {
				t.Fatalf("Vault called STS for a request it should refuse: %+v", calls)
			}
		})
	}
}

// TestCustomMountPath: WithMountPath logs in at another mount (a nested
// one); the same method without it tries auth/aws, which is not enabled.
func TestCustomMountPath(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	l := newLab(t, labOptions{mount: vault.UniqueName("team") + "/aws"})
	m := mustNew(t, l.role, aws.WithMountPath("/"+l.mount+"/"), aws.WithCredentialsProvider(static(appKey)))
	if _, err := login(t, m); err != nil {
		t.Fatal(err)
	}
	if m.MountPath() != l.mount {
		t.Fatalf("MountPath = %q", m.MountPath())
	}
	_, err := login(t, mustNew(t, l.role, aws.WithCredentialsProvider(static(appKey))))
	if !errors.Is(err, gdsvault.ErrAuthFailed) || !strings.Contains(err.Error(), "auth/aws/login") {
		t.Fatalf("login at the default mount: %v, want ErrAuthFailed at auth/aws/login", err)
	}
}

// TestNoCredentials: with nothing in the environment, no shared files and
// IMDS disabled, Login fails fast with a CredentialsError that wraps the
// SDK's error and says what to set; neither STS nor Vault is bothered.
func TestNoCredentials(t *testing.T) {
	vault.Require(t)
	isolateAWSEnv(t)
	l := newLab(t, labOptions{})
	m := mustNew(t, l.role, aws.WithMountPath(l.mount))

	start := time.Now()
	_, err := login(t, m)
	elapsed := time.Since(start)
	var ce *aws.CredentialsError
	if !errors.As(err, &ce) || !errors.Is(err, aws.ErrCredentials) || errors.Is(err, gdsvault.ErrAuthFailed) {
		t.Fatalf("err = %v (%T), want *aws.CredentialsError", err, err)
	}
	if ce.Unwrap() == nil || ce.Problem != "no AWS credentials found" || !strings.Contains(ce.Hint, "AWS_ACCESS_KEY_ID") ||
		!strings.Contains(err.Error(), "hint: ") {
		t.Fatalf("err = %q, want the SDK's error wrapped with a hint", err)
	}
	if elapsed > 5*time.Second {
		t.Fatalf("the credential chain took %v with IMDS disabled", elapsed)
	}
	if calls := l.sts.Calls(); len(calls) != 0 {
		t.Fatalf("STS saw %+v", calls)
	}
}

// TestRegion: WithRegion signs for that region and addresses its regional
// endpoint; a stand-in in eu-west-1 accepts it and refuses the default
// (us-east-1, global host) signature.
func TestRegion(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	l := newLab(t, labOptions{region: "eu-west-1", host: "sts.eu-west-1.amazonaws.com"})
	m := mustNew(t, l.role, aws.WithMountPath(l.mount), aws.WithRegion("eu-west-1"), aws.WithCredentialsProvider(static(appKey)))
	if _, err := login(t, m); err != nil {
		t.Fatal(err)
	}
	calls := l.sts.Calls()
	if len(calls) != perLogin || calls[0].Verdict != "ok" || calls[0].Host != "sts.eu-west-1.amazonaws.com" {
		t.Fatalf("STS saw %+v", calls)
	}

	def := mustNew(t, l.role, aws.WithMountPath(l.mount), aws.WithCredentialsProvider(static(appKey)))
	if _, err := login(t, def); !errors.Is(err, gdsvault.ErrAuthFailed) {
		t.Fatalf("us-east-1 signature against eu-west-1 STS: %v, want ErrAuthFailed", err)
	}
	if calls := l.sts.Calls(); len(calls) != perLogin+1 || calls[perLogin].Verdict != "SignatureDoesNotMatch" || calls[perLogin].Host != "sts.amazonaws.com" {
		t.Fatalf("STS saw %+v", calls)
	}
}

// TestSTSEndpoint: WithSTSEndpoint changes the signed URL; Vault keeps its
// host in the forwarded request and appends its path.
func TestSTSEndpoint(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	l := newLab(t, labOptions{host: "sts-fips.us-east-1.amazonaws.com"})
	m := mustNew(t, l.role, aws.WithMountPath(l.mount), aws.WithSTSEndpoint("https://sts-fips.us-east-1.amazonaws.com"),
		aws.WithCredentialsProvider(static(appKey)))
	if _, err := login(t, m); err != nil {
		t.Fatal(err)
	}
	calls := l.sts.Calls()
	if len(calls) != perLogin || calls[0].Verdict != "ok" || calls[0].Host != "sts-fips.us-east-1.amazonaws.com" || calls[0].RequestURI != "//" {
		t.Fatalf("STS saw %+v", calls)
	}
}

// TestCredentialsFetchedAtEveryLogin: the provider is asked at every login,
// so rotated credentials are used by the next one.
func TestCredentialsFetchedAtEveryLogin(t *testing.T) {
	vault.Require(t)
	t.Parallel()
	l := newLab(t, labOptions{})
	var n atomic.Int32
	p := awssdk.CredentialsProviderFunc(func(context.Context) (awssdk.Credentials, error) {
		if n.Add(1) == 1 {
			return appKey, nil
		}
		return rotatedKey, nil
	})
	m := mustNew(t, l.role, aws.WithMountPath(l.mount), aws.WithCredentialsProvider(p))
	for range 2 {
		if _, err := login(t, m); err != nil {
			t.Fatal(err)
		}
	}
	calls := l.sts.Calls()
	if n.Load() != 2 || len(calls) != 2*perLogin || calls[0].AccessKeyID != appKey.AccessKeyID || calls[perLogin].AccessKeyID != rotatedKey.AccessKeyID {
		t.Fatalf("provider asked %d times, STS saw %+v", n.Load(), calls)
	}
}

// TestProviderError: a failing custom provider gives a CredentialsError that
// wraps its error and points at WithCredentialsProvider; Vault is not called.
func TestProviderError(t *testing.T) {
	t.Parallel()
	cause := errors.New("sso session expired")
	m := mustNew(t, "app", aws.WithCredentialsProvider(awssdk.CredentialsProviderFunc(
		func(context.Context) (awssdk.Credentials, error) { return awssdk.Credentials{}, cause })))
	c, err := gdsvault.New(gdsvault.WithAddress("http://127.0.0.1:1")) // nothing listens: Vault must not be called
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Login(context.Background(), c)
	var ce *aws.CredentialsError
	if !errors.As(err, &ce) || !errors.Is(err, cause) || !strings.Contains(ce.Hint, "WithCredentialsProvider") {
		t.Fatalf("err = %v", err)
	}
	empty := mustNew(t, "app", aws.WithCredentialsProvider(credentials.StaticCredentialsProvider{}))
	if _, err := empty.Login(context.Background(), c); !errors.Is(err, aws.ErrCredentials) {
		t.Fatalf("empty credentials: %v, want ErrCredentials", err)
	}
}

package aws

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/gdsvault/gdsvault/auth/internal/optiontest"
)

const (
	unitSecret = "unitTestSecretKey/abcdefghijklmnopqrstuvwxyz01"
	unitToken  = "unitTestSessionToken/IQoJb3JpZ2luX2VjEXAMPLE"
)

func unitProvider() awssdk.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider("AKIAUNITTEST00000001", unitSecret, unitToken)
}

// TestNewValidation: every option refuses a wrong value with a ConfigError
// naming the field, New requires a role, several problems come back joined,
// and nothing panics.
func TestNewValidation(t *testing.T) {
	t.Parallel()
	newM := func(role string, opts ...Option) func() (any, error) {
		return func() (any, error) { return New(role, opts...) }
	}
	optiontest.Run(t, []optiontest.Case{
		optiontest.Bad("empty role", newM(" "), "aws role"),
		optiontest.Bad("empty mount", newM("app", WithMountPath("/")), "aws mount path"),
		optiontest.Bad("empty region", newM("app", WithRegion("")), "aws region"),
		optiontest.Bad("bad region", newM("app", WithRegion("eu west 1")), "aws region"),
		optiontest.Bad("relative endpoint", newM("app", WithSTSEndpoint("sts.amazonaws.com")), "aws sts endpoint"),
		optiontest.Bad("ftp endpoint", newM("app", WithSTSEndpoint("ftp://sts.amazonaws.com/")), "aws sts endpoint"),
		optiontest.Bad("endpoint query", newM("app", WithSTSEndpoint("https://sts.amazonaws.com/?Action=GetCallerIdentity")), "aws sts endpoint"),
		optiontest.Bad("endpoint user", newM("app", WithSTSEndpoint("https://u:p@sts.amazonaws.com/")), "aws sts endpoint"),
		optiontest.Bad("empty server ID", newM("app", WithServerIDHeader(" ")), "aws server ID header"),
		optiontest.Bad("server ID with a newline", newM("app", WithServerIDHeader("vault.example.com\r\nX-Evil: 1")), "aws server ID header"),
		optiontest.Bad("nil provider", newM("app", WithCredentialsProvider(nil)), "aws credentials provider"),
		optiontest.Bad("nil provider func", newM("app", WithCredentialsProvider(awssdk.CredentialsProviderFunc(nil))), "aws credentials provider"),
		optiontest.Bad("joined", newM("", nil, WithMountPath(""), WithRegion("?"), WithSTSEndpoint(""), WithServerIDHeader(""), WithCredentialsProvider(nil)),
			"aws role", "aws mount path", "aws region", "aws sts endpoint", "aws server ID header", "aws credentials provider"),
		optiontest.Bad("FromConfig(nil)", func() (any, error) { return FromConfig(nil) }, "aws config"),
	})
	m, err := New("app", nil, WithServerIDHeader("vault.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Login(context.Background(), nil)
	optiontest.Check(t, err, "client")
}

// TestEndpoints: the default is the global endpoint for us-east-1, a
// regional one for any other region, and WithSTSEndpoint overrides both.
func TestEndpoints(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opts        []Option
		url, region string
	}{
		{nil, "https://sts.amazonaws.com/", "us-east-1"},
		{[]Option{WithRegion("eu-west-1")}, "https://sts.eu-west-1.amazonaws.com/", "eu-west-1"},
		{[]Option{WithRegion("cn-north-1"), WithSTSEndpoint("https://sts.cn-north-1.amazonaws.com.cn")}, "https://sts.cn-north-1.amazonaws.com.cn/", "cn-north-1"},
		{[]Option{WithSTSEndpoint("http://127.0.0.1:8080/sts/")}, "http://127.0.0.1:8080/sts/", "us-east-1"},
		{[]Option{WithSTSEndpoint("https://sts.amazonaws.com:443")}, "https://sts.amazonaws.com/", "us-east-1"},
	} {
		m, err := New("app", tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if m.STSEndpoint() != tc.url || m.Region() != tc.region || m.MountPath() != DefaultMountPath || m.Role() != "app" {
			t.Errorf("endpoint %q region %q, want %q %q", m.STSEndpoint(), m.Region(), tc.url, tc.region)
		}
	}
}

// TestLoginData: the login body holds the POST method, the base64 URL and
// body of a GetCallerIdentity request, and its signed headers as JSON; the
// signature covers the server-ID header and the session token, for the
// configured region and service sts. No secret key is sent.
func TestLoginData(t *testing.T) {
	t.Parallel()
	m, err := New("app", WithRegion("eu-central-1"), WithServerIDHeader("vault.example.com"), WithCredentialsProvider(unitProvider()))
	if err != nil {
		t.Fatal(err)
	}
	m.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	data, err := m.loginData(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dec := func(k string) string {
		b, err := base64.StdEncoding.DecodeString(data[k].(string))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		return string(b)
	}
	if data["role"] != "app" || data["iam_http_request_method"] != "POST" ||
		dec("iam_request_url") != "https://sts.eu-central-1.amazonaws.com/" ||
		dec("iam_request_body") != "Action=GetCallerIdentity&Version=2011-06-15" {
		t.Fatalf("login data = %v", data)
	}
	var h map[string][]string
	if err := json.Unmarshal([]byte(dec("iam_request_headers")), &h); err != nil {
		t.Fatal(err)
	}
	authz := strings.Join(h["Authorization"], "")
	want := "AWS4-HMAC-SHA256 Credential=AKIAUNITTEST00000001/20260102/eu-central-1/sts/aws4_request, " +
		"SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-security-token;x-vault-aws-iam-server-id, Signature="
	if !strings.HasPrefix(authz, want) || h["X-Amz-Date"][0] != "20260102T030405Z" ||
		h["Content-Type"][0] != "application/x-www-form-urlencoded; charset=utf-8" ||
		h["X-Vault-Aws-Iam-Server-Id"][0] != "vault.example.com" || h["X-Amz-Security-Token"][0] != unitToken {
		t.Fatalf("headers = %v", h)
	}
	if all := fmt.Sprint(data) + dec("iam_request_headers"); strings.Contains(all, unitSecret) {
		t.Fatal("the secret key is in the login data")
	}
}

// TestStringNeverShowsCredentials: every printed and logged form of a
// Method describes it without its credentials provider's values.
func TestStringNeverShowsCredentials(t *testing.T) {
	t.Parallel()
	m, err := New("app", WithMountPath("team/aws"), WithCredentialsProvider(unitProvider()))
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("login", "method", m)
	out := m.String() + fmt.Sprintf(" %v %+v %#v %s ", m, m, m, m) + logged.String()
	if strings.Contains(out, unitSecret) || strings.Contains(out, unitToken) || strings.Contains(out, "AKIAUNITTEST") {
		t.Fatalf("credentials printed: %s", out)
	}
	if want := `aws auth (mount auth/team/aws, role "app", region us-east-1, sts https://sts.amazonaws.com/, credentials from a custom provider)`; m.String() != want {
		t.Fatalf("String = %q, want %q", m.String(), want)
	}
}

// TestCredentialsErrorText: the error says what is wrong, wraps the cause
// and gives the hint.
func TestCredentialsErrorText(t *testing.T) {
	t.Parallel()
	cause := errors.New("sdk failure")
	err := error(&CredentialsError{Problem: noCredentialsProblem, Hint: noCredentialsHint, Err: cause})
	if !errors.Is(err, ErrCredentials) || !errors.Is(err, cause) ||
		err.Error() != "gdsvault/auth/aws: no AWS credentials found: sdk failure (hint: "+noCredentialsHint+")" {
		t.Fatalf("err = %q", err)
	}
}

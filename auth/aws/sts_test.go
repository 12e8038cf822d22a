package aws_test

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// stsStandIn is a stand-in for AWS STS that Vault calls during an iam login.
// It does what STS does with a GetCallerIdentity request: it recomputes the
// SigV4 signature with the secret key it knows for the access key ID, over
// the request it received, and answers with the caller's identity only when
// the signature matches.
//
// How Vault 1.21 forwards the request (learned by trying, and asserted in
// TestLoginReadsSecret and TestSTSEndpoint): with sts_endpoint set to the
// stand-in's URL http://127.0.0.1:PORT, Vault sends POST to
// "<sts_endpoint>/" + <request URI of the signed URL> — for the signed URL
// https://sts.amazonaws.com/ that is http://127.0.0.1:PORT//, so the path
// arrives as "//" — with the Host header set to the signed URL's host
// (sts.amazonaws.com, not the stand-in's address), the decoded body, the
// decoded iam_request_headers as they are (Authorization, Content-Type,
// X-Amz-Date, X-Amz-Security-Token, X-Vault-Aws-Iam-Server-Id),
// Content-Length of the body (signed by the client, as SigV4 in the v2 SDK
// signs content-length), and Go's own User-Agent, Accept-Encoding: gzip and
// Connection: close (none signed). Real STS accepts the doubled slash because
// SigV4 normalises the canonical URI of every service but S3 (repeated
// slashes collapse: the AWS SigV4 test suite's "get-slashes" case), so the
// stand-in normalises the path the same way. Vault reads the answer only
// with Content-Type exactly "text/xml", and sends a successful login's
// request twice (see perLogin in aws_test.go).
type stsStandIn struct {
	URL string

	region   string // the region the credential scope must name
	host     string // the Host the request must carry (the signed host)
	serverID string // when set, X-Vault-AWS-IAM-Server-ID must carry it, signed
	arn      string // the identity STS reports
	userID   string
	keys     map[string]awssdk.Credentials // access key ID -> known credentials

	mu    sync.Mutex
	calls []stsCall
}

// stsCall is what the stand-in saw and decided.
type stsCall struct {
	Method, RequestURI, Host string
	AccessKeyID              string
	SignedHeaders            string
	ServerID                 string
	Verdict                  string // "ok" or an STS error code
}

type standInOptions struct {
	region, host, serverID, arn string
	keys                        []awssdk.Credentials
}

func newSTSStandIn(t *testing.T, o standInOptions) *stsStandIn {
	t.Helper()
	s := &stsStandIn{region: o.region, host: o.host, serverID: o.serverID, arn: o.arn, keys: map[string]awssdk.Credentials{}}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.host == "" {
		s.host = "sts.amazonaws.com"
	}
	if s.arn == "" {
		s.arn = "arn:aws:sts::123456789012:assumed-role/app/session"
	}
	s.userID = "AROAEXAMPLEUNIQUEID"
	if strings.Contains(s.arn, ":user/") {
		s.userID = "AIDAEXAMPLEUNIQUEID"
	} else {
		s.userID += ":session"
	}
	for _, k := range o.keys {
		s.keys[k.AccessKeyID] = k
	}
	// Not a ServeMux: it would redirect the "//" path Vault sends.
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Calls returns what the stand-in saw so far.
func (s *stsStandIn) Calls() []stsCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]stsCall(nil), s.calls...)
}

func (s *stsStandIn) serve(w http.ResponseWriter, r *http.Request) {
	call := stsCall{Method: r.Method, RequestURI: r.RequestURI, Host: r.Host, ServerID: r.Header.Get("X-Vault-AWS-IAM-Server-ID")}
	code, msg := s.verify(r, &call)
	call.Verdict = code
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	if code != "ok" {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>
  <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>
</ErrorResponse>`, code, msg)
		return
	}
	parts := strings.Split(s.arn, ":")
	fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>%s</Arn>
    <UserId>%s</UserId>
    <Account>%s</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>`, s.arn, s.userID, parts[4])
}

// verify checks the request as STS would and returns "ok" or an error code
// and message.
func (s *stsStandIn) verify(r *http.Request, call *stsCall) (code, msg string) {
	if r.Method != http.MethodPost {
		return "InvalidAction", "expected POST"
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return "MalformedInput", "cannot read the body"
	}
	if q, err := url.ParseQuery(string(body)); err != nil || q.Get("Action") != "GetCallerIdentity" || q.Get("Version") != "2011-06-15" {
		return "InvalidAction", "the body is not a GetCallerIdentity request"
	}
	if r.Host != s.host {
		return "SignatureDoesNotMatch", "unexpected Host " + r.Host
	}

	// Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sts/aws4_request, SignedHeaders=a;b, Signature=hex
	authz := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(authz, "AWS4-HMAC-SHA256 ")
	if !ok {
		return "IncompleteSignature", "missing or unknown Authorization"
	}
	fields := map[string]string{}
	for _, f := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return "IncompleteSignature", "incomplete Authorization"
	}
	call.AccessKeyID, call.SignedHeaders = scope[0], fields["SignedHeaders"]
	known, ok := s.keys[scope[0]]
	if !ok {
		return "InvalidClientTokenId", "The security token included in the request is invalid."
	}
	if scope[2] != s.region || scope[3] != "sts" || scope[4] != "aws4_request" {
		return "SignatureDoesNotMatch", fmt.Sprintf("Credential should be scoped to a valid region and service sts, not %s/%s", scope[2], scope[3])
	}
	date, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || scope[1] != date.Format("20060102") {
		return "IncompleteSignature", "bad X-Amz-Date"
	}
	if d := time.Since(date); d > 15*time.Minute || d < -15*time.Minute {
		return "SignatureDoesNotMatch", "Signature expired"
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	if s.serverID != "" {
		if !slices.Contains(signed, "x-vault-aws-iam-server-id") || call.ServerID != s.serverID {
			return "AccessDenied", "the server ID header is missing, unsigned or wrong"
		}
	}
	if known.SessionToken != r.Header.Get("X-Amz-Security-Token") {
		return "InvalidClientTokenId", "The security token included in the request is invalid."
	}

	// Recompute the signature over what arrived: method, normalised path,
	// the headers the client says it signed, the body, X-Amz-Date.
	path := normalizePath(r.URL.EscapedPath())
	re, err := http.NewRequest(r.Method, "https://"+r.Host+path, strings.NewReader(string(body)))
	if err != nil {
		return "MalformedInput", "bad URL"
	}
	for _, h := range signed {
		switch h {
		case "host", "content-length", "x-amz-date", "x-amz-security-token":
			// set by the signer from the request's Host, body length, time and credentials
		default:
			vals := r.Header.Values(h)
			if len(vals) == 0 {
				return "SignatureDoesNotMatch", "signed header " + h + " is missing"
			}
			re.Header[http.CanonicalHeaderKey(h)] = vals
		}
	}
	if slices.Contains(signed, "content-length") != (len(body) > 0) || (len(body) > 0 && r.ContentLength != int64(len(body))) {
		return "SignatureDoesNotMatch", "content-length mismatch"
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), known, re, hex.EncodeToString(sum[:]), "sts", s.region, date); err != nil {
		return "InternalFailure", "cannot sign"
	}
	if subtle.ConstantTimeCompare([]byte(re.Header.Get("Authorization")), []byte(authz)) != 1 {
		return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. " +
			"Check your AWS Secret Access Key and signing method."
	}
	return "ok", ""
}

// normalizePath collapses repeated slashes and removes dot segments, as
// SigV4 does for the canonical URI of every service but S3.
func normalizePath(p string) string {
	if p == "" {
		return "/"
	}
	trailing := strings.HasSuffix(p, "/")
	var out []string
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	n := "/" + strings.Join(out, "/")
	if trailing && n != "/" {
		n += "/"
	}
	return n
}

// TestStandInChecksSignatures: the stand-in accepts a correctly signed
// request and refuses one whose signed header, body or host was changed
// after signing, so its "ok" in the other tests means a valid signature.
func TestStandInChecksSignatures(t *testing.T) {
	t.Parallel()
	s := newSTSStandIn(t, standInOptions{keys: []awssdk.Credentials{appKey}})
	const body = "Action=GetCallerIdentity&Version=2011-06-15"
	send := func(tamper func(*http.Request, *string)) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, "https://sts.amazonaws.com/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), appKey, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		b := body
		if tamper != nil {
			tamper(req, &b)
		}
		out, err := http.NewRequest(http.MethodPost, s.URL+"//", strings.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out.Header = req.Header.Clone()
		out.Host = req.Host
		if out.Host == "" {
			out.Host = req.URL.Host
		}
		resp, err := http.DefaultClient.Do(out)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		calls := s.Calls()
		return calls[len(calls)-1].Verdict
	}
	if v := send(nil); v != "ok" {
		t.Fatalf("untouched request: %s", v)
	}
	for name, tamper := range map[string]func(*http.Request, *string){
		"content type": func(r *http.Request, _ *string) { r.Header.Set("Content-Type", "text/plain") },
		"body":         func(_ *http.Request, b *string) { *b = "Action=GetCallerIdentity&Version=2011-06-16" },
		"date": func(r *http.Request, _ *string) {
			r.Header.Set("X-Amz-Date", time.Now().Add(time.Minute).UTC().Format("20060102T150405Z"))
		},
		"host": func(r *http.Request, _ *string) { r.Host = "sts.us-east-2.amazonaws.com" },
	} {
		if v := send(tamper); v == "ok" {
			t.Errorf("request with a changed %s was accepted", name)
		}
	}
}

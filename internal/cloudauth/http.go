package cloudauth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gdsvault/gdsvault"
)

// MaxBody bounds what ReadBody reads of an answer.
const MaxBody = 1 << 20

// MetadataClient is the default client for a link-local metadata server
// (GCE's, Azure IMDS): never through a proxy, giving up on a host that does
// not accept the connection within 2 s, each call bounded by timeout.
func MetadataClient(timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.MaxIdleConnsPerHost = 2
	return &http.Client{Transport: tr, Timeout: timeout}
}

// APIClient is the default client for a cloud API (the IAM API, Azure AD):
// net/http's default transport, proxy settings included, each call bounded
// by timeout.
func APIClient(timeout time.Duration) *http.Client {
	return &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: timeout}
}

// Clients are a cloud auth method's HTTP clients: Metadata for its
// link-local metadata server (GCE's, Azure IMDS), API for its cloud API (the
// IAM API, Azure AD).
type Clients struct {
	Metadata, API *http.Client
}

// Use is the body of method's WithHTTPClient option: hc for both. A nil hc
// is a *gdsvault.ConfigError for the field "<method> http client".
func (c *Clients) Use(method string, hc *http.Client) error {
	if hc == nil {
		return &gdsvault.ConfigError{Field: method + " http client", Problem: "is nil"}
	}
	c.Metadata, c.API = hc, hc
	return nil
}

// SetDefaults gives the clients Use did not set their defaults,
// MetadataClient and APIClient, each call bounded by timeout.
func (c *Clients) SetDefaults(timeout time.Duration) {
	if c.Metadata == nil {
		c.Metadata = MetadataClient(timeout)
	}
	if c.API == nil {
		c.API = APIClient(timeout)
	}
}

// Answer is a complete answer of a metadata server or a cloud API.
type Answer struct {
	StatusCode int
	Header     http.Header
	// Body is the body, cut at MaxBody bytes.
	Body []byte
}

// Send sends req with hc and reads the answer (see ReadBody). When no
// complete answer came, it returns the transport's error (see TransportErr,
// with req's context) and an Answer whose StatusCode is the cut answer's, 0
// when none came: the caller's hint tells the two apart.
func Send(hc *http.Client, req *http.Request) (Answer, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return Answer{}, TransportErr(req.Context(), err)
	}
	ans := Answer{StatusCode: resp.StatusCode, Header: resp.Header}
	if ans.Body, err = ReadBody(resp); err != nil {
		return ans, TransportErr(req.Context(), err)
	}
	return ans, nil
}

// FailureHint is the hint for Send's error: unreachable when no answer
// came, cut when the answer was cut.
func (a Answer) FailureHint(unreachable, cut string) string {
	if a.StatusCode == 0 {
		return unreachable
	}
	return cut
}

// ReadBody reads at most MaxBody bytes of resp's body, then drains (up to
// 64 KiB more) and closes it, so that the connection can be used again.
func ReadBody(resp *http.Response) ([]byte, error) {
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}()
	return io.ReadAll(io.LimitReader(resp.Body, MaxBody))
}

// TransportErr is the error to report for a request that got no (complete)
// answer: without the *url.Error around it, which repeats the URL and its
// query, and the context's own error when the context is done.
func TransportErr(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = ctx.Err()
	}
	return err
}

// RequestError is the *gdsvault.ConfigError for a request to u that cannot
// be built: the endpoint option named by field is wrong.
func RequestError(field, u string, err error) error {
	problem := "cannot build a request for " + Quote(u) + ": "
	if err != nil {
		problem += err.Error()
	}
	return &gdsvault.ConfigError{Field: field, Problem: problem}
}

// AccessToken is the access_token of an OAuth token answer, trimmed; ok is
// false when body is not JSON or holds no (or a blank) access_token.
func AccessToken(body []byte) (tok gdsvault.Token, ok bool) {
	var ans struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || strings.TrimSpace(ans.AccessToken) == "" {
		return gdsvault.Token{}, false
	}
	return gdsvault.NewToken(strings.TrimSpace(ans.AccessToken)), true
}

// PlainText is an error answer's body as trimmed text, or "" when it is
// empty or starts like markup ('<', '{' or '[': HTML, or JSON the caller did
// not understand), which says nothing readable.
func PlainText(body []byte) string {
	t := strings.TrimSpace(string(body))
	if t == "" || strings.ContainsAny(t[:1], "<{[") {
		return ""
	}
	return t
}

// Short makes a server's text fit in an error message: trimmed, valid
// UTF-8, at most 300 bytes (then "..." is added).
func Short(s string) string {
	s = strings.ToValidUTF8(strings.TrimSpace(s), "?")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

package cloudauth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestClients(t *testing.T) {
	md := MetadataClient(5 * time.Second)
	tr, ok := md.Transport.(*http.Transport)
	if !ok || tr.Proxy != nil || tr.DialContext == nil || tr.MaxIdleConnsPerHost != 2 || md.Timeout != 5*time.Second {
		t.Errorf("MetadataClient = %+v, transport %+v", md, tr)
	}
	api := APIClient(3 * time.Second)
	tr2, ok := api.Transport.(*http.Transport)
	if !ok || tr2.Proxy == nil || api.Timeout != 3*time.Second {
		t.Errorf("APIClient = %+v", api)
	}
	if tr == tr2 || tr == http.DefaultTransport || tr2 == http.DefaultTransport || MetadataClient(time.Second).Transport == tr {
		t.Error("the clients share a transport")
	}
}

// body is a response body that counts what was read of it and whether it
// was closed.
type body struct {
	r      io.Reader
	read   int
	closed bool
	err    error // returned once r is exhausted, instead of io.EOF
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read += n
	if err == io.EOF && b.err != nil {
		err = b.err
	}
	return n, err
}

func (b *body) Close() error { b.closed = true; return nil }

func TestReadBody(t *testing.T) {
	for _, tt := range []struct {
		name     string
		size     int
		wantLen  int
		wantRead int
	}{
		{"empty", 0, 0, 0},
		{"small", 10, 10, 10},
		{"exactly MaxBody", MaxBody, MaxBody, MaxBody},
		{"a bit more", MaxBody + 100, MaxBody, MaxBody + 100},
		{"much more: drains 64 KiB, no more", MaxBody + 1<<20, MaxBody, MaxBody + 64<<10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := &body{r: strings.NewReader(strings.Repeat("x", tt.size))}
			got, err := ReadBody(&http.Response{StatusCode: 200, Body: b})
			if err != nil || len(got) != tt.wantLen || b.read != tt.wantRead || !b.closed {
				t.Errorf("ReadBody: %d bytes, %v; read %d, closed %v", len(got), err, b.read, b.closed)
			}
		})
	}
	t.Run("cut", func(t *testing.T) {
		b := &body{r: strings.NewReader("partial"), err: io.ErrUnexpectedEOF}
		got, err := ReadBody(&http.Response{StatusCode: 200, Body: b})
		if !errors.Is(err, io.ErrUnexpectedEOF) || string(got) != "partial" || !b.closed {
			t.Errorf("ReadBody = %q, %v; closed %v", got, err, b.closed)
		}
	})
}

func TestTransportErr(t *testing.T) {
	live := context.Background()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()

	refused := &url.Error{Op: "Get", URL: "http://169.254.169.254/metadata?resource=x", Err: syscall.ECONNREFUSED}
	plain := errors.New("boom")
	for _, tt := range []struct {
		name string
		ctx  context.Context
		err  error
		want error
	}{
		{"url.Error loses its URL", live, refused, syscall.ECONNREFUSED},
		{"other errors stay", live, plain, plain},
		{"canceled context wins", canceled, refused, context.Canceled},
		{"expired context wins", expired, plain, context.DeadlineExceeded},
		{"the context's error already inside", expired, &url.Error{Op: "Get", URL: "u", Err: context.DeadlineExceeded}, context.DeadlineExceeded},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := TransportErr(tt.ctx, tt.err)
			if got != tt.want {
				t.Errorf("TransportErr = %#v, want %#v", got, tt.want)
			}
			if strings.Contains(got.Error(), "resource=") {
				t.Errorf("the query stays: %v", got)
			}
		})
	}
}

func TestRequestError(t *testing.T) {
	err := RequestError("gcp metadata host", "http://bad host/x", errors.New(`invalid character " " in host name`))
	ce := configError(t, err)
	want := `gdsvault: gcp metadata host: cannot build a request for "http://bad host/x": invalid character " " in host name`
	if ce.Field != "gcp metadata host" || err.Error() != want {
		t.Errorf("RequestError = %v\nwant %s", err, want)
	}
	if got := RequestError("f", "u", nil).Error(); got != `gdsvault: f: cannot build a request for "u": ` {
		t.Errorf("RequestError(nil) = %s", got)
	}
}

func TestAccessToken(t *testing.T) {
	for _, tt := range []struct {
		body string
		want string // "" means not ok
	}{
		{`{"access_token":"ya29.abc","expires_in":3599,"token_type":"Bearer"}`, "ya29.abc"},
		{`{"access_token":"  eyJ.eyJ.sig \n"}`, "eyJ.eyJ.sig"},
		{`{"token_type":"Bearer"}`, ""},
		{`{"access_token":"   "}`, ""},
		{`{"access_token":42}`, ""},
		{`<html>captive portal</html>`, ""},
		{``, ""},
	} {
		tok, ok := AccessToken([]byte(tt.body))
		if ok != (tt.want != "") || tok.Reveal() != tt.want {
			t.Errorf("AccessToken(%s) = %q, %v; want %q", tt.body, tok.Reveal(), ok, tt.want)
		}
	}
}

func TestPlainText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{" \n\t", ""},
		{"not found\n", "not found"},
		{"  Bad request\nmore  ", "Bad request\nmore"},
		{"<html>x</html>", ""},
		{" <!DOCTYPE html>", ""},
		{`{"error":1}`, ""},
		{`["x"]`, ""},
		{"x <html>", "x <html>"},
	} {
		if got := PlainText([]byte(tt.in)); got != tt.want {
			t.Errorf("PlainText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestShort(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"  denied \r\n", "denied"},
		{"bad \xff byte", "bad ? byte"},
		{strings.Repeat("a", 300), strings.Repeat("a", 300)},
		{strings.Repeat("a", 301), strings.Repeat("a", 300) + "..."},
		{" " + strings.Repeat("b", 400) + " ", strings.Repeat("b", 300) + "..."},
	} {
		if got := Short(tt.in); got != tt.want {
			t.Errorf("Short(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestClientsUseAndDefaults(t *testing.T) {
	var def Clients
	def.SetDefaults(3 * time.Second)
	md, ok1 := def.Metadata.Transport.(*http.Transport)
	api, ok2 := def.API.Transport.(*http.Transport)
	if !ok1 || !ok2 || md.Proxy != nil || api.Proxy == nil || def.Metadata.Timeout != 3*time.Second || def.API.Timeout != 3*time.Second {
		t.Errorf("SetDefaults = %+v", def)
	}

	hc := &http.Client{}
	var c Clients
	if err := c.Use("gcp", hc); err != nil {
		t.Fatal(err)
	}
	c.SetDefaults(time.Second)
	if c.Metadata != hc || c.API != hc {
		t.Errorf("SetDefaults replaced the clients of Use: %+v", c)
	}
	err := c.Use("azure", nil)
	if ce := configError(t, err); ce.Field != "azure http client" || ce.Problem != "is nil" || c.Metadata != hc {
		t.Errorf("Use(nil) = %v; clients %+v", err, c)
	}
}

func TestSend(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cut":
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "partial")
		case "/hang":
			<-r.Context().Done()
		default:
			w.Header().Set("X-Answer", "yes")
			w.WriteHeader(http.StatusTeapot)
			_, _ = io.WriteString(w, "short and stout")
		}
	}))
	defer srv.Close()
	send := func(ctx context.Context, path string) (Answer, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path+"?secret=x", nil)
		if err != nil {
			t.Fatal(err)
		}
		return Send(srv.Client(), req)
	}

	ans, err := send(context.Background(), "/")
	if err != nil || ans.StatusCode != http.StatusTeapot || ans.Header.Get("X-Answer") != "yes" || string(ans.Body) != "short and stout" {
		t.Errorf("Send = %+v, %v", ans, err)
	}
	ans, err = send(context.Background(), "/cut")
	if !errors.Is(err, io.ErrUnexpectedEOF) || ans.StatusCode != http.StatusOK || ans.FailureHint("unreachable", "cut") != "cut" {
		t.Errorf("cut answer: Send = %+v, %v", ans, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ans, err = send(ctx, "/hang")
	if !errors.Is(err, context.DeadlineExceeded) || ans.StatusCode != 0 || strings.Contains(err.Error(), "secret=") ||
		ans.FailureHint("unreachable", "cut") != "unreachable" {
		t.Errorf("no answer: Send = %+v, %v", ans, err)
	}
}

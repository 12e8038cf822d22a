package cloudauth

import (
	"net/http"
	"strconv"
	"strings"
)

// ErrorParts are the parts of a cloud auth method's Error, the failure to get
// a credential from a metadata server or a cloud API before Vault was asked.
type ErrorParts struct {
	// Method is the auth method: "gcp", "azure".
	Method string
	// Op says what was asked for.
	Op string
	// HTTPMethod and URL are the request (URL without its query).
	HTTPMethod, URL string
	// StatusCode is the HTTP status, 0 when no answer came.
	StatusCode int
	// Detail is what the server said, "" when nothing readable.
	Detail string
	// Err is the transport's error.
	Err error
	// Hint says how to fix it.
	Hint string
}

// Text is the error's message:
//
//	<method> auth: <op>: <HTTP method> <url>: <status|no answer>[: <detail>][: <err>][ (hint: <hint>)]
//
// where status is the code and its lower-case text, as in "403 forbidden".
func (p ErrorParts) Text() string {
	var b strings.Builder
	b.WriteString(p.Method + " auth: " + p.Op + ": " + p.HTTPMethod + " " + p.URL + ": ")
	if p.StatusCode == 0 {
		b.WriteString("no answer")
	} else {
		b.WriteString(strconv.Itoa(p.StatusCode))
		if t := http.StatusText(p.StatusCode); t != "" {
			b.WriteString(" " + strings.ToLower(t))
		}
	}
	if p.Detail != "" {
		b.WriteString(": " + p.Detail)
	}
	if p.Err != nil {
		b.WriteString(": " + p.Err.Error())
	}
	if p.Hint != "" {
		b.WriteString(" (hint: " + p.Hint + ")")
	}
	return b.String()
}

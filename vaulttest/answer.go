package vaulttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Answer is an HTTP answer a Proxy sends in Vault's place: one that
// Fault.Respond makes up, or Vault's own that Fault.Rewrite changes. The proxy
// computes Content-Length from Body; the hop-by-hop headers are dropped.
type Answer struct {
	// Status is the HTTP status (0 means 200).
	Status int
	// Header is sent as given (no Content-Type unless set).
	Header http.Header
	// Body is sent as given; it need not be valid JSON.
	Body []byte
}

// SetJSON decodes the JSON Body, sets the value at path and encodes the Body
// again. path is a dot-separated list of object keys and array indexes
// (auth.lease_duration, errors.0); every step but the last must exist; the
// last key is added to its object when absent. value is encoded with
// encoding/json: pass json.RawMessage for exact JSON text (1e30 rather than
// 1e+30). Numbers elsewhere in the Body keep their exact text; object keys come
// out sorted.
//
//	err := a.SetJSON("auth.lease_duration", json.RawMessage(`1e30`))
func (a *Answer) SetJSON(path string, value any) error {
	raw, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("vaulttest: SetJSON %s: %w", path, err)
	}
	return a.setJSON(path, raw, false)
}

// setJSON sets path to raw; with mustExist, the last step must exist too.
func (a *Answer) setJSON(path string, raw json.RawMessage, mustExist bool) error {
	dec := json.NewDecoder(bytes.NewReader(a.Body))
	dec.UseNumber() // other numbers keep their exact text
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("vaulttest: SetJSON %s: the body is not JSON: %w", path, err)
	}
	if dec.More() {
		return fmt.Errorf("vaulttest: SetJSON %s: the body holds more than one JSON value", path)
	}
	if path == "" {
		return errors.New("vaulttest: SetJSON: empty path")
	}
	steps := strings.Split(path, ".")
	at := doc
	for i, step := range steps {
		last := i == len(steps)-1
		switch node := at.(type) {
		case map[string]any:
			next, ok := node[step]
			if !ok && (!last || mustExist) {
				return fmt.Errorf("vaulttest: SetJSON %s: no %q in the body", path, strings.Join(steps[:i+1], "."))
			}
			if last {
				node[step] = raw
			}
			at = next
		case []any:
			k, err := strconv.Atoi(step)
			if err != nil || k < 0 || k >= len(node) {
				return fmt.Errorf("vaulttest: SetJSON %s: %q is not an index of an array of %d", path, strings.Join(steps[:i+1], "."), len(node))
			}
			if last {
				node[k] = raw
			}
			at = node[k]
		default:
			return fmt.Errorf("vaulttest: SetJSON %s: %q is neither an object nor an array", path, strings.Join(steps[:i], "."))
		}
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("vaulttest: SetJSON %s: %w", path, err)
	}
	a.Body = bytes.TrimSuffix(out.Bytes(), []byte("\n"))
	return nil
}

// RespondJSON is a Fault.Respond that answers every request it sees with
// status and body (Content-Type application/json; the body is sent as is, valid
// JSON or not).
//
//	vaulttest.Fault{Only: vaulttest.PathIs("auth/token/renew-self"), Respond: vaulttest.RespondJSON(500, `{"errors":["past the max TTL, cannot renew"]}`)}
func RespondJSON(status int, body string) func(*http.Request, []byte) *Answer {
	return func(*http.Request, []byte) *Answer {
		return &Answer{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
	}
}

// RewriteJSON is a Fault.Rewrite that sets the value at path (as
// Answer.SetJSON does) in every answer from Vault that has it: in a fault on
// all requests, RewriteJSON("auth.lease_duration", v) changes logins and token
// renewals and leaves the other answers alone (they do not count as
// FaultRewrite). It panics if value cannot be encoded as JSON.
//
//	vaulttest.Fault{Rewrite: vaulttest.RewriteJSON("auth.lease_duration", int64(20211507185753197))}
func RewriteJSON(path string, value any) func(*http.Request, *Answer) *Answer {
	raw, err := json.Marshal(value)
	if err != nil {
		panic(fmt.Sprintf("vaulttest: RewriteJSON %s: %v", path, err))
	}
	return func(_ *http.Request, a *Answer) *Answer {
		if a.setJSON(path, raw, true) != nil {
			return nil // not a JSON answer with that path: unchanged
		}
		return a
	}
}

// Package render renders the templates of `gdsvault agent`: Go text/template
// files with functions that read secrets, written to their destinations
// atomically and only when their content changes.
//
// Template functions:
//
//	{{ secret "secret/myapp/config" "db_pass" }}     one value (strings as they are, other values as JSON)
//	{{ with secretMap "secret/myapp/config" }}{{ .db_host }}:{{ .port }}{{ end }}
//	{{ range $k, $v := secretMap "database/creds/app" }}{{ $k }}={{ $v }}{{ end }}
//
// A path is read once per render however often a template names it, so the
// username and password of one dynamic secret always come from the same
// lease. A missing secret, a missing key, or a map key the secret lacks is an
// error that names the template, the path and the key, never a value; the
// caller then keeps the destination as it was.
package render

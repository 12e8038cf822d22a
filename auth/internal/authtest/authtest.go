// Package authtest holds the test helpers the auth method packages' tests
// share: a client closed when the test ends, JWTs signed with ES256, a token
// file replaced as token issuers do, and the checks every method's login
// must pass: Vault's refusal is gdsvault.ErrAuthFailed, and no credential
// shows in an error, a log line or a printed form.
package authtest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/vaulttest"
)

// Client is a client for addr (a tokenless one, unless opts give a token or
// an auth method), closed when the test ends.
func Client(tb testing.TB, addr string, opts ...gdsvault.Option) *gdsvault.Client {
	tb.Helper()
	c, err := gdsvault.New(append([]gdsvault.Option{gdsvault.WithAddress(addr)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close(vaulttest.Context(tb)) })
	return c
}

// SignES256 returns the compact JWS of claims signed with key: ES256, the
// signature r||s, 32 bytes each.
func SignES256(tb testing.TB, key *ecdsa.PrivateKey, claims map[string]any) string {
	tb.Helper()
	enc := base64.RawURLEncoding
	payload, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	signed := enc.EncodeToString([]byte(`{"alg":"ES256","typ":"JWT"}`)) + "." + enc.EncodeToString(payload)
	h := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		tb.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signed + "." + enc.EncodeToString(sig)
}

// ReplaceFile writes tok and a newline to path the way token issuers (the
// kubelet, a CI runner) rotate a token file: a new file renamed over the old
// one.
func ReplaceFile(tb testing.TB, path, tok string) {
	tb.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(tok+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

// Printed is how a test may print v: with %v, %+v and %#v.
func Printed(v any) string { return fmt.Sprintf("%v\n%+v\n%#v", v, v, v) }

// AssertPrinted checks that m prints as want with String and every fmt
// verb, and that a log line of it shows want and none of secrets.
func AssertPrinted(tb testing.TB, m fmt.Stringer, want string, secrets ...string) {
	tb.Helper()
	for _, got := range []string{m.String(), fmt.Sprintf("%v", m), fmt.Sprintf("%+v", m), fmt.Sprintf("%#v", m), fmt.Sprint(m)} {
		if got != want {
			tb.Errorf("printed %q\nwant    %q", got, want)
		}
	}
	var logs vaulttest.LogBuffer
	logs.Logger(slog.LevelInfo).Info("auth", "method", m)
	if !strings.Contains(logs.String(), want) {
		tb.Errorf("slog: %s", logs.String())
	}
	vaulttest.AssertNoSecret(tb, "the log line", logs.String(), secrets...)
}

// AssertRefused checks the answer of m.Login that Vault refused: no auth, an
// error matching gdsvault.ErrAuthFailed that is a 4xx *ResponseError, and
// neither the error nor m printed showing secret.
func AssertRefused(tb testing.TB, m gdsvault.AuthMethod, a *gdsvault.Auth, err error, secret string) {
	tb.Helper()
	if a != nil || !errors.Is(err, gdsvault.ErrAuthFailed) {
		tb.Fatalf("Login = %v, %v; want ErrAuthFailed", a, err)
	}
	var re *gdsvault.ResponseError
	if !errors.As(err, &re) || re.StatusCode < 400 || re.StatusCode >= 500 {
		tb.Fatalf("err = %#v, want a 4xx *ResponseError", err)
	}
	vaulttest.AssertNoSecret(tb, "the error or the method printed", Printed(err)+"\n"+Printed(m), secret)
	tb.Logf("%v", err)
}

// AssertSecretsNeverPrinted logs in at the Vault at addr with good, a token
// Vault accepts, and bad, one it refuses (method builds the auth method for
// a token): through a client with a debug logger that reads secretPath,
// then through Login. Neither token, nor the Vault token good obtained, may
// show in a log line, an error, an answer or a printed form of the method or
// the client; the debug log must show the logins at auth/<mount>/login.
func AssertSecretsNeverPrinted(tb testing.TB, addr, mount, secretPath string, method func(tok string) gdsvault.AuthMethod, good, bad string) {
	tb.Helper()
	var logs vaulttest.LogBuffer
	logger := logs.Logger(slog.LevelDebug)

	var seen []string
	var vaultToken string
	for _, tok := range []string{good, bad} {
		m := method(tok)
		c := Client(tb, addr, gdsvault.WithAuth(m), gdsvault.WithLogger(logger))
		s, err := c.GetSecret(vaulttest.Context(tb), secretPath)
		seen = append(seen, fmt.Sprintf("%v", s), Printed(m), fmt.Sprintf("%v", c))
		if err != nil {
			seen = append(seen, Printed(err))
		}
		a, err := m.Login(vaulttest.Context(tb), c)
		seen = append(seen, fmt.Sprintf("%+v\n%#v", a, a))
		if err != nil {
			seen = append(seen, err.Error(), fmt.Sprintf("%+v", err))
		} else {
			vaultToken = a.ClientToken.Reveal()
		}
	}
	if vaultToken == "" {
		tb.Fatal("the good token did not log in")
	}
	log := logs.String()
	if !strings.Contains(log, "auth/"+mount+"/login") {
		tb.Fatalf("the debug log does not show the login requests:\n%s", log)
	}
	vaulttest.AssertNoSecret(tb, "a log line, an error or a printed form", strings.Join(append(seen, log), "\n"), good, bad, vaultToken)
}

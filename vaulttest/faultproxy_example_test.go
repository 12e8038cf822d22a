package vaulttest_test

import (
	"fmt"
	"io"
	"net/http"

	"github.com/gdsvault/gdsvault/vaulttest"
)

// A proxy outside go test answers a token renewal with Vault's 500 "past the
// max TTL", without asking Vault (none runs here); other paths would pass
// through.
func ExampleStartProxy() {
	p, err := vaulttest.StartProxy("http://127.0.0.1:8200")
	if err != nil {
		panic(err)
	}
	defer p.Close()
	p.Set(vaulttest.Fault{
		Only:    vaulttest.PathIs("auth/token/renew-self"),
		Respond: vaulttest.RespondJSON(500, `{"errors":["past the max TTL, cannot renew"]}`),
	})
	resp, err := http.Post(p.Addr+"/v1/auth/token/renew-self", "application/json", nil)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(b))
	st := p.Stats()
	fmt.Println(st.Paths["auth/token/renew-self"], st.Forwarded)
	// Output:
	// 500 {"errors":["past the max TTL, cannot renew"]}
	// 1 0
}

// Every login and token renewal from Vault comes back with a lease_duration
// no client should believe; other answers pass unchanged.
func ExampleRewriteJSON() {
	f := vaulttest.Fault{Rewrite: vaulttest.RewriteJSON("auth.lease_duration", int64(20211507185753197))}
	fmt.Println(f.Validate())
	// Output: <nil>
}

// A body that sends its status, headers and 10 bytes, then nothing until
// the next Set.
func ExampleFault_stall() {
	f := vaulttest.Fault{StreamBody: 1 << 20, Stall: true, StallAfter: 10}
	fmt.Println(f.Validate())
	// Output: <nil>
}

package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/gdsvault/gdsvault/vaulttest"
)

// sharedLab is the Vault the micro-benchmarks share, started on first use
// (the smoke test starts its own through Run).
var (
	sharedOnce sync.Once
	shared     *Lab
	sharedErr  error
)

func benchLab(tb testing.TB) *Lab {
	tb.Helper()
	sharedOnce.Do(func() { shared, sharedErr = StartLab(context.Background()) })
	if errors.Is(sharedErr, vaulttest.ErrNoBinary) && !vaulttest.Required() {
		tb.Skip("no Vault binary: the measurement needs a real Vault (VAULTTEST_REQUIRED=1 makes this fail)")
	}
	if sharedErr != nil {
		tb.Fatal(sharedErr)
	}
	return shared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "vault server log (last lines):\n%s\n", tail(shared.Server.Logs(), 4096))
		}
		shared.Close()
	}
	os.Exit(code)
}

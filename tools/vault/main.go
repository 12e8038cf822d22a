// Command vault is the HashiCorp Vault server and CLI at the version pinned in go.mod,
// built from the Go module proxy so that tests need no prebuilt binary.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}

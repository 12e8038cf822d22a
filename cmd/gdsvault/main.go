// Command gdsvault reads and writes HashiCorp Vault secrets, runs programs
// with secrets in their environment (exec) and keeps a token and rendered
// files fresh for other processes (agent). See `gdsvault --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/gdsvault/gdsvault/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.LookupEnv, options()...)
	stop()
	os.Exit(code)
}

//go:build !unix

package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newExecCmd: gdsvault exec supervises its program with process groups and
// signals, which this system lacks.
func newExecCmd(_ *globals) *cobra.Command {
	return &cobra.Command{
		Use:                "exec [flags] -- PROGRAM [ARGS...]",
		Short:              "Run a program with secrets in its environment (Unix only)",
		DisableFlagParsing: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("gdsvault exec needs a Unix system (process groups and signals); use gdsvault agent to render files instead")
		},
	}
}

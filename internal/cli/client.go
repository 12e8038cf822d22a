package cli

import (
	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/config"
)

// clientWithoutLogin builds a client from cfg that has no auth method: it
// uses cfg's token, if any (health, token, unwrap), or is handed to an auth
// method by the command (login). client() builds the one that logs in.
func (g *globals) clientWithoutLogin(cfg *config.Config) (*gdsvault.Client, error) {
	return gdsvault.New(append(cfg.Options(), g.clientOptions(cfg)...)...)
}

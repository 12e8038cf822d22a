package aws

import (
	"cmp"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/internal/login"
	"github.com/gdsvault/gdsvault/config"
)

// FromConfig builds the method from a gdsvault configuration
// (VAULT_AWS_ROLE, VAULT_AUTH_MOUNT unless cfg.AWS.Mount is set, AWS_REGION,
// VAULT_AWS_HEADER_VALUE, VAULT_AWS_STS_ENDPOINT). Pass it to auth.WithAWS so that auth.Detect can
// choose AWS:
//
//	client, _, err := auth.NewClient(cfg, nil, auth.WithAWS(awsauth.FromConfig))
func FromConfig(cfg *config.Config) (gdsvault.AuthMethod, error) {
	if cfg == nil {
		return nil, &gdsvault.ConfigError{Field: "aws config", Problem: "is nil", Hint: "pass the configuration of config.FromEnv or config.Load"}
	}
	opts := login.AppendSet(nil, cmp.Or(cfg.AWS.Mount, cfg.AuthMount), WithMountPath)
	opts = login.AppendSet(opts, cfg.AWS.Region, WithRegion)
	opts = login.AppendSet(opts, cfg.AWS.ServerIDHeader, WithServerIDHeader)
	opts = login.AppendSet(opts, cfg.AWS.STSEndpoint, WithSTSEndpoint)
	m, err := New(cfg.AWS.Role, opts...)
	if err != nil {
		return nil, err
	}
	return m, nil
}

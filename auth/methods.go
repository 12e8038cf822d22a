package auth

import (
	"cmp"
	"strings"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth/approle"
	"github.com/gdsvault/gdsvault/auth/azure"
	"github.com/gdsvault/gdsvault/auth/cert"
	"github.com/gdsvault/gdsvault/auth/gcp"
	"github.com/gdsvault/gdsvault/auth/internal/login"
	"github.com/gdsvault/gdsvault/auth/jwt"
	"github.com/gdsvault/gdsvault/auth/kubernetes"
	"github.com/gdsvault/gdsvault/auth/token"
	"github.com/gdsvault/gdsvault/auth/userpass"
	"github.com/gdsvault/gdsvault/config"
)

// Method is one row of the decision tree: an auth method, the settings it
// needs, when Detect picks it unasked, and how to build it.
type Method struct {
	// Name is what VAULT_AUTH_METHOD (auth_method in the YAML file, the
	// CLI's --method) says to ask for this method: "approle".
	Name string
	// Needs are the settings the method cannot do without. When the method
	// is asked for and some are missing, Detect fails in the seed's words:
	// "auth method approle: needs VAULT_ROLE_ID and VAULT_SECRET_ID (or
	// VAULT_WRAPPED_SECRET_ID); VAULT_SECRET_ID is not set".
	Needs []Setting
	// Detect says whether the method fits a configuration that asks for no
	// method, and why (the Decision's reason) or why not (a line of
	// Detect's *NoMethodError). lacking is Needs less what cfg has, each
	// named as in the "needs" list. A nil Detect: the method is used only
	// when asked for. WhenSet is the common case.
	Detect func(cfg *config.Config, lacking []string) (fits bool, why string)
	// Build builds the method once its Needs are there.
	Build Builder
}

// Setting is one setting a method needs.
type Setting struct {
	// Name is the variable that gives it: "VAULT_ROLE_ID". Messages name
	// where it came from instead when that differs (config.Config.NameOf:
	// VAULT_ROLE_ID_FILE, a variable a YAML file references...).
	Name string
	// Or, when not "", names the alternatives in the "needs" list:
	// "VAULT_WRAPPED_SECRET_ID" gives "VAULT_SECRET_ID (or VAULT_WRAPPED_SECRET_ID)".
	Or string
	// IsSet reports whether cfg has it.
	IsSet func(cfg *config.Config) bool
}

// WhenSet is the usual Method.Detect: the method fits when none of its
// Needs is lacking, with the reason why; otherwise it says what is not set.
func WhenSet(why string) func(cfg *config.Config, lacking []string) (bool, string) {
	return func(_ *config.Config, lacking []string) (bool, string) {
		if len(lacking) > 0 {
			return false, notSet(lacking)
		}
		return true, why
	}
}

// Methods is the decision tree ("Where is your app running?") as the table
// Detect reads. Detect decides, in this order:
//
//  1. An explicit method wins: VAULT_AUTH_METHOD (or auth_method in the YAML
//     file, or the CLI's --method) names a row; a name no row has is an error
//     that lists them. When settings it Needs are missing, the error names
//     each one in the seed's words.
//  2. kubernetes, when running in a pod (KUBERNETES_SERVICE_HOST is set) and
//     VAULT_K8S_ROLE is set.
//  3. Cloud IAM, when a cloud role is set: aws (VAULT_AWS_ROLE; building it
//     needs WithAWS), then gcp (VAULT_GCP_ROLE), then azure (VAULT_AZURE_ROLE).
//  4. approle, when VAULT_ROLE_ID and a secret ID (VAULT_SECRET_ID,
//     VAULT_SECRET_ID_FILE or VAULT_WRAPPED_SECRET_ID) are set.
//  5. token, last: VAULT_TOKEN or ~/.vault-token. Token auth is for
//     development: when ENVIRONMENT=production it is chosen only if asked
//     for explicitly (VAULT_AUTH_METHOD=token).
//
// Steps 2 to 5 are the rows that have a Detect, in the table's order: Detect
// takes the first that fits. jwt, userpass and cert have none: they are used
// only when asked for. When nothing fits, Detect's *NoMethodError lists each
// method it tried and what it lacked.
//
// Each call returns a new table, which the caller may change and give to
// Detect with WithMethods: a method added in its own package is one more
// row, and nothing else (see the example of WithMethods).
func Methods() []Method {
	return []Method{
		{
			Name:  "kubernetes",
			Needs: []Setting{{Name: "VAULT_K8S_ROLE", IsSet: func(c *config.Config) bool { return c.Kubernetes.Role != "" }}},
			Detect: func(c *config.Config, lacking []string) (bool, string) {
				switch {
				case !c.Kubernetes.InPod:
					return false, "not in a pod (KUBERNETES_SERVICE_HOST is not set)"
				case len(lacking) > 0:
					return false, "running in a pod, but " + notSet(lacking)
				}
				return true, "running in a Kubernetes pod with VAULT_K8S_ROLE set"
			},
			Build: buildKubernetes,
		},
		{
			Name:   "aws",
			Needs:  []Setting{{Name: "VAULT_AWS_ROLE", IsSet: func(c *config.Config) bool { return c.AWS.Role != "" }}},
			Detect: WhenSet("VAULT_AWS_ROLE is set"),
			Build:  awsNotLinked, // WithAWS links the real one
		},
		{
			Name:   "gcp",
			Needs:  []Setting{{Name: "VAULT_GCP_ROLE", IsSet: func(c *config.Config) bool { return c.GCP.Role != "" }}},
			Detect: WhenSet("VAULT_GCP_ROLE is set"),
			Build:  buildGCP,
		},
		{
			Name:   "azure",
			Needs:  []Setting{{Name: "VAULT_AZURE_ROLE", IsSet: func(c *config.Config) bool { return c.Azure.Role != "" }}},
			Detect: WhenSet("VAULT_AZURE_ROLE is set"),
			Build:  buildAzure,
		},
		{
			Name: "approle",
			Needs: []Setting{
				{Name: "VAULT_ROLE_ID", IsSet: func(c *config.Config) bool { return !c.AppRole.RoleID.IsZero() }},
				{Name: "VAULT_SECRET_ID", Or: "VAULT_WRAPPED_SECRET_ID", IsSet: func(c *config.Config) bool {
					return !c.AppRole.SecretID.IsZero() || !c.AppRole.WrappedSecretID.IsZero()
				}},
			},
			Detect: WhenSet("AppRole role ID and secret ID are set"),
			Build:  buildAppRole,
		},
		{
			Name:  "token",
			Needs: []Setting{{Name: "VAULT_TOKEN", Or: "~/.vault-token", IsSet: func(c *config.Config) bool { return !c.Token.IsZero() }}},
			Detect: func(c *config.Config, lacking []string) (bool, string) {
				switch {
				case len(lacking) > 0:
					return false, "VAULT_TOKEN is not set and there is no ~/.vault-token"
				case strings.EqualFold(c.Environment, "production"):
					return false, "a token is set, but token auth is for development; in production use a platform-native method, or set VAULT_AUTH_METHOD=token to insist"
				}
				return true, "a token is set (" + c.NameOf("VAULT_TOKEN") + ")"
			},
			Build: buildToken,
		},
		{
			Name: "jwt",
			Needs: []Setting{
				{Name: "VAULT_JWT_ROLE", IsSet: func(c *config.Config) bool { return c.JWT.Role != "" }},
				{Name: "VAULT_JWT", Or: "VAULT_JWT_FILE", IsSet: func(c *config.Config) bool { return !c.JWT.Token.IsZero() }},
			},
			Build: buildJWT,
		},
		{
			Name: "userpass",
			Needs: []Setting{
				{Name: "VAULT_USERNAME", IsSet: func(c *config.Config) bool { return c.Userpass.Username != "" }},
				{Name: "VAULT_PASSWORD", Or: "VAULT_PASSWORD_FILE", IsSet: func(c *config.Config) bool { return !c.Userpass.Password.IsZero() }},
			},
			Build: buildUserpass,
		},
		{
			Name: "cert",
			Needs: []Setting{
				{Name: "VAULT_CLIENT_CERT", IsSet: func(c *config.Config) bool { return c.TLS.ClientCert != "" }},
				{Name: "VAULT_CLIENT_KEY", IsSet: func(c *config.Config) bool { return c.TLS.ClientKey != "" }},
			},
			Build: buildCert,
		},
	}
}

// Names lists the names of a table's methods, in order.
func Names(methods []Method) []string {
	names := make([]string, len(methods))
	for i, m := range methods {
		names[i] = m.Name
	}
	return names
}

// missing reports the Needs cfg lacks: as the "needs" list names them
// (with their alternatives), and plainly.
func (m *Method) missing(cfg *config.Config) (lacking, plain []string) {
	for _, s := range m.Needs {
		if s.IsSet != nil && s.IsSet(cfg) {
			continue
		}
		lacking = append(lacking, s.label(cfg))
		plain = append(plain, cfg.NameOf(s.Name))
	}
	return lacking, plain
}

// label names s as the "needs" list does: "VAULT_SECRET_ID (or VAULT_WRAPPED_SECRET_ID)".
func (s Setting) label(cfg *config.Config) string {
	if s.Or != "" {
		return cfg.NameOf(s.Name) + " (or " + s.Or + ")"
	}
	return cfg.NameOf(s.Name)
}

// build checks m's Needs, then builds it.
func (m *Method) build(cfg *config.Config) (gdsvault.AuthMethod, error) {
	if _, plain := m.missing(cfg); len(plain) > 0 {
		required := make([]string, len(m.Needs))
		for i, s := range m.Needs {
			required[i] = s.label(cfg)
		}
		return nil, needs(m.Name, required, plain)
	}
	am, err := m.Build(cfg)
	if err != nil {
		return nil, err
	}
	if isNil(am) {
		return nil, &gdsvault.ConfigError{Field: "auth method " + m.Name, Problem: "its builder returned no method and no error"}
	}
	return am, nil
}

// notSet says that settings are not set: "A and B are not set".
func notSet(names []string) string {
	return strings.Join(names, " and ") + " " + isOrAre(names) + " not set"
}

// needs reports the settings a method lacks, in the seed's words:
// "auth method approle needs VAULT_ROLE_ID and VAULT_SECRET_ID; VAULT_SECRET_ID is not set".
func needs(method string, required []string, missing []string) error {
	if len(missing) == 0 {
		return nil
	}
	return &gdsvault.ConfigError{Field: "auth method " + method,
		Problem: "needs " + strings.Join(required, " and ") + "; " + notSet(missing)}
}

func isOrAre(s []string) string {
	if len(s) == 1 {
		return "is"
	}
	return "are"
}

// The builders of the table. Each runs once the row's Needs are there; a
// method's own Mount wins over VAULT_AUTH_MOUNT ("" for both: the method's
// default mount).

func buildToken(cfg *config.Config) (gdsvault.AuthMethod, error) {
	if cfg.TokenFile != "" {
		return asMethod(token.New(gdsvault.CredentialFile(cfg.TokenFile)))
	}
	return asMethod(token.New(gdsvault.CredentialValue(cfg.Token.Reveal())))
}

func buildAppRole(cfg *config.Config) (gdsvault.AuthMethod, error) {
	s := cfg.AppRole
	opts := login.AppendSet(nil, cmp.Or(s.Mount, cfg.AuthMount), approle.WithMountPath)
	opts = login.AppendSet(opts, s.RoleName, approle.WithRoleName)
	secret := s.SecretID
	if !s.WrappedSecretID.IsZero() {
		opts = append(opts, approle.WithWrappedSecretID(s.WrappedSecretID))
		secret = gdsvault.Credential{}
	}
	return asMethod(approle.New(s.RoleID, secret, opts...))
}

func buildKubernetes(cfg *config.Config) (gdsvault.AuthMethod, error) {
	s := cfg.Kubernetes
	opts := login.AppendSet(nil, cmp.Or(s.Mount, cfg.AuthMount), kubernetes.WithMountPath)
	opts = login.AppendSet(opts, s.TokenPath, func(p string) kubernetes.Option { return kubernetes.WithToken(gdsvault.CredentialFile(p)) })
	return asMethod(kubernetes.New(s.Role, opts...))
}

func buildJWT(cfg *config.Config) (gdsvault.AuthMethod, error) {
	s := cfg.JWT
	opts := login.AppendSet([]jwt.Option{jwt.WithToken(s.Token)}, cmp.Or(s.Mount, cfg.AuthMount), jwt.WithMountPath)
	return asMethod(jwt.New(s.Role, opts...))
}

func buildUserpass(cfg *config.Config) (gdsvault.AuthMethod, error) {
	s := cfg.Userpass
	opts := login.AppendSet(nil, cmp.Or(s.Mount, cfg.AuthMount), userpass.WithMountPath)
	return asMethod(userpass.New(s.Username, s.Password, opts...))
}

func buildCert(cfg *config.Config) (gdsvault.AuthMethod, error) {
	opts := login.AppendSet([]cert.Option{cert.WithName(cfg.Cert.Role)}, cmp.Or(cfg.Cert.Mount, cfg.AuthMount), cert.WithMountPath)
	return asMethod(cert.New(opts...))
}

// awsNotLinked is the aws row's builder until WithAWS links the AWS module.
func awsNotLinked(*config.Config) (gdsvault.AuthMethod, error) {
	return nil, &gdsvault.ConfigError{Field: "auth method aws", Problem: "is not linked into this program",
		Hint: "import github.com/gdsvault/gdsvault/auth/aws and pass auth.WithAWS(awsauth.FromConfig)"}
}

func buildGCP(cfg *config.Config) (gdsvault.AuthMethod, error) {
	s := cfg.GCP
	opts := login.AppendSet(nil, cmp.Or(s.Mount, cfg.AuthMount), gcp.WithMountPath)
	opts = login.AppendSet(opts, s.MetadataHost, gcp.WithMetadataHost)
	opts = login.AppendSet(opts, s.ServiceAccount, gcp.WithIAMServiceAccount)
	return asMethod(gcp.New(s.Role, opts...))
}

func buildAzure(cfg *config.Config) (gdsvault.AuthMethod, error) {
	s := cfg.Azure
	opts := login.AppendSet(nil, cmp.Or(s.Mount, cfg.AuthMount), azure.WithMountPath)
	opts = login.AppendSet(opts, s.Resource, azure.WithResource)
	opts = login.AppendSet(opts, s.AuthorityHost, azure.WithAuthorityHost)
	switch {
	case s.FederatedTokenFile != "":
		var missing []string
		if s.TenantID == "" {
			missing = append(missing, "AZURE_TENANT_ID")
		}
		if s.ClientID == "" {
			missing = append(missing, "AZURE_CLIENT_ID")
		}
		if err := needs("azure (workload identity)", []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE"}, missing); err != nil {
			return nil, err
		}
		opts = append(opts, azure.WithWorkloadIdentity(s.TenantID, s.ClientID, gdsvault.CredentialFile(s.FederatedTokenFile)))
	case s.ClientID != "":
		opts = append(opts, azure.WithClientID(s.ClientID))
	}
	return asMethod(azure.New(s.Role, opts...))
}

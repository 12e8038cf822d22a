package aws_test

import (
	"testing"

	"github.com/gdsvault/gdsvault/auth"
	awsauth "github.com/gdsvault/gdsvault/auth/aws"
	"github.com/gdsvault/gdsvault/config"
)

func TestDetectChoosesAWS(t *testing.T) {
	vault.Require(t)
	env := map[string]string{"VAULT_AWS_ROLE": "app", "AWS_REGION": "eu-west-1", "VAULT_AUTH_MOUNT": "aws-prod", "VAULT_AWS_HEADER_VALUE": "vault.example.com"}
	cfg, err := config.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	m, d, err := auth.Detect(cfg, auth.WithAWS(awsauth.FromConfig))
	if err != nil || d.Method != "aws" {
		t.Fatalf("Detect = %v %v", d, err)
	}
	am, ok := m.(*awsauth.Method)
	if !ok || am.Region() != "eu-west-1" || am.MountPath() != "aws-prod" || am.Role() != "app" {
		t.Errorf("method = %v", m)
	}
}

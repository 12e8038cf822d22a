// Package aws logs in to HashiCorp Vault (or OpenBao) with the aws auth
// method, type iam, for gdsvault clients.
//
// The caller proves its AWS identity without sending its AWS credentials:
// Login signs an STS GetCallerIdentity request (POST, body
// "Action=GetCallerIdentity&Version=2011-06-15") with AWS Signature Version 4
// and sends the signed request, not the keys, to auth/<mount>/login. Vault
// replays it to STS, reads the caller's ARN from the answer and checks it
// against the role's bound_iam_principal_arn.
//
//	m, err := aws.New("app", aws.WithServerIDHeader("vault.example.com"))
//	if err != nil { ... }
//	client, err := gdsvault.New(gdsvault.WithAddress(addr), gdsvault.WithAuth(m))
//
// # Credentials
//
// Without WithCredentialsProvider the SDK's standard chain is used
// (config.LoadDefaultConfig): AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
// (and AWS_SESSION_TOKEN), AWS_PROFILE with the shared configuration and
// credentials files, web identity (EKS IRSA), the ECS task role, the EC2
// instance role. The chain is loaded at the first login, with that login's
// context, and asked for credentials at every login; it caches and refreshes
// temporary credentials itself. When no credentials can be had, Login
// returns a *CredentialsError (errors.Is(err, ErrCredentials)) that wraps the
// SDK's error and says what to set; it never contains a secret key or a
// session token.
//
// # Region and endpoint
//
// The request is signed for us-east-1 and addressed to the global endpoint
// https://sts.amazonaws.com/ by default: that is the endpoint Vault calls when
// its sts_endpoint is not configured, and the signature covers the Host, so
// client and server must agree. WithRegion("eu-west-1") signs for that
// region and addresses https://sts.eu-west-1.amazonaws.com/, which suits a
// Vault configured with sts_endpoint=https://sts.eu-west-1.amazonaws.com and
// sts_region=eu-west-1. WithSTSEndpoint sets another signed URL (a FIPS or
// other-partition endpoint). The region is deliberately not taken from
// AWS_REGION: it is the server's choice.
//
// Vault sends the request to its own sts_endpoint (scheme and host) with
// the path of the signed URL appended after a slash, and keeps the signed
// URL's host in the Host header; see the tests for what arrives.
//
// # Errors
//
// Vault's refusal (wrong role, unbound principal, a signature STS rejects,
// a missing or wrong X-Vault-AWS-IAM-Server-ID) matches gdsvault.ErrAuthFailed.
//
// This package is a separate Go module so that programs that do not use it
// do not depend on the AWS SDK.
package aws

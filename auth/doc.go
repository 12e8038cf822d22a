// Package auth chooses how a program logs in to Vault, following the seed's
// decision tree ("Where is your app running?"), and builds the client.
//
// The decision tree is data: Methods returns it as an ordered table, one row
// per method (its name, the settings it needs, when it is picked unasked,
// how it is built), and its documentation is the tree's. In short, an
// explicit VAULT_AUTH_METHOD wins; otherwise Kubernetes in a pod, cloud IAM
// when a cloud role is set (AWS, GCP, then Azure), AppRole when its
// credentials are set, and the token last, for development (in
// ENVIRONMENT=production token auth must be asked for explicitly). When
// nothing fits, the error lists each method tried and what it lacked.
//
// Detect walks the table, NewClient builds a client with the method it
// picks, FromEnv does both from the environment. Adding a method is one
// row: its package, plus a Method in a copy of Methods given to Detect with
// WithMethods (or in Methods itself, for a method gdsvault ships).
//
// The AWS method lives in its own module (github.com/gdsvault/gdsvault/auth/aws)
// so that the AWS SDK stays out of programs that do not use it; pass
// WithAWS(awsauth.FromConfig) to let Detect choose it.
package auth

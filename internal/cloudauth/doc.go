// Package cloudauth holds what Vault's cloud auth methods (auth/gcp and
// auth/azure) share: the checks of a role name, a mount path and a base URL,
// the HTTP clients for a link-local metadata server and for a cloud API
// (Clients), sending a request and reading its answer (Send), the text of an
// error, and keeping credentials out of error messages.
//
// Everything here is worded for the method that calls it: the method's name
// ("gcp", "azure") goes into field names, hints and error texts, so that a
// message reads the same as if the method had written it itself. What only
// looks alike across the methods (the shape of their servers' error
// answers, their hints) stays with each method.
//
// Like the methods, it uses only the standard library and gdsvault.
package cloudauth

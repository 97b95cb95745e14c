// Package keystonetest is the identity family's test kit: NewSetup builds a
// bootstrapped identity service (and its API) from options, and Tokens is a
// fake authn.Validator for API tests that need authenticated callers without
// an identity service.
package keystonetest

import (
	"context"

	"imagestack/policy"
	"imagestack/policy/authn"
	"imagestack/policy/keystone"
)

// Tokens maps token ids to the tokens they stand for; unknown ids are invalid.
type Tokens map[string]*keystone.Token

var _ authn.Validator = Tokens{}

// Validate implements authn.Validator.
func (t Tokens) Validate(_ context.Context, id string) (policy.Credentials, error) {
	if tok, ok := t[id]; ok {
		return tok.Credentials(), nil
	}
	return policy.Credentials{}, authn.ErrInvalidToken
}

// Token is a project-scoped token of user "u-<project>" with the given roles.
func Token(project string, roles ...string) *keystone.Token {
	tok := &keystone.Token{User: keystone.User{ID: "u-" + project}, Project: &keystone.Project{ID: project}}
	for _, r := range roles {
		tok.Roles = append(tok.Roles, keystone.Role{Name: r})
	}
	return tok
}

// Credentials are what Token(project, roles...) carries: the caller the
// families' test setups name for that token.
func Credentials(project string, roles ...string) policy.Credentials {
	return Token(project, roles...).Credentials()
}

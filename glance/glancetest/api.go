package glancetest

import (
	"net/http/httptest"
	"testing"

	"imagestack/glance/api"
	"imagestack/policy/authn"
	"imagestack/policy/keystone/keystonetest"
)

// TokenValidator is what the image API authenticates tokens with.
type TokenValidator = authn.Validator

// Tokens are the callers of API tests: "a" and "b" are members of projects
// A and B, "adm" is an admin of project Z.
func Tokens() keystonetest.Tokens {
	return keystonetest.Tokens{"a": keystonetest.Token("A", "member", "reader"),
		"b": keystonetest.Token("B", "member", "reader"), "adm": keystonetest.Token("Z", "admin", "member", "reader")}
}

// serveAPI starts the image API over s.Service, with its own URL as the
// public root.
func (s *Setup) serveAPI(tb testing.TB, tokens TokenValidator) {
	srv := httptest.NewServer(nil)
	srv.Config.Handler = api.New(s.Service, tokens, srv.URL, "http://identity", s.Deps.Log).Handler()
	tb.Cleanup(srv.Close)
	s.Server = srv
}

// Package authn turns the X-Auth-Token of a request into the caller's
// policy.Credentials. It is all the image and compute APIs know of identity:
// the embedded Keystone provides a Validator (policy/keystone/api.Validator),
// and a client of an external Keystone can provide another one.
package authn

import (
	"context"
	"errors"
	"net/http"

	"imagestack/common/httpx"
	"imagestack/policy"
)

// ErrInvalidToken is what a Validator returns (wrapped or not) for a token
// that is unknown, expired, revoked or otherwise not acceptable: the request
// gets 401. Any other error means the token could not be checked at all (the
// identity service or its database is out of reach): the request gets 503
// with Retry-After, never a 401 that would make clients drop a good token.
var ErrInvalidToken = errors.New("invalid token")

// Validator checks tokens.
type Validator interface {
	// Validate returns the credentials of the caller holding token; see
	// ErrInvalidToken for what its errors mean.
	Validate(ctx context.Context, token string) (policy.Credentials, error)
}

// ServiceTokenValidator is a Validator that also judges the X-Service-Token
// a service sends beside its user's token (keystonemiddleware's service
// tokens). RequireToken uses it when the request has one.
type ServiceTokenValidator interface {
	// ValidateWithServiceToken returns the credentials of the user holding
	// token; an invalid service token is ErrInvalidToken too.
	ValidateWithServiceToken(ctx context.Context, token, serviceToken string) (policy.Credentials, error)
}

// validate checks the request's token, and its service token when v judges
// those.
func validate(r *http.Request, v Validator, token string) (policy.Credentials, error) {
	if st, ok := v.(ServiceTokenValidator); ok {
		if service := r.Header.Get("X-Service-Token"); service != "" {
			return st.ValidateWithServiceToken(r.Context(), token, service)
		}
	}
	return v.Validate(r.Context(), token)
}

type credentialsKey struct{}

// WithCredentials returns ctx carrying the caller's credentials.
func WithCredentials(ctx context.Context, c policy.Credentials) context.Context {
	return context.WithValue(ctx, credentialsKey{}, c)
}

// CredentialsFrom returns the caller's credentials that RequireToken put in
// ctx. Outside RequireToken they are empty: no user and no role, which every
// policy rule that names a role or an owner denies.
func CredentialsFrom(ctx context.Context) policy.Credentials {
	c, _ := ctx.Value(credentialsKey{}).(policy.Credentials)
	return c
}

// RequireToken rejects requests without a valid X-Auth-Token with 401 (in
// the family's error format, with Keystone's WWW-Authenticate challenge
// naming identityURI), answers 503 with Retry-After when the token cannot be
// checked, and otherwise runs next with the caller's credentials in the
// request context and the user and project in the access log.
func RequireToken(v Validator, identityURI string, writeErr httpx.ErrorWriter) func(http.Handler) http.Handler {
	challenge := `Keystone uri="` + identityURI + `"`
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token := r.Header.Get("X-Auth-Token")
			if token == "" {
				w.Header().Set("WWW-Authenticate", challenge)
				writeErr(w, r, http.StatusUnauthorized, "The request you have made requires authentication.")
				return
			}
			creds, err := validate(r, v, token)
			switch {
			case errors.Is(err, ErrInvalidToken):
				w.Header().Set("WWW-Authenticate", challenge)
				writeErr(w, r, http.StatusUnauthorized, "The request you have made requires authentication.")
				return
			case err != nil:
				w.Header().Set("Retry-After", httpx.RetryAfter)
				writeErr(w, r, http.StatusServiceUnavailable, "The identity service is unavailable; try again later.")
				return
			}
			ri := httpx.Info(r.Context())
			ri.User, ri.Project = creds.UserID, creds.ProjectID
			next.ServeHTTP(w, r.WithContext(WithCredentials(r.Context(), creds)))
		})
	}
}

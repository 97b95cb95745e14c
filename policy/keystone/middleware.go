package keystone

import (
	"context"
	"errors"
	"net/http"

	"imagestack/common/httpx"
)

type tokenKey struct{}

// WithToken returns ctx carrying the caller's validated token.
func WithToken(ctx context.Context, t *Token) context.Context {
	return context.WithValue(ctx, tokenKey{}, t)
}

// TokenFrom returns the caller's token, or nil outside RequireToken.
func TokenFrom(ctx context.Context) *Token {
	t, _ := ctx.Value(tokenKey{}).(*Token)
	return t
}

// TokenValidator is what API middleware needs from an identity service: the
// embedded Service, or later a client of an external Keystone.
type TokenValidator interface {
	// Validate returns the token with this id, or an error wrapping
	// ErrNotFound when it is unknown, expired or revoked.
	Validate(ctx context.Context, id string) (*Token, error)
}

// RequireToken rejects requests without a valid X-Auth-Token with 401 (in the
// family's error format, with Keystone's WWW-Authenticate challenge) and puts
// the token in the request context otherwise.
func RequireToken(v TokenValidator, identityURI string, writeErr httpx.ErrorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get("X-Auth-Token")
			if id == "" {
				w.Header().Set("WWW-Authenticate", `Keystone uri="`+identityURI+`"`)
				writeErr(w, r, http.StatusUnauthorized, "The request you have made requires authentication.")
				return
			}
			tok, err := v.Validate(r.Context(), id)
			if err != nil {
				if !errors.Is(err, ErrNotFound) {
					w.Header().Set("Retry-After", httpx.RetryAfter)
					writeErr(w, r, http.StatusServiceUnavailable, "The identity service is unavailable; try again later.")
					return
				}
				w.Header().Set("WWW-Authenticate", `Keystone uri="`+identityURI+`"`)
				writeErr(w, r, http.StatusUnauthorized, "The request you have made requires authentication.")
				return
			}
			ri := httpx.Info(r.Context())
			ri.User = tok.User.ID
			if tok.Project != nil {
				ri.Project = tok.Project.ID
			}
			next.ServeHTTP(w, r.WithContext(WithToken(r.Context(), tok)))
		})
	}
}

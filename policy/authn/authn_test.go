package authn_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"imagestack/common/httpx"
	"imagestack/policy"
	"imagestack/policy/authn"
)

// fakeValidator knows one token; "down" stands for an unreachable identity service.
type fakeValidator struct{}

func (fakeValidator) Validate(_ context.Context, token string) (policy.Credentials, error) {
	switch token {
	case "good":
		return policy.Credentials{UserID: "u1", ProjectID: "p1", Roles: []string{"member"}}, nil
	case "down":
		return policy.Credentials{}, errors.New("identity database unreachable")
	}
	return policy.Credentials{}, fmt.Errorf("%w: unknown", authn.ErrInvalidToken)
}

func writeErr(w http.ResponseWriter, _ *http.Request, status int, message string) {
	http.Error(w, message, status)
}

func TestRequireToken(t *testing.T) {
	var seen policy.Credentials
	var info *httpx.RequestInfo
	h := authn.RequireToken(fakeValidator{}, "http://id", writeErr)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, info = authn.CredentialsFrom(r.Context()), httpx.Info(r.Context())
		w.WriteHeader(http.StatusNoContent)
	}))
	serve := func(token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if token != "" {
			req.Header.Set("X-Auth-Token", token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for _, token := range []string{"", "forged"} {
		t.Run("401 for token "+fmt.Sprintf("%q", token), func(t *testing.T) {
			rec := serve(token)
			if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != `Keystone uri="http://id"` {
				t.Fatalf("= %d, WWW-Authenticate %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("503 when the token cannot be checked", func(t *testing.T) {
		rec := serve("down")
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != httpx.RetryAfter {
			t.Fatalf("= %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
		}
		if rec.Header().Get("WWW-Authenticate") != "" {
			t.Fatal("an outage must not challenge the client's token")
		}
	})
	t.Run("credentials reach the handler", func(t *testing.T) {
		if rec := serve("good"); rec.Code != http.StatusNoContent {
			t.Fatalf("= %d", rec.Code)
		}
		if seen.UserID != "u1" || seen.ProjectID != "p1" || len(seen.Roles) != 1 {
			t.Fatalf("credentials: %+v", seen)
		}
		if info == nil {
			t.Fatal("no request info")
		}
	})
}

func TestCredentialsFromOutsideRequireToken(t *testing.T) {
	if c := authn.CredentialsFrom(context.Background()); c.UserID != "" || len(c.Roles) != 0 {
		t.Fatalf("credentials without a token: %+v", c)
	}
}

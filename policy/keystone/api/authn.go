package api

import (
	"context"
	"errors"
	"fmt"

	"imagestack/policy"
	"imagestack/policy/authn"
	"imagestack/policy/keystone"
)

// Validator returns the embedded identity service as the token check of the
// other API families (and of this one): a token the service does not know,
// or no longer accepts, is authn.ErrInvalidToken; any other failure (the
// identity database out of reach) stays what it is, so that it is a 503.
func Validator(svc *keystone.Service) authn.Validator { return validator{svc} }

type validator struct{ svc *keystone.Service }

func (v validator) Validate(ctx context.Context, token string) (policy.Credentials, error) {
	tok, err := v.svc.Validate(ctx, token)
	if err != nil {
		if errors.Is(err, keystone.ErrNotFound) {
			return policy.Credentials{}, fmt.Errorf("%w: %w", authn.ErrInvalidToken, err)
		}
		return policy.Credentials{}, err
	}
	return tok.Credentials(), nil
}

package keystone

import (
	"context"

	"imagestack/policy"
)

// ValidateToken returns the token subject, which the caller may see
// (identity:validate_token: admins, and a token's own user).
func (s *Service) ValidateToken(ctx context.Context, creds policy.Credentials, subject string) (*Token, error) {
	return s.subjectToken(ctx, creds, "identity:validate_token", subject)
}

// CheckToken is ValidateToken for HEAD (identity:check_token).
func (s *Service) CheckToken(ctx context.Context, creds policy.Credentials, subject string) (*Token, error) {
	return s.subjectToken(ctx, creds, "identity:check_token", subject)
}

// RevokeToken revokes the token subject (identity:revoke_token: admins, and
// a token's own user).
func (s *Service) RevokeToken(ctx context.Context, creds policy.Credentials, subject string) error {
	if _, err := s.subjectToken(ctx, creds, "identity:revoke_token", subject); err != nil {
		return err
	}
	return s.Revoke(ctx, subject)
}

// subjectToken validates subject and checks that creds may act on it.
func (s *Service) subjectToken(ctx context.Context, creds policy.Credentials, rule, subject string) (*Token, error) {
	if subject == "" {
		return nil, errorf(ErrNotFound, "Could not find token.")
	}
	tok, err := s.Validate(ctx, subject)
	if err != nil {
		// The subject's owner is unknowable here, so only admins and token
		// holders learn why it failed: check the caller's right first.
		if aerr := s.authorize(creds, rule, policy.Target{"target.token.user_id": ""}); aerr != nil {
			return nil, aerr
		}
		return nil, err
	}
	if err := s.authorize(creds, rule, policy.Target{"target.token.user_id": tok.User.ID}); err != nil {
		return nil, err
	}
	return tok, nil
}

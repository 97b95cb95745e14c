package keystone

import (
	"context"
	"errors"

	"imagestack/policy"
)

// ListDomains returns the domains named name, or all (identity:list_domains).
func (s *Service) ListDomains(ctx context.Context, creds policy.Credentials, name string) ([]Domain, error) {
	if err := s.authorize(creds, "identity:list_domains", nil); err != nil {
		return nil, err
	}
	return s.repo.ListDomains(ctx, name)
}

// GetDomain returns domain id (identity:get_domain).
func (s *Service) GetDomain(ctx context.Context, creds policy.Credentials, id string) (Domain, error) {
	if err := s.authorize(creds, "identity:get_domain", policy.Target{"target.domain.id": id}); err != nil {
		return Domain{}, err
	}
	d, err := s.repo.GetDomain(ctx, id)
	return d, NotFound(err, "domain", id)
}

// AuthDomains returns the enabled domains the caller may scope a token to.
// A domain deleted meanwhile is left out; a failed lookup fails the list.
func (s *Service) AuthDomains(ctx context.Context, creds policy.Credentials) ([]Domain, error) {
	as, err := s.repo.ListAssignments(ctx, AssignmentFilter{UserID: creds.UserID, TargetType: TargetDomain})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := []Domain{}
	for _, a := range as {
		if seen[a.TargetID] {
			continue
		}
		seen[a.TargetID] = true
		d, err := s.repo.GetDomain(ctx, a.TargetID)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, err
		case d.Enabled:
			out = append(out, d)
		}
	}
	return out, nil
}

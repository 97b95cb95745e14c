package main

import (
	"context"
	"errors"

	"imagestack/compute"
	"imagestack/policy/keystone"
)

// keystoneProjects lets compute check project ids (flavor access) against
// the embedded identity store.
type keystoneProjects struct{ store keystone.Repository }

var _ compute.Projects = keystoneProjects{}

// ProjectExists reports whether the identity store knows project id.
func (k keystoneProjects) ProjectExists(ctx context.Context, id string) (bool, error) {
	_, err := k.store.GetProject(ctx, id)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, keystone.ErrNotFound):
		return false, nil
	}
	return false, err
}

// AdminProjectID returns the id of the default domain's admin project, or
// "" when there is none.
func (k keystoneProjects) AdminProjectID(ctx context.Context) (string, error) {
	p, err := k.store.FindProject(ctx, keystone.DefaultDomainID, "admin")
	if errors.Is(err, keystone.ErrNotFound) {
		return "", nil
	}
	return p.ID, err
}

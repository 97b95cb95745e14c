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

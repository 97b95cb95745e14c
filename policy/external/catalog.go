package external

import (
	"context"
	"fmt"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/endpoints"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/services"
)

// CatalogService is one of this cloud's services as Keystone's catalog
// lists it.
type CatalogService struct {
	Type, Name, Description string
	URL                     string // the same for the public, internal and admin interfaces
}

var interfaces = []gophercloud.Availability{gophercloud.AvailabilityPublic, gophercloud.AvailabilityInternal, gophercloud.AvailabilityAdmin}

// RegisterEndpoints makes Keystone's catalog (client: an identity v3 client
// with admin rights) list each service with its public, internal and admin
// endpoints in region, and returns what it changed, one line each. It is
// idempotent: the service of that type and name is reused (made when
// missing), an endpoint of that interface in region is updated to the URL
// (made when missing), and nothing else is touched, so running it again
// changes nothing. Keystone makes the region if it has none of that name.
func RegisterEndpoints(ctx context.Context, client *gophercloud.ServiceClient, region string, svcs []CatalogService) ([]string, error) {
	var changes []string
	for _, s := range svcs {
		id, made, err := ensureService(ctx, client, s)
		if err != nil {
			return changes, err
		}
		if made {
			changes = append(changes, fmt.Sprintf("created service %s (%s), id %s", s.Name, s.Type, id))
		}
		c, err := ensureEndpoints(ctx, client, region, id, s)
		changes = append(changes, c...)
		if err != nil {
			return changes, err
		}
	}
	return changes, nil
}

// ensureService returns the id of the service of s's type and name, making
// it when there is none.
func ensureService(ctx context.Context, client *gophercloud.ServiceClient, s CatalogService) (string, bool, error) {
	pages, err := services.List(client, services.ListOpts{ServiceType: s.Type, Name: s.Name}).AllPages(ctx)
	if err != nil {
		return "", false, fmt.Errorf("list %s services: %w", s.Type, err)
	}
	found, err := services.ExtractServices(pages)
	if err != nil {
		return "", false, err
	}
	for _, f := range found {
		if f.Type == s.Type && f.Name == s.Name {
			return f.ID, false, nil
		}
	}
	enabled := true
	created, err := services.Create(ctx, client, services.CreateOpts{Type: s.Type, Name: s.Name, Description: s.Description,
		Enabled: &enabled}).Extract()
	if err != nil {
		return "", false, fmt.Errorf("create service %s (%s): %w", s.Name, s.Type, err)
	}
	return created.ID, true, nil
}

// ensureEndpoints gives service id an endpoint at s.URL for each interface
// in region.
func ensureEndpoints(ctx context.Context, client *gophercloud.ServiceClient, region, id string, s CatalogService) ([]string, error) {
	pages, err := endpoints.List(client, endpoints.ListOpts{ServiceID: id, RegionID: region}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("list %s endpoints: %w", s.Type, err)
	}
	existing, err := endpoints.ExtractEndpoints(pages)
	if err != nil {
		return nil, err
	}
	var changes []string
	enabled := true
	for _, iface := range interfaces {
		var current *endpoints.Endpoint
		for i, e := range existing {
			if e.Availability == iface && e.ServiceID == id && e.RegionID == region {
				current = &existing[i]
				break
			}
		}
		switch {
		case current == nil:
			if _, err := endpoints.Create(ctx, client, endpoints.CreateOpts{Availability: iface, Region: region, URL: s.URL,
				ServiceID: id, Enabled: &enabled}).Extract(); err != nil {
				return changes, fmt.Errorf("create %s %s endpoint: %w", s.Type, iface, err)
			}
			changes = append(changes, fmt.Sprintf("created %s %s endpoint in %s: %s", s.Type, iface, region, s.URL))
		case current.URL != s.URL || !current.Enabled:
			if _, err := endpoints.Update(ctx, client, current.ID, endpoints.UpdateOpts{URL: s.URL, Enabled: &enabled}).Extract(); err != nil {
				return changes, fmt.Errorf("update %s %s endpoint: %w", s.Type, iface, err)
			}
			changes = append(changes, fmt.Sprintf("updated %s %s endpoint in %s: %s (was %s)", s.Type, iface, region, s.URL, current.URL))
		}
	}
	return changes, nil
}

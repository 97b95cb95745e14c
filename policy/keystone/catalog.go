package keystone

import "imagestack/policy"

// Catalog returns the service catalog as tokens carry it.
func (s *Service) Catalog() []CatalogEntry {
	out := make([]CatalogEntry, 0, len(s.cfg.Services))
	for _, svc := range s.cfg.Services {
		e := CatalogEntry{ID: serviceID(svc.Type), Type: svc.Type, Name: svc.Name}
		for _, iface := range []string{"public", "internal", "admin"} {
			url, ok := svc.URLs[iface]
			if !ok {
				continue
			}
			e.Endpoints = append(e.Endpoints, CatalogEndpoint{
				ID: stableID("endpoint", svc.Type, iface), Interface: iface,
				Region: s.cfg.Region, RegionID: s.cfg.Region, URL: url,
			})
		}
		out = append(out, e)
	}
	return out
}

// serviceID is the id of the catalog service of type typ: the type itself
// ("image"), so that clients that look services up by id or name only
// (`openstack registered limit create --service image`) find it.
func serviceID(typ string) string { return typ }

// CatalogEntry is one service of a token's catalog.
type CatalogEntry struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	Name      string            `json:"name"`
	Endpoints []CatalogEndpoint `json:"endpoints"`
}

// CatalogEndpoint is one endpoint of a catalog entry.
type CatalogEndpoint struct {
	ID        string `json:"id"`
	Interface string `json:"interface"`
	Region    string `json:"region"`
	RegionID  string `json:"region_id"`
	URL       string `json:"url"`
}

// ListServices returns the catalog's services of that name and type (empty:
// any), as keystoneclient's find asks for them (identity:list_services).
func (s *Service) ListServices(creds policy.Credentials, name, typ string) ([]CatalogEntry, error) {
	if err := s.authorize(creds, "identity:list_services", nil); err != nil {
		return nil, err
	}
	out := []CatalogEntry{}
	for _, e := range s.Catalog() {
		if (name == "" || e.Name == name) && (typ == "" || e.Type == typ) {
			out = append(out, e)
		}
	}
	return out, nil
}

// GetService returns one catalog service by id (identity:get_service).
func (s *Service) GetService(creds policy.Credentials, id string) (CatalogEntry, error) {
	if err := s.authorize(creds, "identity:get_service", nil); err != nil {
		return CatalogEntry{}, err
	}
	for _, e := range s.Catalog() {
		if e.ID == id {
			return e, nil
		}
	}
	return CatalogEntry{}, errorf(ErrNotFound, "Could not find service: %s.", id)
}

// GetRegion returns the configured region by id (identity:get_region).
func (s *Service) GetRegion(creds policy.Credentials, id string) (string, error) {
	if err := s.authorize(creds, "identity:get_region", nil); err != nil {
		return "", err
	}
	if id != s.cfg.Region {
		return "", errorf(ErrNotFound, "Could not find region: %s.", id)
	}
	return id, nil
}

// ListEndpoints returns the catalog, whose entries carry the endpoints
// (identity:list_endpoints).
func (s *Service) ListEndpoints(creds policy.Credentials) ([]CatalogEntry, error) {
	if err := s.authorize(creds, "identity:list_endpoints", nil); err != nil {
		return nil, err
	}
	return s.Catalog(), nil
}

// ListRegions returns the one configured region (identity:list_regions).
func (s *Service) ListRegions(creds policy.Credentials) ([]string, error) {
	if err := s.authorize(creds, "identity:list_regions", nil); err != nil {
		return nil, err
	}
	return []string{s.cfg.Region}, nil
}

// AuthCatalog returns the catalog for the caller's token, which must be
// scoped, as in Keystone.
func (s *Service) AuthCatalog(creds policy.Credentials) ([]CatalogEntry, error) {
	if creds.ProjectID == "" && creds.DomainID == "" {
		return nil, errorf(ErrForbidden, "A scoped token is required to get a service catalog.")
	}
	return s.Catalog(), nil
}

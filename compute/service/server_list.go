package service

import (
	"context"
	"errors"
	"regexp"
	"slices"

	"imagestack/compute"
)

// ListQuery is a server listing as asked: the filter and what only the
// service decides on (the projects, the host, the zone).
type ListQuery struct {
	compute.ServerFilter
	// AllTenants asks for every project's servers (admins by default);
	// ProjectID then narrows them to one project ("" any). Without it
	// the caller's own project is listed, whatever ProjectID says (Nova).
	AllTenants bool
	// Host and Zone narrow to servers on the host of that name, in a zone
	// matching the regular expression; "" any.
	Host, Zone string
}

// AllowAllFilters reports whether the caller may filter server listings
// by any field (Nova's allow_all_filters, admins by default); others'
// filters beyond the documented few are ignored.
func (s *Service) AllowAllFilters(c Caller) bool {
	return s.authorize(c, "os_compute_api:servers:allow_all_filters", nil) == nil
}

// List is ListServers of f alone (the caller's project, or all projects
// with allTenants).
func (s *Service) List(ctx context.Context, c Caller, f compute.ServerFilter, allTenants, detail bool) ([]*compute.Server, error) {
	return s.ListServers(ctx, c, ListQuery{ServerFilter: f, AllTenants: allTenants}, detail)
}

// ListServers returns a page of the servers the caller asks for (q), with Nova's
// rules: detail names the policy rule (GET /servers/detail has its own),
// listing all projects or deleted servers is for admins, sorting by host
// or node too.
func (s *Service) ListServers(ctx context.Context, c Caller, q ListQuery, detail bool) ([]*compute.Server, error) {
	for filter, pattern := range map[string]string{"name": q.Name, "key_name": q.KeyName, "availability_zone": q.Zone, "ip": q.IP, "ip6": q.IP6} {
		if _, err := regexp.Compile(pattern); err != nil {
			return nil, compute.Errorf(compute.ErrBadRequest, "Invalid regular expression for %s filter: %s", filter, pattern)
		}
	}
	rule := "os_compute_api:servers:index"
	if detail {
		rule = "os_compute_api:servers:detail"
	}
	if err := s.authorize(c, rule, nil); err != nil {
		return nil, err
	}
	if err := s.listRules(c, &q, rule); err != nil {
		return nil, err
	}
	if !s.onThisHost(&q) {
		return []*compute.Server{}, nil
	}
	list, err := s.Servers.ListServers(ctx, q.ServerFilter)
	if errors.Is(err, compute.ErrNotFound) {
		return nil, compute.Errorf(compute.ErrBadRequest, "marker [%s] not found", q.Marker)
	}
	return list, err
}

// listRules applies the admin-only parts of a listing to q.
func (s *Service) listRules(c Caller, q *ListQuery, rule string) error {
	if q.Status == compute.VMDeleted {
		if !c.IsAdmin {
			return compute.Errorf(compute.ErrForbidden, "Only administrators may list deleted instances")
		}
		deleted := true
		q.Deleted = &deleted
	}
	var keys []compute.SortKey
	for _, k := range q.Sort {
		if (k.Key == "host" || k.Key == "node") && !c.IsAdmin {
			return compute.Errorf(compute.ErrForbidden, "Only administrators can sort servers by %s", k.Key)
		}
		if slices.Contains(compute.ServerSortKeys, k.Key) {
			keys = append(keys, k)
		}
	}
	if len(q.Sort) > 0 && len(keys) == 0 {
		// Only keys every server shares: the default keys keep the
		// first key's direction.
		keys = []compute.SortKey{{Key: "created_at", Desc: q.Sort[0].Desc}}
	}
	q.Sort = keys
	if !q.AllTenants {
		q.ProjectID = c.Creds.ProjectID
		return nil
	}
	return s.authorize(c, rule+":get_all_tenants", nil)
}

// onThisHost reports whether q's zone filter lets servers through (all
// run in ZoneName); its host filter goes to the repository.
func (s *Service) onThisHost(q *ListQuery) bool {
	q.ServerFilter.Host = q.Host
	return q.Zone == "" || regexp.MustCompile(q.Zone).MatchString(ZoneName)
}

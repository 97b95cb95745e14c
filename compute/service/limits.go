package service

import (
	"context"
	"slices"
	"sort"
	"time"

	"imagestack/compute"
	"imagestack/policy"
)

// ServerUsage is one server's share of a usage report.
type ServerUsage struct {
	ID, Name, Flavor, State string
	RAM, Disk, VCPUs        int
	Hours                   float64
	Started                 time.Time
}

// Usage is a project's usage over a period (os-simple-tenant-usage).
type Usage struct {
	ProjectID                             string
	Start, Stop                           time.Time // the period reported on
	Servers                               []ServerUsage
	Hours, VCPUHours, RAMHours, DiskHours float64
}

// Usage sums the project's live servers' running time within [start, end),
// end being no later than now.
func (s *Service) Usage(ctx context.Context, c Caller, project string, start, end time.Time, page UsagePage) (Usage, error) {
	if !s.authz.Enforce("os_compute_api:os-simple-tenant-usage:show", policy.Target{"project_id": project}, c.Creds) {
		return Usage{}, compute.Errorf(compute.ErrForbidden, "Policy doesn't allow os_compute_api:os-simple-tenant-usage:show to be performed.")
	}
	list, err := s.Servers.ListServers(ctx, compute.ServerFilter{ProjectID: project})
	if err != nil {
		return Usage{}, err
	}
	u := Usage{ProjectID: project, Start: start, Stop: s.periodEnd(end)}
	list, err = u.page(list, page)
	u.add(list)
	return u, err
}

// Usages is the usage of every project with live servers in the period
// (admins; os-simple-tenant-usage without a project), ordered by project.
func (s *Service) Usages(ctx context.Context, c Caller, start, end time.Time, page UsagePage) ([]Usage, error) {
	const rule = "os_compute_api:os-simple-tenant-usage:list"
	if !s.authz.Enforce(rule, policy.Target{"project_id": c.Creds.ProjectID}, c.Creds) {
		return nil, compute.Errorf(compute.ErrForbidden, "Policy doesn't allow %s to be performed.", rule)
	}
	list, err := s.Servers.ListServers(ctx, compute.ServerFilter{})
	if err != nil {
		return nil, err
	}
	if list, err = (&Usage{Start: start, Stop: s.periodEnd(end)}).page(list, page); err != nil {
		return nil, err
	}
	byProject := map[string][]*compute.Server{}
	for _, sv := range list {
		byProject[sv.ProjectID] = append(byProject[sv.ProjectID], sv)
	}
	out := []Usage{}
	for project, servers := range byProject {
		u := Usage{ProjectID: project, Start: start, Stop: s.periodEnd(end)}
		if u.add(servers); len(u.Servers) > 0 {
			out = append(out, u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ProjectID < out[j].ProjectID })
	return out, nil
}

// periodEnd is end, or now when end is in the future, as Nova: Horizon
// asks for the usage up to the end of today.
func (s *Service) periodEnd(end time.Time) time.Time {
	if now := s.now().UTC(); end.After(now) {
		return now
	}
	return end
}

// add sums the running time of servers within u's period.
func (u *Usage) add(servers []*compute.Server) {
	for _, sv := range servers {
		from, to := sv.CreatedAt, u.Stop
		if u.Start.After(from) {
			from = u.Start
		}
		if !to.After(from) {
			continue
		}
		h := to.Sub(from).Hours()
		u.Servers = append(u.Servers, ServerUsage{ID: sv.ID, Name: sv.Name, Flavor: sv.FlavorID, State: sv.VMState,
			RAM: sv.RAM, Disk: sv.Disk, VCPUs: sv.VCPUs, Hours: h, Started: sv.CreatedAt})
		u.Hours += h
		u.VCPUHours += h * float64(sv.VCPUs)
		u.RAMHours += h * float64(sv.RAM)
		u.DiskHours += h * float64(sv.Disk)
	}
}

// UsagePage pages a usage report by server (microversion 2.40): the Limit
// servers (0: all) after the one of id Marker, oldest first.
type UsagePage struct {
	Limit  int
	Marker string
}

// page returns the servers that ran within u's period, oldest first, as
// p pages them; an unknown marker is 400.
func (u *Usage) page(list []*compute.Server, p UsagePage) ([]*compute.Server, error) {
	var out []*compute.Server
	for _, sv := range list {
		if u.Stop.After(sv.CreatedAt) && u.Stop.After(u.Start) {
			out = append(out, sv)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	if p.Marker != "" {
		i := slices.IndexFunc(out, func(sv *compute.Server) bool { return sv.ID == p.Marker })
		if i < 0 {
			return nil, compute.Errorf(compute.ErrBadRequest, "Marker %s could not be found.", compute.Clip(p.Marker))
		}
		out = out[i+1:]
	}
	if p.Limit > 0 && len(out) > p.Limit {
		out = out[:p.Limit]
	}
	return out, nil
}

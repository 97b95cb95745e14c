package service

import (
	"context"
	"slices"
	"sort"
	"time"

	"imagestack/compute"
	"imagestack/policy"
)

// Limits are a project's absolute limits and usage, as Nova's /limits shows them.
type Limits struct {
	Quotas                                Quotas
	InstancesUsed, CoresUsed, RAMUsed     int
	KeyPairs, MetadataItems, ServerGroups int
	ServerGroupMembers                    int
}

// Limits returns the caller's project limits and usage.
func (s *Service) Limits(ctx context.Context, c Caller) (Limits, error) {
	if err := s.authorize(c, "os_compute_api:limits", nil); err != nil {
		return Limits{}, err
	}
	used, err := s.Servers.CountUsage(ctx, c.Creds.ProjectID)
	if err != nil {
		return Limits{}, err
	}
	return Limits{Quotas: s.Quotas, InstancesUsed: used.Instances, CoresUsed: used.VCPUs, RAMUsed: used.RAM,
		KeyPairs: 100, MetadataItems: maxMetadataItems, ServerGroups: 10, ServerGroupMembers: 10}, nil
}

// ProjectLimits returns another project's limits for an admin, or the
// caller's own (os-quota-sets).
func (s *Service) ProjectLimits(ctx context.Context, c Caller, project string) (Limits, error) {
	target := policy.Target{"project_id": project}
	if !s.authz.Enforce("os_compute_api:os-quota-sets:show", target, c.Creds) {
		return Limits{}, compute.Errorf(compute.ErrForbidden, "Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.")
	}
	used, err := s.Servers.CountUsage(ctx, project)
	if err != nil {
		return Limits{}, err
	}
	return Limits{Quotas: s.Quotas, InstancesUsed: used.Instances, CoresUsed: used.VCPUs, RAMUsed: used.RAM,
		KeyPairs: 100, MetadataItems: maxMetadataItems, ServerGroups: 10, ServerGroupMembers: 10}, nil
}

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

// UsagePage picks the servers a usage report counts, as Nova's (2.40 made
// it a request's choice): in project then id order, those after Marker (a
// server id; unknown: ErrBadRequest) that ran in the period, at most Limit
// of them (0: all).
type UsagePage struct {
	Marker string
	Limit  int
}

// Usage sums the project's live servers' running time within [start, end),
// end being no later than now, over the servers of page.
func (s *Service) Usage(ctx context.Context, c Caller, project string, start, end time.Time, page UsagePage) (Usage, error) {
	if !s.authz.Enforce("os_compute_api:os-simple-tenant-usage:show", policy.Target{"project_id": project}, c.Creds) {
		return Usage{}, compute.Errorf(compute.ErrForbidden, "Policy doesn't allow os_compute_api:os-simple-tenant-usage:show to be performed.")
	}
	list, err := s.Servers.ListServers(ctx, compute.ServerFilter{ProjectID: project})
	if err != nil {
		return Usage{}, err
	}
	u := Usage{ProjectID: project, Start: start, Stop: s.periodEnd(end)}
	list, err = page.servers(list, u.Start, u.Stop)
	u.add(list)
	return u, err
}

// Usages is the usage of every project with live servers of page in the
// period (admins; os-simple-tenant-usage without a project), ordered by
// project.
func (s *Service) Usages(ctx context.Context, c Caller, start, end time.Time, page UsagePage) ([]Usage, error) {
	const rule = "os_compute_api:os-simple-tenant-usage:list"
	if !s.authz.Enforce(rule, policy.Target{"project_id": c.Creds.ProjectID}, c.Creds) {
		return nil, compute.Errorf(compute.ErrForbidden, "Policy doesn't allow %s to be performed.", rule)
	}
	list, err := s.Servers.ListServers(ctx, compute.ServerFilter{})
	if err != nil {
		return nil, err
	}
	if list, err = page.servers(list, start, s.periodEnd(end)); err != nil {
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

// servers is the page's share of list (which it sorts) for the period
// [start, stop).
func (p UsagePage) servers(list []*compute.Server, start, stop time.Time) ([]*compute.Server, error) {
	sort.Slice(list, func(i, j int) bool {
		if list[i].ProjectID != list[j].ProjectID {
			return list[i].ProjectID < list[j].ProjectID
		}
		return list[i].ID < list[j].ID
	})
	if p.Marker != "" {
		i := slices.IndexFunc(list, func(sv *compute.Server) bool { return sv.ID == p.Marker })
		if i < 0 {
			return nil, compute.Errorf(compute.ErrBadRequest, "Marker %s could not be found.", compute.Clip(p.Marker))
		}
		list = list[i+1:]
	}
	var out []*compute.Server
	for _, sv := range list {
		if p.Limit > 0 && len(out) == p.Limit {
			break
		}
		if sv.CreatedAt.Before(stop) && stop.After(start) {
			out = append(out, sv)
		}
	}
	return out, nil
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

package service

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"imagestack/compute"
	"imagestack/policy"
)

const groupRule = "os_compute_api:os-server-groups:"

// NewServerGroup is a create request: one policy and, for anti-affinity
// only, the max_server_per_host rule (0: none).
type NewServerGroup struct {
	Name             string
	Policy           string
	MaxServerPerHost int
}

// CreateServerGroup creates a group in the caller's project within its
// server_groups quota (403 beyond it).
func (s *Service) CreateServerGroup(ctx context.Context, c Caller, req NewServerGroup) (compute.ServerGroup, error) {
	if err := s.authorize(c, groupRule+"create", policy.Target{"project_id": c.Creds.ProjectID}); err != nil {
		return compute.ServerGroup{}, err
	}
	if err := checkName("name", req.Name); err != nil {
		return compute.ServerGroup{}, err
	}
	if req.MaxServerPerHost != 0 && req.Policy != compute.PolicyAntiAffinity {
		return compute.ServerGroup{}, compute.Errorf(compute.ErrBadRequest, "Only anti-affinity policy supports rules.")
	}
	limits, err := s.limitsOf(ctx, c.Creds.ProjectID, c.Creds.UserID)
	if err != nil {
		return compute.ServerGroup{}, err
	}
	g := compute.ServerGroup{ID: uuid.NewString(), Name: req.Name, ProjectID: c.Creds.ProjectID, UserID: c.Creds.UserID,
		Policy: req.Policy, MaxServerPerHost: req.MaxServerPerHost, Members: []compute.GroupMember{}, CreatedAt: s.now().UTC()}
	if err := s.Groups.CreateServerGroup(ctx, g, limits[compute.QuotaServerGroups]); err != nil {
		return compute.ServerGroup{}, err
	}
	return g, nil
}

// GetServerGroup returns a group the caller may see; others' are 404.
func (s *Service) GetServerGroup(ctx context.Context, c Caller, id string) (compute.ServerGroup, error) {
	return s.visibleGroup(ctx, c, id, "show")
}

// DeleteServerGroup deletes a group the caller may delete; its servers stay.
func (s *Service) DeleteServerGroup(ctx context.Context, c Caller, id string) error {
	if _, err := s.visibleGroup(ctx, c, id, "delete"); err != nil {
		return err
	}
	return s.groupNotFound(s.Groups.DeleteServerGroup(ctx, id), id)
}

// ListServerGroups returns the caller's project's groups or, for an admin
// asking allProjects, every project's (oldest first), each showing only
// its live members.
func (s *Service) ListServerGroups(ctx context.Context, c Caller, allProjects bool) ([]compute.ServerGroup, error) {
	if err := s.authorize(c, groupRule+"index", policy.Target{"project_id": c.Creds.ProjectID}); err != nil {
		return nil, err
	}
	project := c.Creds.ProjectID
	if allProjects && c.IsAdmin {
		if err := s.authorize(c, groupRule+"index:all_projects", policy.Target{"project_id": c.Creds.ProjectID}); err != nil {
			return nil, err
		}
		project = ""
	}
	return s.Groups.ListServerGroups(ctx, project)
}

// visibleGroup reads a group and checks rule against its project; a
// group the caller may not act on is 404, as one that does not exist.
func (s *Service) visibleGroup(ctx context.Context, c Caller, id, rule string) (compute.ServerGroup, error) {
	g, err := s.Groups.GetServerGroup(ctx, id)
	if err != nil {
		return g, s.groupNotFound(err, id)
	}
	if !s.authz.Enforce(groupRule+rule, policy.Target{"project_id": g.ProjectID}, c.Creds) {
		if g.ProjectID != c.Creds.ProjectID {
			return g, s.groupNotFound(compute.ErrNotFound, id)
		}
		return g, compute.Errorf(compute.ErrForbidden, "Policy doesn't allow %s%s to be performed.", groupRule, rule)
	}
	return g, nil
}

// groupNotFound words a missing group as Nova does.
func (s *Service) groupNotFound(err error, id string) error {
	if errors.Is(err, compute.ErrNotFound) {
		return compute.Errorf(compute.ErrNotFound, "Instance group %s could not be found.", id)
	}
	return err
}

// ServerGroupsOf returns the ids of the group a server belongs to (none
// or one), as the 2.71 server view shows them.
func (s *Service) ServerGroupsOf(ctx context.Context, serverID string) ([]string, error) {
	g, err := s.Groups.GroupOfServer(ctx, serverID)
	if errors.Is(err, compute.ErrNotFound) {
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	return []string{g.ID}, nil
}

// createQuotas reads the caller's limits for a create request: its
// metadata must fit metadata_items, its group (os:scheduler_hints) must be
// one the caller may see with room for MinCount more members (MaxCount is
// cut down to that room). It returns the instance, core and RAM limits.
func (s *Service) createQuotas(ctx context.Context, c Caller, req *CreateRequest) (Quotas, error) {
	limits, err := s.limitsOf(ctx, c.Creds.ProjectID, c.Creds.UserID)
	if err != nil {
		return Quotas{}, err
	}
	if err := checkMetadataQuota(limits[compute.QuotaMetadataItems], len(req.Metadata)); err != nil {
		return Quotas{}, err
	}
	q := Quotas{Instances: limits[compute.QuotaInstances], Cores: limits[compute.QuotaCores], RAM: limits[compute.QuotaRAM]}
	if req.Group == "" {
		return q, nil
	}
	g, err := s.visibleGroup(ctx, c, req.Group, "show")
	if errors.Is(err, compute.ErrNotFound) {
		return q, compute.Errorf(compute.ErrBadRequest, "Instance group %s could not be found.", compute.Clip(req.Group))
	}
	if err != nil {
		return q, err
	}
	left := room(limits[compute.QuotaServerGroupMembers], len(g.Members))
	if req.MinCount > left {
		return q, compute.Errorf(compute.ErrOverQuota, "Quota exceeded, too many servers in group")
	}
	req.MaxCount = min(req.MaxCount, left)
	return q, nil
}

// joinGroup adds new servers to their group within its member quota; when
// a concurrent create took the room meanwhile, the servers are deleted
// again and the create is refused (403), as Nova's recheck.
func (s *Service) joinGroup(ctx context.Context, c Caller, group string, servers []*compute.Server) error {
	if group == "" || len(servers) == 0 {
		return nil
	}
	limits, err := s.limitsOf(ctx, c.Creds.ProjectID, c.Creds.UserID)
	if err != nil {
		return err
	}
	ids := make([]string, len(servers))
	for i, sv := range servers {
		ids[i] = sv.ID
	}
	err = s.Groups.AddGroupMembers(ctx, group, ids, limits[compute.QuotaServerGroupMembers])
	if err == nil {
		return nil
	}
	for _, sv := range servers {
		sv.VMState, sv.TaskState, sv.UpdatedAt = compute.VMDeleted, compute.TaskNone, s.now().UTC()
		if uerr := s.Servers.UpdateServer(ctx, sv); uerr != nil {
			s.log.ErrorContext(ctx, "could not undo a server refused by its group's quota", "server", sv.ID, "err", uerr)
		}
	}
	return s.groupNotFound(err, group)
}

package service

import (
	"context"
	"errors"

	"imagestack/network"
	"imagestack/policy"
)

// Security groups are stored and shown; their rules are not enforced (no
// packet filter is programmed from them).

// GroupInput is a security group create or update; nil fields are not
// given.
type GroupInput struct {
	Name, Description, ProjectID *string
	Stateful                     *bool
}

func groupTarget(g network.SecurityGroup) policy.Target {
	return policy.Target{"project_id": g.ProjectID, "tenant_id": g.ProjectID}
}

// defaultRules are Neutron's rules of a default group: any egress, and
// ingress from members of the group itself, for IPv4 and IPv6.
func (s *Service) defaultRules(groupID, project string) []network.SecurityGroupRule {
	var out []network.SecurityGroupRule
	for _, dir := range []string{"egress", "ingress"} {
		for _, eth := range []string{"IPv4", "IPv6"} {
			r := network.SecurityGroupRule{ID: newID(), SecurityGroupID: groupID, ProjectID: project, Direction: dir,
				EtherType: eth, Standard: s.stamp("")}
			if dir == "ingress" {
				r.RemoteGroupID = groupID
			}
			out = append(out, r)
		}
	}
	return out
}

// defaultGroup returns the project's default group, creating it when it
// does not exist yet (as Neutron does when a project first needs it).
func (s *Service) defaultGroup(ctx context.Context, project string) (network.SecurityGroup, error) {
	for range 2 {
		groups, err := s.repo.ListSecurityGroups(ctx)
		if err != nil {
			return network.SecurityGroup{}, err
		}
		for _, g := range groups {
			if g.Default && g.ProjectID == project {
				return g, nil
			}
		}
		g := network.SecurityGroup{ID: newID(), ProjectID: project, Name: "default", Stateful: true, Default: true,
			Standard: s.stamp("Default security group")}
		g.Rules = s.defaultRules(g.ID, project)
		err = s.repo.CreateSecurityGroup(ctx, g)
		if err == nil {
			return g, nil
		}
		if !errors.Is(err, network.ErrConflict) { // a concurrent request made it: read it
			return network.SecurityGroup{}, err
		}
	}
	return network.SecurityGroup{}, network.Errorf(network.ErrConflict, "HTTPConflict", "The default security group could not be created.")
}

// portGroups sets the port's groups: the ones given (of the port's
// project), or the project's default group when port security is on.
func (s *Service) portGroups(ctx context.Context, c policy.Credentials, p *network.Port, given *[]string) error {
	if given == nil {
		p.SecurityGroups = []string{}
		if !p.PortSecurityEnabled {
			return nil
		}
		g, err := s.defaultGroup(ctx, p.ProjectID)
		if err == nil {
			p.SecurityGroups = []string{g.ID}
		}
		return err
	}
	if len(*given) > 0 && !p.PortSecurityEnabled {
		return network.Errorf(network.ErrConflict, "PortSecurityAndIPRequiredForSecurityGroups",
			"Port security must be enabled and port must have an IP address in order to use security groups.")
	}
	ids := []string{}
	for _, id := range *given {
		g, err := s.repo.GetSecurityGroup(ctx, id)
		if errors.Is(err, network.ErrNotFound) || err == nil && g.ProjectID != p.ProjectID {
			return network.NotFound("SecurityGroup", id)
		} else if err != nil {
			return err
		}
		ids = append(ids, g.ID)
	}
	p.SecurityGroups = ids
	return nil
}

// CreateSecurityGroup creates a group with Neutron's default egress rules.
func (s *Service) CreateSecurityGroup(ctx context.Context, c policy.Credentials, in GroupInput) (network.SecurityGroup, error) {
	g := network.SecurityGroup{ID: newID(), ProjectID: projectOf(c, deref(in.ProjectID)), Stateful: true, Standard: s.stamp("")}
	if err := s.authorize(c, "create_security_group", groupTarget(g)); err != nil {
		return g, err
	}
	if deref(in.Name) == "default" {
		return g, network.Errorf(network.ErrConflict, "SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
	}
	set(&g.Name, in.Name)
	set(&g.Description, in.Description)
	set(&g.Stateful, in.Stateful)
	if _, err := s.defaultGroup(ctx, g.ProjectID); err != nil {
		return g, err
	}
	if err := s.checkQuota(ctx, g.ProjectID, network.QuotaSecurityGroup, 1); err != nil {
		return g, err
	}
	for _, r := range s.defaultRules(g.ID, g.ProjectID) {
		if r.Direction == "egress" {
			g.Rules = append(g.Rules, r)
		}
	}
	return g, s.repo.CreateSecurityGroup(ctx, g)
}

func (s *Service) visibleGroup(ctx context.Context, c policy.Credentials, id string) (network.SecurityGroup, error) {
	g, err := s.repo.GetSecurityGroup(ctx, id)
	if errors.Is(err, network.ErrNotFound) || err == nil && !s.may(c, "get_security_group", groupTarget(g)) {
		return network.SecurityGroup{}, network.NotFound("SecurityGroup", id)
	}
	return g, err
}

// GetSecurityGroup shows a group with its rules.
func (s *Service) GetSecurityGroup(ctx context.Context, c policy.Credentials, id string) (network.SecurityGroup, error) {
	return s.visibleGroup(ctx, c, id)
}

// ListSecurityGroups lists the groups the caller may see; the caller's
// project gets its default group first if it has none.
func (s *Service) ListSecurityGroups(ctx context.Context, c policy.Credentials) ([]network.SecurityGroup, error) {
	if c.ProjectID != "" {
		if _, err := s.defaultGroup(ctx, c.ProjectID); err != nil {
			return nil, err
		}
	}
	groups, err := s.repo.ListSecurityGroups(ctx)
	if err != nil {
		return nil, err
	}
	return visible(groups, func(g network.SecurityGroup) bool {
		return s.may(c, "get_security_group", groupTarget(g))
	}), nil
}

// UpdateSecurityGroup renames or redescribes a group (the default group
// keeps its name).
func (s *Service) UpdateSecurityGroup(ctx context.Context, c policy.Credentials, id string, in GroupInput) (network.SecurityGroup, error) {
	g, err := s.visibleGroup(ctx, c, id)
	if err != nil {
		return g, err
	}
	if err := s.authorize(c, "update_security_group", groupTarget(g)); err != nil {
		return g, err
	}
	if g.Default && in.Name != nil && *in.Name != "default" {
		return g, network.Errorf(network.ErrConflict, "SecurityGroupCannotUpdateDefault", "Updating default security group not allowed.")
	}
	set(&g.Name, in.Name)
	set(&g.Description, in.Description)
	set(&g.Stateful, in.Stateful)
	s.touch(&g.Standard)
	return g, s.repo.UpdateSecurityGroup(ctx, g)
}

// DeleteSecurityGroup deletes a group no port uses; a project's default
// group is deleted only by an admin.
func (s *Service) DeleteSecurityGroup(ctx context.Context, c policy.Credentials, id string) error {
	g, err := s.visibleGroup(ctx, c, id)
	if err != nil {
		return err
	}
	if err := s.authorize(c, "delete_security_group", groupTarget(g)); err != nil {
		return err
	}
	if g.Default && !s.isAdmin(c) {
		return network.Errorf(network.ErrConflict, "SecurityGroupCannotRemoveDefault", "Insufficient rights for removing default security group.")
	}
	return s.repo.DeleteSecurityGroup(ctx, id)
}

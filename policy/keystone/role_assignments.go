package keystone

import (
	"context"
	"errors"

	"imagestack/policy"
)

// AssignmentQuery filters a role assignment listing as GET
// /v3/role_assignments does; empty fields match everything.
type AssignmentQuery struct {
	UserID, RoleID string
	// ProjectID or DomainID (not both) restrict the listing to one scope.
	ProjectID, DomainID string
	// GroupID and System filter on groups and on the system scope, which do
	// not exist here: either matches nothing.
	GroupID string
	System  bool
	// Effective adds, after each assigned role, the roles it implies.
	Effective bool
	// Names resolves the names of roles, users, projects and domains.
	Names bool
}

// RoleAssignment is one row of a role assignment listing.
type RoleAssignment struct {
	Assignment
	// PriorRoleID is, for a role that an assigned one implies (Effective),
	// the assigned role.
	PriorRoleID string
	// The names, filled when the query asks for them; what was deleted
	// while the listing ran has empty names.
	RoleName, UserName, TargetName string
	UserDomain                     Domain // the user's domain
	TargetDomain                   Domain // the domain of a project target
}

// ListRoleAssignments lists role assignments (identity:list_role_assignments).
// A name lookup that fails for another reason than a deleted entity fails
// the listing, so that an outage is an error and never a half-named view.
func (s *Service) ListRoleAssignments(ctx context.Context, creds policy.Credentials, q AssignmentQuery) ([]RoleAssignment, error) {
	if err := s.authorize(creds, "identity:list_role_assignments", nil); err != nil {
		return nil, err
	}
	if q.GroupID != "" || q.System {
		return []RoleAssignment{}, nil
	}
	f := AssignmentFilter{UserID: q.UserID, RoleID: q.RoleID}
	switch {
	case q.ProjectID != "" && q.DomainID != "":
		return nil, errorf(ErrBadRequest, "Specify one of domain or project scope, not both.")
	case q.ProjectID != "":
		f.TargetType, f.TargetID = TargetProject, q.ProjectID
	case q.DomainID != "":
		f.TargetType, f.TargetID = TargetDomain, q.DomainID
	}
	n, err := s.newAssignmentNamer(ctx)
	if err != nil {
		return nil, err
	}
	if q.Effective {
		// An effective role may come from an implied one: filter after expansion.
		f.RoleID = ""
	}
	as, err := s.repo.ListAssignments(ctx, f)
	if err != nil {
		return nil, err
	}
	out := []RoleAssignment{}
	for _, a := range as {
		for _, row := range n.expand(a, q.Effective) {
			if q.RoleID != "" && row.RoleID != q.RoleID {
				continue
			}
			if q.Names {
				if err := n.name(ctx, &row); err != nil {
					return nil, err
				}
			}
			out = append(out, row)
		}
	}
	return out, nil
}

// assignmentNamer resolves the roles and names of assignments, looking each
// entity up once per listing rather than once per row.
type assignmentNamer struct {
	repo     Repository
	roles    map[string]Role
	byName   map[string]Role
	users    map[string]User
	projects map[string]Project
	domains  map[string]Domain
}

func (s *Service) newAssignmentNamer(ctx context.Context) (*assignmentNamer, error) {
	rs, err := s.repo.ListRoles(ctx, "")
	if err != nil {
		return nil, err
	}
	n := &assignmentNamer{repo: s.repo, roles: map[string]Role{}, byName: map[string]Role{},
		users: map[string]User{}, projects: map[string]Project{}, domains: map[string]Domain{}}
	for _, r := range rs {
		n.roles[r.ID], n.byName[r.Name] = r, r
	}
	return n, nil
}

// expand returns a, followed when effective by a row for every role that
// a's role implies, transitively.
func (n *assignmentNamer) expand(a Assignment, effective bool) []RoleAssignment {
	rows := []RoleAssignment{{Assignment: a}}
	if !effective {
		return rows
	}
	seen := map[string]bool{a.RoleID: true}
	queue := []string{n.roles[a.RoleID].Name}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		for _, in := range impliedRoles[name] {
			r, ok := n.byName[in]
			if !ok || seen[r.ID] {
				continue
			}
			seen[r.ID] = true
			ia := a
			ia.RoleID = r.ID
			rows = append(rows, RoleAssignment{Assignment: ia, PriorRoleID: a.RoleID})
			queue = append(queue, r.Name)
		}
	}
	return rows
}

// name fills the names of row.
func (n *assignmentNamer) name(ctx context.Context, row *RoleAssignment) error {
	row.RoleName = n.roles[row.RoleID].Name
	u, err := cached(ctx, n.users, row.UserID, n.repo.GetUser)
	if err != nil {
		return err
	}
	row.UserName = u.Name
	if row.UserDomain, err = n.domain(ctx, u.DomainID); err != nil {
		return err
	}
	if row.TargetType == TargetDomain {
		d, err := n.domain(ctx, row.TargetID)
		row.TargetName = d.Name
		return err
	}
	p, err := cached(ctx, n.projects, row.TargetID, n.repo.GetProject)
	if err != nil {
		return err
	}
	row.TargetName = p.Name
	row.TargetDomain, err = n.domain(ctx, p.DomainID)
	return err
}

// domain returns id with the name of that domain.
func (n *assignmentNamer) domain(ctx context.Context, id string) (Domain, error) {
	d, err := cached(ctx, n.domains, id, n.repo.GetDomain)
	return Domain{ID: id, Name: d.Name}, err
}

// cached looks id up once through get; what does not exist (deleted while
// listing) is the zero value, any other failure an error.
func cached[T any](ctx context.Context, cache map[string]T, id string, get func(context.Context, string) (T, error)) (T, error) {
	if v, ok := cache[id]; ok {
		return v, nil
	}
	v, err := get(ctx, id)
	if err != nil {
		var zero T
		if !errors.Is(err, ErrNotFound) {
			return zero, err
		}
		v = zero
	}
	cache[id] = v
	return v, nil
}

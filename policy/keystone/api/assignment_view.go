package api

import (
	"context"

	"imagestack/policy/keystone"
)

// assignmentRenderer renders role assignments, resolving names once per
// request rather than once per row.
type assignmentRenderer struct {
	ctx      context.Context
	a        *API
	names    bool
	roles    map[string]keystone.Role
	byName   map[string]keystone.Role
	users    map[string]keystone.User
	projects map[string]keystone.Project
	domains  map[string]keystone.Domain
}

func newAssignmentRenderer(ctx context.Context, a *API, names bool) (*assignmentRenderer, error) {
	rs, err := a.svc.Repository().ListRoles(ctx, "")
	if err != nil {
		return nil, err
	}
	v := &assignmentRenderer{ctx: ctx, a: a, names: names, roles: map[string]keystone.Role{}, byName: map[string]keystone.Role{},
		users: map[string]keystone.User{}, projects: map[string]keystone.Project{}, domains: map[string]keystone.Domain{}}
	for _, r := range rs {
		v.roles[r.ID], v.byName[r.Name] = r, r
	}
	return v, nil
}

// implied returns the ids of every role roleID implies, transitively.
func (v *assignmentRenderer) implied(roleID string) []string {
	var out []string
	seen := map[string]bool{roleID: true}
	queue := []string{v.roles[roleID].Name}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		for _, in := range keystone.ImpliedRoles(name) {
			r, ok := v.byName[in]
			if !ok || seen[r.ID] {
				continue
			}
			seen[r.ID] = true
			out = append(out, r.ID)
			queue = append(queue, r.Name)
		}
	}
	return out
}

func (v *assignmentRenderer) domain(id string) map[string]any {
	d, ok := v.domains[id]
	if !ok {
		d, _ = v.a.svc.Repository().GetDomain(v.ctx, id)
		v.domains[id] = d
	}
	return map[string]any{"id": id, "name": d.Name}
}

// render one assignment; prior is the assigned role an implied one came from.
func (v *assignmentRenderer) render(as keystone.Assignment, prior string) map[string]any {
	role := map[string]any{"id": as.RoleID}
	user := map[string]any{"id": as.UserID}
	target := map[string]any{"id": as.TargetID}
	if v.names {
		role["name"] = v.roles[as.RoleID].Name
		u, ok := v.users[as.UserID]
		if !ok {
			u, _ = v.a.svc.Repository().GetUser(v.ctx, as.UserID)
			v.users[as.UserID] = u
		}
		user["name"], user["domain"] = u.Name, v.domain(u.DomainID)
		if as.TargetType == keystone.TargetProject {
			p, ok := v.projects[as.TargetID]
			if !ok {
				p, _ = v.a.svc.Repository().GetProject(v.ctx, as.TargetID)
				v.projects[as.TargetID] = p
			}
			target["name"], target["domain"] = p.Name, v.domain(p.DomainID)
		} else {
			target["name"] = v.domain(as.TargetID)["name"]
		}
	}
	link := v.a.baseURL + "/v3/" + as.TargetType + "s/" + as.TargetID + "/users/" + as.UserID + "/roles/"
	links := map[string]any{"assignment": link + as.RoleID}
	if prior != "" {
		links = map[string]any{"assignment": link + prior, "prior_role": v.a.baseURL + "/v3/roles/" + prior}
	}
	return map[string]any{"role": role, "user": user, "scope": map[string]any{as.TargetType: target}, "links": links}
}

package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute"
	"imagestack/compute/service"
)

// serverGroupView is a server group as Nova shows it: policies and an
// empty metadata before 2.64, policy and rules from it; project and user
// from 2.13.
type serverGroupView struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Policies  []string        `json:"policies,omitempty"`
	Metadata  *struct{}       `json:"metadata,omitempty"`
	Policy    string          `json:"policy,omitempty"`
	Rules     *map[string]int `json:"rules,omitempty"`
	Members   []string        `json:"members"`
	ProjectID string          `json:"project_id,omitempty"`
	UserID    string          `json:"user_id,omitempty"`
}

// newServerGroupView renders g at the request's microversion.
func newServerGroupView(r *http.Request, g compute.ServerGroup) serverGroupView {
	v := serverGroupView{ID: g.ID, Name: g.Name, Members: make([]string, 0, len(g.Members))}
	for _, m := range g.Members {
		v.Members = append(v.Members, m.ServerID)
	}
	if atLeast(r, "2.64") {
		rules := map[string]int{}
		if g.MaxServerPerHost > 0 {
			rules["max_server_per_host"] = g.MaxServerPerHost
		}
		v.Policy, v.Rules = g.Policy, &rules
	} else {
		v.Policies, v.Metadata = []string{g.Policy}, &struct{}{}
	}
	if atLeast(r, "2.13") {
		v.ProjectID, v.UserID = g.ProjectID, g.UserID
	}
	return v
}

type serverGroupBody struct {
	ServerGroup serverGroupView `json:"server_group"`
}

type serverGroupsBody struct {
	ServerGroups []serverGroupView `json:"server_groups"`
}

// listServerGroups answers GET /os-server-groups: the caller's project's
// groups, every project's for an admin with all_projects; limit and offset
// page them.
func (a *API) listServerGroups(w http.ResponseWriter, r *http.Request) {
	if !strictQuery(w, r, "all_projects", "limit", "offset") {
		return
	}
	q := r.URL.Query()
	offset, limit := 0, maxLimit
	for _, p := range []struct {
		name string
		dst  *int
	}{{"limit", &limit}, {"offset", &offset}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				badRequest(w, r, fmt.Sprintf("Invalid input for query parameters %s. Value: %s. '%s' does not match '^[0-9]*$'", p.name, compute.Clip(v), compute.Clip(v)))
				return
			}
			*p.dst = n
		}
	}
	_, all := q["all_projects"]
	groups, err := a.svc.ListServerGroups(r.Context(), a.caller(r), all)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if limit == 0 {
		limit = maxLimit // Nova's common.limited: 0 is the maximum
	}
	groups = groups[min(offset, len(groups)):]
	groups = groups[:min(limit, maxLimit, len(groups))]
	out := make([]serverGroupView, 0, len(groups))
	for _, g := range groups {
		out = append(out, newServerGroupView(r, g))
	}
	httpx.WriteJSON(w, http.StatusOK, serverGroupsBody{ServerGroups: out})
}

// showServerGroup answers GET /os-server-groups/{id}.
func (a *API) showServerGroup(w http.ResponseWriter, r *http.Request) {
	g, err := a.svc.GetServerGroup(r.Context(), a.caller(r), mux.Vars(r)["group_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, serverGroupBody{ServerGroup: newServerGroupView(r, g)})
}

// deleteServerGroup answers DELETE /os-server-groups/{id}: 204.
func (a *API) deleteServerGroup(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.DeleteServerGroup(r.Context(), a.caller(r), mux.Vars(r)["group_id"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// createServerGroup answers POST /os-server-groups with the new group.
func (a *API) createServerGroup(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ServerGroup *json.RawMessage `json:"server_group"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if body.ServerGroup == nil {
		badRequest(w, r, "Invalid input for field/attribute server_group. 'server_group' is a required property")
		return
	}
	req, msg := parseServerGroup(r, *body.ServerGroup)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	g, err := a.svc.CreateServerGroup(r.Context(), a.caller(r), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, serverGroupBody{ServerGroup: newServerGroupView(r, g)})
}

// serverGroupInput is the create body of every microversion.
type serverGroupInput struct {
	Name     *string          `json:"name"`
	Policies []string         `json:"policies"`
	Policy   *string          `json:"policy"`
	Rules    *json.RawMessage `json:"rules"`
}

// parseServerGroup reads a create request as Nova's schemas: before 2.64
// "policies", a list of one policy (the soft ones from 2.15); from 2.64
// "policy" and optional "rules" with max_server_per_host, a positive
// integer. A non-empty msg is the 400's message.
func parseServerGroup(r *http.Request, raw json.RawMessage) (service.NewServerGroup, string) {
	var in serverGroupInput
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return service.NewServerGroup{}, "Invalid input for field/attribute server_group. Value: " + compute.Clip(string(raw)) + ". " + compute.Clip(err.Error())
	}
	if in.Name == nil {
		return service.NewServerGroup{}, "Invalid input for field/attribute server_group. 'name' is a required property"
	}
	allowed := []string{compute.PolicyAntiAffinity, compute.PolicyAffinity}
	if atLeast(r, "2.15") {
		allowed = append(allowed, compute.PolicySoftAntiAffinity, compute.PolicySoftAffinity)
	}
	req := service.NewServerGroup{Name: *in.Name}
	if !atLeast(r, "2.64") {
		if in.Policy != nil || in.Rules != nil {
			return req, "Invalid input for field/attribute server_group. Additional properties are not allowed ('policy' was unexpected)"
		}
		if len(in.Policies) != 1 || !slices.Contains(allowed, in.Policies[0]) {
			return req, fmt.Sprintf("Invalid input for field/attribute policies. Value: %s. It must be a list of one of %s.", compute.Clip(fmt.Sprint(in.Policies)), pyList(allowed))
		}
		req.Policy = in.Policies[0]
		return req, ""
	}
	if in.Policies != nil {
		return req, "Invalid input for field/attribute server_group. Additional properties are not allowed ('policies' was unexpected)"
	}
	if in.Policy == nil || !slices.Contains(allowed, *in.Policy) {
		return req, fmt.Sprintf("Invalid input for field/attribute policy. It must be one of %s.", pyList(allowed))
	}
	req.Policy = *in.Policy
	if in.Rules != nil {
		n, msg := parseGroupRules(*in.Rules)
		if msg != "" {
			return req, msg
		}
		req.MaxServerPerHost = n
	}
	return req, ""
}

// parseGroupRules reads {"max_server_per_host": n}, n a positive integer
// or digit string; {} is no rule.
func parseGroupRules(raw json.RawMessage) (int, string) {
	var rules map[string]json.RawMessage
	if json.Unmarshal(raw, &rules) != nil || rules == nil {
		return 0, "Invalid input for field/attribute rules. Value: " + compute.Clip(string(raw)) + ". It must be an object."
	}
	n := 0
	for k, v := range rules {
		if k != "max_server_per_host" {
			return 0, fmt.Sprintf("Invalid input for field/attribute rules. Additional properties are not allowed ('%s' was unexpected)", compute.Clip(k))
		}
		s, ok := stringOrNumber(v)
		var err error
		if n, err = strconv.Atoi(s); !ok || err != nil || n < 1 {
			return 0, "Invalid input for field/attribute max_server_per_host. Value: " + compute.Clip(string(v)) + ". It must be a positive integer."
		}
	}
	return n, ""
}

// schedulerGroup reads the group hint of a create (os:scheduler_hints,
// or its legacy name when that is absent): "" none; ok is false when the
// hints are not an object or the group is not a uuid.
func schedulerGroup(hints, legacy json.RawMessage) (string, bool) {
	if len(hints) == 0 {
		hints = legacy
	}
	if len(hints) == 0 || string(hints) == "null" {
		return "", true
	}
	var h struct {
		Group *string `json:"group"`
	}
	if json.Unmarshal(hints, &h) != nil {
		return "", false
	}
	if h.Group == nil {
		return "", true
	}
	return *h.Group, uuidLike.MatchString(*h.Group)
}

// withServerGroups adds 2.71's server_groups to a server's view (show,
// update, rebuild; Nova leaves it out of lists). A lookup that fails is
// logged and shows none rather than failing the request.
func (a *API) withServerGroups(r *http.Request, v serverView) serverView {
	if !atLeast(r, "2.71") {
		return v
	}
	ids, err := a.svc.ServerGroupsOf(r.Context(), v.ID)
	if err != nil {
		a.log.ErrorContext(r.Context(), "could not read a server's group", "server", v.ID, "err", err)
		ids = []string{}
	}
	v.ServerGroups = some(ids)
	return v
}

package api

import (
	"encoding/json"
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/network/service"
	"imagestack/policy/authn"
)

// groupBody is a security group create or update body.
type groupBody struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	ProjectID   *string `json:"project_id"`
	TenantID    *string `json:"tenant_id"`
	Stateful    *bool   `json:"stateful"`
}

func (a *API) readGroup(w http.ResponseWriter, r *http.Request) (service.GroupInput, bool) {
	var b groupBody
	if err := decodeBody(r, "security_group", &b); err != nil {
		badRequest(w, err.Error())
		return service.GroupInput{}, false
	}
	return service.GroupInput{Name: b.Name, Description: b.Description, ProjectID: projectOf(b.ProjectID, b.TenantID),
		Stateful: b.Stateful}, true
}

func (a *API) listGroups(w http.ResponseWriter, r *http.Request) {
	gs, err := a.svc.ListSecurityGroups(r.Context(), authn.CredentialsFrom(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeList(a, w, r, "security_groups", httpx.ListOf(gs, viewGroup), groupView{})
}

func (a *API) showGroup(w http.ResponseWriter, r *http.Request) {
	g, err := a.svc.GetSecurityGroup(r.Context(), authn.CredentialsFrom(r.Context()), mux.Vars(r)["id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "security_group", viewGroup(g))
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request) {
	in, ok := a.readGroup(w, r)
	if !ok {
		return
	}
	g, err := a.svc.CreateSecurityGroup(r.Context(), authn.CredentialsFrom(r.Context()), in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusCreated, "security_group", viewGroup(g))
}

func (a *API) updateGroup(w http.ResponseWriter, r *http.Request) {
	in, ok := a.readGroup(w, r)
	if !ok {
		return
	}
	g, err := a.svc.UpdateSecurityGroup(r.Context(), authn.CredentialsFrom(r.Context()), mux.Vars(r)["id"], in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "security_group", viewGroup(g))
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.DeleteSecurityGroup(r.Context(), authn.CredentialsFrom(r.Context()), mux.Vars(r)["id"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ruleBody is a security group rule create body.
type ruleBody struct {
	SecurityGroupID string          `json:"security_group_id"`
	Direction       string          `json:"direction"`
	EtherType       *string         `json:"ethertype"`
	Protocol        *string         `json:"protocol"`
	PortRangeMin    *int            `json:"port_range_min"`
	PortRangeMax    *int            `json:"port_range_max"`
	RemoteIPPrefix  *string         `json:"remote_ip_prefix"`
	RemoteGroupID   *string         `json:"remote_group_id"`
	Description     *string         `json:"description"`
	ProjectID       *string         `json:"project_id"`
	TenantID        *string         `json:"tenant_id"`
	AddressGroup    json.RawMessage `json:"remote_address_group_id"`
}

func (a *API) createRule(w http.ResponseWriter, r *http.Request) {
	var b ruleBody
	err := decodeBody(r, "security_group_rule", &b)
	if err == nil {
		err = notServed(map[string]json.RawMessage{"remote_address_group_id": b.AddressGroup})
	}
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	in := service.RuleInput{SecurityGroupID: b.SecurityGroupID, Direction: b.Direction, EtherType: deref(b.EtherType),
		Protocol: deref(b.Protocol), PortRangeMin: b.PortRangeMin, PortRangeMax: b.PortRangeMax,
		RemoteIPPrefix: deref(b.RemoteIPPrefix), RemoteGroupID: deref(b.RemoteGroupID), Description: deref(b.Description),
		ProjectID: deref(projectOf(b.ProjectID, b.TenantID))}
	rule, err := a.svc.CreateSecurityGroupRule(r.Context(), authn.CredentialsFrom(r.Context()), in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusCreated, "security_group_rule", viewRule(rule))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (a *API) listRules(w http.ResponseWriter, r *http.Request) {
	rules, err := a.svc.ListSecurityGroupRules(r.Context(), authn.CredentialsFrom(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeList(a, w, r, "security_group_rules", httpx.ListOf(rules, viewRule), ruleView{})
}

func (a *API) showRule(w http.ResponseWriter, r *http.Request) {
	rule, err := a.svc.GetSecurityGroupRule(r.Context(), authn.CredentialsFrom(r.Context()), mux.Vars(r)["id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "security_group_rule", viewRule(rule))
}

func (a *API) deleteRule(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.DeleteSecurityGroupRule(r.Context(), authn.CredentialsFrom(r.Context()), mux.Vars(r)["id"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

package api

import (
	"encoding/json"

	"imagestack/network"
	"imagestack/network/service"
)

// groupBody is a security group create or update body.
type groupBody struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	ProjectID   *string `json:"project_id"`
	TenantID    *string `json:"tenant_id"`
	Stateful    *bool   `json:"stateful"`
}

// input is the body as the service takes it.
func (b groupBody) input() (service.GroupInput, error) {
	return service.GroupInput{Name: b.Name, Description: b.Description, ProjectID: projectOf(b.ProjectID, b.TenantID),
		Stateful: b.Stateful}, nil
}

// groups is the /v2.0/security-groups collection.
func (a *API) groups() (c resource[service.GroupInput, network.SecurityGroup, groupView]) {
	c.api, c.one, c.many, c.view, c.read = a, "security_group", "security_groups", viewGroup, readBody[groupBody]
	c.list, c.get = a.svc.ListSecurityGroups, a.svc.GetSecurityGroup
	c.create, c.update, c.del = a.svc.CreateSecurityGroup, a.svc.UpdateSecurityGroup, a.svc.DeleteSecurityGroup
	return c
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

// input is the body as the service takes it; a remote address group is
// a 400 (not served).
func (b ruleBody) input() (service.RuleInput, error) {
	in := service.RuleInput{SecurityGroupID: b.SecurityGroupID, Direction: b.Direction, EtherType: deref(b.EtherType),
		Protocol: deref(b.Protocol), PortRangeMin: b.PortRangeMin, PortRangeMax: b.PortRangeMax,
		RemoteIPPrefix: deref(b.RemoteIPPrefix), RemoteGroupID: deref(b.RemoteGroupID), Description: deref(b.Description),
		ProjectID: deref(projectOf(b.ProjectID, b.TenantID))}
	return in, notServed(map[string]json.RawMessage{"remote_address_group_id": b.AddressGroup})
}

// rules is the /v2.0/security-group-rules collection; a rule is made and
// deleted, never updated.
func (a *API) rules() (c resource[service.RuleInput, network.SecurityGroupRule, ruleView]) {
	c.api, c.one, c.many, c.view, c.read = a, "security_group_rule", "security_group_rules", viewRule, readBody[ruleBody]
	c.list, c.get = a.svc.ListSecurityGroupRules, a.svc.GetSecurityGroupRule
	c.create, c.del = a.svc.CreateSecurityGroupRule, a.svc.DeleteSecurityGroupRule
	return c
}

// deref is *s, or "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

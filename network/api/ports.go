package api

import (
	"encoding/json"

	"imagestack/common/httpx"
	"imagestack/network/service"
)

// portBody is a port create or update body.
type portBody struct {
	NetworkID      *string         `json:"network_id"`
	Name           *string         `json:"name"`
	Description    *string         `json:"description"`
	ProjectID      *string         `json:"project_id"`
	TenantID       *string         `json:"tenant_id"`
	AdminStateUp   *bool           `json:"admin_state_up"`
	MAC            *string         `json:"mac_address"`
	FixedIPs       *[]fixedIPView  `json:"fixed_ips"`
	DeviceID       *string         `json:"device_id"`
	DeviceOwner    *string         `json:"device_owner"`
	HostID         *string         `json:"binding:host_id"`
	VNICType       *string         `json:"binding:vnic_type"`
	Profile        json.RawMessage `json:"binding:profile"`
	SecurityGroups *[]string       `json:"security_groups"`
	PortSecurity   *bool           `json:"port_security_enabled"`
	AddressPairs   json.RawMessage `json:"allowed_address_pairs"`
	DHCPOpts       json.RawMessage `json:"extra_dhcp_opts"`
	QoSPolicy      json.RawMessage `json:"qos_policy_id"`
	DNSName        json.RawMessage `json:"dns_name"`
	DNSDomain      json.RawMessage `json:"dns_domain"`
}

// input is the body as the service takes it; extension attributes not
// served (and a vnic_type other than normal) are a 400.
func (b portBody) input() (service.PortInput, error) {
	in := service.PortInput{NetworkID: b.NetworkID, Name: b.Name, Description: b.Description,
		ProjectID: projectOf(b.ProjectID, b.TenantID), AdminStateUp: b.AdminStateUp, MAC: b.MAC, DeviceID: b.DeviceID,
		DeviceOwner: b.DeviceOwner, HostID: b.HostID, SecurityGroups: b.SecurityGroups, PortSecurity: b.PortSecurity}
	if b.FixedIPs != nil {
		ips := httpx.ListOf(*b.FixedIPs, func(f fixedIPView) service.FixedIPInput {
			return service.FixedIPInput{SubnetID: f.SubnetID, IPAddress: f.IPAddress}
		})
		in.FixedIPs = &ips
	}
	unserved := map[string]json.RawMessage{"binding:profile": b.Profile, "allowed_address_pairs": b.AddressPairs,
		"extra_dhcp_opts": b.DHCPOpts, "qos_policy_id": b.QoSPolicy, "dns_name": b.DNSName, "dns_domain": b.DNSDomain}
	if b.VNICType != nil && *b.VNICType != "normal" {
		unserved["binding:vnic_type"] = json.RawMessage(`"` + *b.VNICType + `"`)
	}
	return in, notServed(unserved)
}

// ports is the /v2.0/ports collection; its list filters may name the
// binding attributes, which only admins are shown.
func (a *API) ports() (c resource[service.PortInput, service.PortDetail, portView]) {
	c.api, c.one, c.many, c.view, c.read = a, "port", "ports", viewPort, readBody[portBody]
	c.attrs = viewPort(service.PortDetail{Binding: true})
	c.list, c.get = a.svc.ListPorts, a.svc.GetPort
	c.create, c.update, c.del = a.svc.CreatePort, a.svc.UpdatePort, a.svc.DeletePort
	return c
}

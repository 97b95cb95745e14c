package api

import (
	"encoding/json"

	"imagestack/network/service"
)

// networkBody is a network create or update body.
type networkBody struct {
	Name         *string         `json:"name"`
	Description  *string         `json:"description"`
	ProjectID    *string         `json:"project_id"`
	TenantID     *string         `json:"tenant_id"`
	Shared       *bool           `json:"shared"`
	AdminStateUp *bool           `json:"admin_state_up"`
	PortSecurity *bool           `json:"port_security_enabled"`
	External     *bool           `json:"router:external"`
	MTU          *int            `json:"mtu"`
	AZHints      json.RawMessage `json:"availability_zone_hints"`
	DNSDomain    json.RawMessage `json:"dns_domain"`
	QoSPolicy    json.RawMessage `json:"qos_policy_id"`
	Segments     json.RawMessage `json:"segments"`
	NetType      json.RawMessage `json:"provider:network_type"`
	PhysNet      json.RawMessage `json:"provider:physical_network"`
	SegID        json.RawMessage `json:"provider:segmentation_id"`
	IsDefault    json.RawMessage `json:"is_default"`
}

// input is the body as the service takes it; extension attributes this
// service does not serve are a 400.
func (b networkBody) input() (service.NetworkInput, error) {
	return service.NetworkInput{Name: b.Name, Description: b.Description, ProjectID: projectOf(b.ProjectID, b.TenantID),
			Shared: b.Shared, AdminStateUp: b.AdminStateUp, PortSecurity: b.PortSecurity, External: b.External, MTU: b.MTU},
		notServed(map[string]json.RawMessage{"availability_zone_hints": b.AZHints, "dns_domain": b.DNSDomain,
			"qos_policy_id": b.QoSPolicy, "segments": b.Segments, "provider:network_type": b.NetType,
			"provider:physical_network": b.PhysNet, "provider:segmentation_id": b.SegID, "is_default": b.IsDefault})
}

// networks is the /v2.0/networks collection.
func (a *API) networks() (c resource[service.NetworkInput, service.NetworkDetail, networkView]) {
	c.api, c.one, c.many, c.view, c.read = a, "network", "networks", viewNetwork, readBody[networkBody]
	c.list, c.get = a.svc.ListNetworks, a.svc.GetNetwork
	c.create, c.update, c.del = a.svc.CreateNetwork, a.svc.UpdateNetwork, a.svc.DeleteNetwork
	return c
}

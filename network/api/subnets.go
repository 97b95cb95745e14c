package api

import (
	"encoding/json"
	"errors"

	"imagestack/common/httpx"
	"imagestack/network"
	"imagestack/network/service"
)

// subnetBody is a subnet create or update body.
type subnetBody struct {
	NetworkID       *string         `json:"network_id"`
	Name            *string         `json:"name"`
	Description     *string         `json:"description"`
	ProjectID       *string         `json:"project_id"`
	TenantID        *string         `json:"tenant_id"`
	IPVersion       *int            `json:"ip_version"`
	CIDR            *string         `json:"cidr"`
	GatewayIP       json.RawMessage `json:"gateway_ip"`
	AllocationPools *[]poolView     `json:"allocation_pools"`
	EnableDHCP      *bool           `json:"enable_dhcp"`
	DNSNameservers  *[]string       `json:"dns_nameservers"`
	HostRoutes      *[]routeView    `json:"host_routes"`
	SubnetPoolID    json.RawMessage `json:"subnetpool_id"`
	PrefixLen       json.RawMessage `json:"prefixlen"`
	DefaultPool     json.RawMessage `json:"use_default_subnetpool"`
	RAMode          json.RawMessage `json:"ipv6_ra_mode"`
	AddressMode     json.RawMessage `json:"ipv6_address_mode"`
	ServiceTypes    json.RawMessage `json:"service_types"`
	SegmentID       json.RawMessage `json:"segment_id"`
}

// input is the body as the service takes it; a gateway_ip that is not a
// string or null, and extension attributes not served, are a 400.
func (b subnetBody) input() (service.SubnetInput, error) {
	in := service.SubnetInput{NetworkID: b.NetworkID, Name: b.Name, Description: b.Description,
		ProjectID: projectOf(b.ProjectID, b.TenantID), IPVersion: b.IPVersion, CIDR: b.CIDR, EnableDHCP: b.EnableDHCP,
		DNSNameservers: b.DNSNameservers}
	if b.GatewayIP != nil && isNull(b.GatewayIP) {
		in.NoGateway = true
	} else if b.GatewayIP != nil {
		var gw string
		if err := json.Unmarshal(b.GatewayIP, &gw); err != nil {
			return in, errors.New("Invalid input for gateway_ip. Reason: not a string.")
		}
		in.GatewayIP = &gw
	}
	if b.AllocationPools != nil {
		pools := httpx.ListOf(*b.AllocationPools, func(p poolView) network.Pool { return network.Pool{Start: p.Start, End: p.End} })
		in.AllocationPools = &pools
	}
	if b.HostRoutes != nil {
		routes := httpx.ListOf(*b.HostRoutes, func(r routeView) network.HostRoute {
			return network.HostRoute{Destination: r.Destination, NextHop: r.NextHop}
		})
		in.HostRoutes = &routes
	}
	return in, notServed(map[string]json.RawMessage{"subnetpool_id": b.SubnetPoolID, "prefixlen": b.PrefixLen,
		"use_default_subnetpool": b.DefaultPool, "ipv6_ra_mode": b.RAMode, "ipv6_address_mode": b.AddressMode,
		"service_types": b.ServiceTypes, "segment_id": b.SegmentID})
}

// subnets is the /v2.0/subnets collection.
func (a *API) subnets() (c resource[service.SubnetInput, network.Subnet, subnetView]) {
	c.api, c.one, c.many, c.view, c.read = a, "subnet", "subnets", viewSubnet, readBody[subnetBody]
	c.list, c.get = a.svc.ListSubnets, a.svc.GetSubnet
	c.create, c.update, c.del = a.svc.CreateSubnet, a.svc.UpdateSubnet, a.svc.DeleteSubnet
	return c
}

package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"

	"imagestack/network"
	"imagestack/network/service"
	"imagestack/policy/authn"
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

func (a *API) readSubnet(w http.ResponseWriter, r *http.Request) (service.SubnetInput, bool) {
	var b subnetBody
	if err := decodeBody(r, "subnet", &b); err != nil {
		badRequest(w, err.Error())
		return service.SubnetInput{}, false
	}
	in, err := b.input()
	if err != nil {
		badRequest(w, err.Error())
		return in, false
	}
	return in, true
}

func (a *API) listSubnets(w http.ResponseWriter, r *http.Request) {
	subs, err := a.svc.ListSubnets(r.Context(), authn.CredentialsFrom(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeList(a, w, r, "subnets", httpx.ListOf(subs, viewSubnet), subnetView{})
}

func (a *API) showSubnet(w http.ResponseWriter, r *http.Request) {
	s, err := a.svc.GetSubnet(r.Context(), authn.CredentialsFrom(r.Context()), mux.Vars(r)["id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "subnet", viewSubnet(s))
}

func (a *API) createSubnet(w http.ResponseWriter, r *http.Request) {
	in, ok := a.readSubnet(w, r)
	if !ok {
		return
	}
	s, err := a.svc.CreateSubnet(r.Context(), authn.CredentialsFrom(r.Context()), in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusCreated, "subnet", viewSubnet(s))
}

func (a *API) updateSubnet(w http.ResponseWriter, r *http.Request) {
	in, ok := a.readSubnet(w, r)
	if !ok {
		return
	}
	s, err := a.svc.UpdateSubnet(r.Context(), authn.CredentialsFrom(r.Context()), mux.Vars(r)["id"], in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "subnet", viewSubnet(s))
}

func (a *API) deleteSubnet(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.DeleteSubnet(r.Context(), authn.CredentialsFrom(r.Context()), mux.Vars(r)["id"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

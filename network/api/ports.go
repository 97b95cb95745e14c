package api

import (
	"encoding/json"
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/network/service"
	"imagestack/policy/authn"
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

func (a *API) readPort(w http.ResponseWriter, r *http.Request) (service.PortInput, bool) {
	var b portBody
	if err := decodeBody(r, "port", &b); err != nil {
		badRequest(w, err.Error())
		return service.PortInput{}, false
	}
	in, err := b.input()
	if err != nil {
		badRequest(w, err.Error())
		return in, false
	}
	return in, true
}

func (a *API) listPorts(w http.ResponseWriter, r *http.Request) {
	ports, err := a.svc.ListPorts(r.Context(), authn.CredentialsFrom(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeList(a, w, r, "ports", httpx.ListOf(ports, viewPort), viewPort(service.PortDetail{Binding: true}))
}

func (a *API) showPort(w http.ResponseWriter, r *http.Request) {
	p, err := a.svc.GetPort(r.Context(), authn.CredentialsFrom(r.Context()), mux.Vars(r)["id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "port", viewPort(p))
}

func (a *API) createPort(w http.ResponseWriter, r *http.Request) {
	in, ok := a.readPort(w, r)
	if !ok {
		return
	}
	p, err := a.svc.CreatePort(r.Context(), authn.CredentialsFrom(r.Context()), in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusCreated, "port", viewPort(p))
}

func (a *API) updatePort(w http.ResponseWriter, r *http.Request) {
	in, ok := a.readPort(w, r)
	if !ok {
		return
	}
	p, err := a.svc.UpdatePort(r.Context(), authn.CredentialsFrom(r.Context()), mux.Vars(r)["id"], in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "port", viewPort(p))
}

func (a *API) deletePort(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.DeletePort(r.Context(), authn.CredentialsFrom(r.Context()), mux.Vars(r)["id"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

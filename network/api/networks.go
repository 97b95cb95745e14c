package api

import (
	"encoding/json"
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"

	"imagestack/network/service"
	"imagestack/policy/authn"
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

func (b networkBody) input() service.NetworkInput {
	return service.NetworkInput{Name: b.Name, Description: b.Description, ProjectID: projectOf(b.ProjectID, b.TenantID),
		Shared: b.Shared, AdminStateUp: b.AdminStateUp, PortSecurity: b.PortSecurity, External: b.External, MTU: b.MTU}
}

func (b networkBody) unserved() error {
	return notServed(map[string]json.RawMessage{"availability_zone_hints": b.AZHints, "dns_domain": b.DNSDomain,
		"qos_policy_id": b.QoSPolicy, "segments": b.Segments, "provider:network_type": b.NetType,
		"provider:physical_network": b.PhysNet, "provider:segmentation_id": b.SegID, "is_default": b.IsDefault})
}

func (a *API) readNetwork(w http.ResponseWriter, r *http.Request) (service.NetworkInput, bool) {
	var b networkBody
	err := decodeBody(r, "network", &b)
	if err == nil {
		err = b.unserved()
	}
	if err != nil {
		badRequest(w, err.Error())
		return service.NetworkInput{}, false
	}
	return b.input(), true
}

func (a *API) listNetworks(w http.ResponseWriter, r *http.Request) {
	nets, err := a.svc.ListNetworks(r.Context(), authn.CredentialsFrom(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeList(a, w, r, "networks", httpx.ListOf(nets, viewNetwork), networkView{})
}

func (a *API) showNetwork(w http.ResponseWriter, r *http.Request) {
	n, err := a.svc.GetNetwork(r.Context(), authn.CredentialsFrom(r.Context()), mux.Vars(r)["id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "network", viewNetwork(n))
}

func (a *API) createNetwork(w http.ResponseWriter, r *http.Request) {
	in, ok := a.readNetwork(w, r)
	if !ok {
		return
	}
	n, err := a.svc.CreateNetwork(r.Context(), authn.CredentialsFrom(r.Context()), in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusCreated, "network", viewNetwork(n))
}

func (a *API) updateNetwork(w http.ResponseWriter, r *http.Request) {
	in, ok := a.readNetwork(w, r)
	if !ok {
		return
	}
	n, err := a.svc.UpdateNetwork(r.Context(), authn.CredentialsFrom(r.Context()), mux.Vars(r)["id"], in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "network", viewNetwork(n))
}

func (a *API) deleteNetwork(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.DeleteNetwork(r.Context(), authn.CredentialsFrom(r.Context()), mux.Vars(r)["id"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

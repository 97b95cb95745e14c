package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/network/service"
)

// listVersions answers GET / with the one API version.
func (a *API) listVersions(w http.ResponseWriter, r *http.Request) {
	httpx.WriteJSON(w, http.StatusOK, struct {
		Versions []versionView `json:"versions"`
	}{[]versionView{{ID: "v2.0", Status: "CURRENT", Links: []linkView{{Href: a.baseURL + "/v2.0/", Rel: "self"}}}}})
}

// collections are the resources GET /v2.0 lists.
var collections = [][2]string{{"network", "networks"}, {"subnet", "subnets"}, {"port", "ports"},
	{"security_group", "security-groups"}, {"security_group_rule", "security-group-rules"}, {"quota", "quotas"},
	{"network_ip_availability", "network-ip-availabilities"}, {"floatingip", "floatingips"}}

// showVersion answers GET /v2.0 with its resources.
func (a *API) showVersion(w http.ResponseWriter, r *http.Request) {
	res := []resourceView{}
	for _, c := range collections {
		res = append(res, resourceView{Name: c[0], Collection: c[1], Links: []linkView{{Href: a.baseURL + "/v2.0/" + c[1], Rel: "self"}}})
	}
	httpx.WriteJSON(w, http.StatusOK, struct {
		Resources []resourceView `json:"resources"`
	}{res})
}

// extensions are the Neutron extensions whose resources and attributes
// this service really serves (clients such as Horizon decide what to show
// by these aliases).
var extensions = []extensionView{
	{Alias: "security-group", Name: "security-group", Description: "The security groups extension."},
	{Alias: "stateful-security-group", Name: "Stateful security group", Description: "Indicates if the security group is stateful or not"},
	{Alias: "quotas", Name: "Quota management support", Description: "Expose functions for quotas management per tenant"},
	{Alias: "quota_details", Name: "Quota details management support", Description: "Expose functions for quotas usage statistics per project"},
	{Alias: "network-ip-availability", Name: "Network IP Availability", Description: "Provides IP availability data for each network and subnet."},
	{Alias: "standard-attr-description", Name: "standard-attr-description", Description: "Extension to add descriptions to standard attributes"},
	{Alias: "standard-attr-timestamp", Name: "Resource timestamps", Description: "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes."},
	{Alias: "standard-attr-revisions", Name: "Resource revision numbers", Description: "This extension will display the revision number of neutron resources."},
	{Alias: "binding", Name: "Port Binding", Description: "Expose port bindings of a virtual port to external application"},
	{Alias: "port-security", Name: "Port Security", Description: "Provides port security"},
	{Alias: "net-mtu", Name: "Network MTU", Description: "Provides MTU attribute for a network resource."},
	{Alias: "external-net", Name: "Neutron external network", Description: "Adds external network attribute to network resource."},
	{Alias: "project-id", Name: "project_id field enabled", Description: "Extension that indicates that project_id field is enabled."},
}

func (a *API) listExtensions(w http.ResponseWriter, r *http.Request) {
	out := make([]extensionView, len(extensions))
	for i, e := range extensions {
		e.Updated, e.Links = "2024-01-01T00:00:00-00:00", []string{}
		out[i] = e
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"extensions": out})
}

func (a *API) showExtension(w http.ResponseWriter, r *http.Request) {
	alias := mux.Vars(r)["alias"]
	for _, e := range extensions {
		if e.Alias == alias {
			e.Updated, e.Links = "2024-01-01T00:00:00-00:00", []string{}
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"extension": e})
			return
		}
	}
	writeTyped(w, http.StatusNotFound, "HTTPNotFound", "Extension with alias "+alias+" does not exist")
}

// availabilities is the read-only /v2.0/network-ip-availabilities
// collection, one item a network.
func (a *API) availabilities() (c resource[struct{}, service.IPAvailability, availabilityView]) {
	c.api, c.one, c.many, c.view = a, "network_ip_availability", "network_ip_availabilities", viewAvailability
	c.list, c.get = a.svc.IPAvailabilities, a.svc.IPAvailability
	return c
}

// floatingIPView is a floating IP as Neutron shows one; there are none
// here (no external network), so it only names the filterable attributes.
type floatingIPView struct {
	ID                string  `json:"id"`
	FloatingIPAddress string  `json:"floating_ip_address"`
	FloatingNetworkID string  `json:"floating_network_id"`
	RouterID          *string `json:"router_id"`
	PortID            *string `json:"port_id"`
	FixedIPAddress    *string `json:"fixed_ip_address"`
	Status            string  `json:"status"`
	ProjectID         string  `json:"project_id"`
	TenantID          string  `json:"tenant_id"`
	Description       string  `json:"description"`
}

// listFloatingIPs answers an empty list: floating IPs need an external
// network, which this service does not have.
func (a *API) listFloatingIPs(w http.ResponseWriter, r *http.Request) {
	writeList(a, w, r, "floatingips", []floatingIPView{}, floatingIPView{})
}

// createFloatingIP refuses, as Neutron does for a network that is not
// external.
func (a *API) createFloatingIP(w http.ResponseWriter, r *http.Request) {
	writeTyped(w, http.StatusBadRequest, "BadRequest",
		"Bad floatingip request: floating IPs are not supported by this service: it has no external network.")
}

// routerView names a router's filterable attributes; there are none.
type routerView struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	ProjectID string `json:"project_id"`
	TenantID  string `json:"tenant_id"`
}

// listRouters answers an empty list, so that dashboards drawing the
// network topology find no routers instead of an error; routers are not
// served (not advertised as an extension, POST is 404).
func (a *API) listRouters(w http.ResponseWriter, r *http.Request) {
	writeList(a, w, r, "routers", []routerView{}, routerView{})
}

package api

import (
	"time"

	"imagestack/common/httpx"
	"imagestack/network"
	"imagestack/network/service"
)

// The typed bodies of the network API, in Neutron's attribute names (and
// gophercloud's networking/v2 results.go shapes).

// timeView is Neutron's timestamp format.
func timeView(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// standardView holds the standard attributes' timestamps and revision,
// which every resource's view ends with.
type standardView struct {
	CreatedAt      string `json:"created_at"`
	UpdatedAt      string `json:"updated_at"`
	RevisionNumber int    `json:"revision_number"`
}

func viewStandard(s network.Standard) standardView {
	return standardView{CreatedAt: timeView(s.CreatedAt), UpdatedAt: timeView(s.UpdatedAt), RevisionNumber: s.RevisionNumber}
}

// nullable is s, or JSON null when it is empty.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type networkView struct {
	ID                    string   `json:"id"`
	Name                  string   `json:"name"`
	Description           string   `json:"description"`
	AdminStateUp          bool     `json:"admin_state_up"`
	Status                string   `json:"status"`
	Subnets               []string `json:"subnets"`
	Shared                bool     `json:"shared"`
	ProjectID             string   `json:"project_id"`
	TenantID              string   `json:"tenant_id"`
	MTU                   int      `json:"mtu"`
	External              bool     `json:"router:external"`
	PortSecurityEnabled   bool     `json:"port_security_enabled"`
	AvailabilityZones     []string `json:"availability_zones"`
	AvailabilityZoneHints []string `json:"availability_zone_hints"`
	standardView
}

func viewNetwork(n service.NetworkDetail) networkView {
	return networkView{ID: n.ID, Name: n.Name, Description: n.Description, AdminStateUp: n.AdminStateUp, Status: n.Status,
		Subnets: n.SubnetIDs, Shared: n.Shared, ProjectID: n.ProjectID, TenantID: n.ProjectID, MTU: n.MTU,
		PortSecurityEnabled: n.PortSecurityEnabled, AvailabilityZones: []string{"nova"}, AvailabilityZoneHints: []string{},
		standardView: viewStandard(n.Standard)}
}

type poolView struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type routeView struct {
	Destination string `json:"destination"`
	NextHop     string `json:"nexthop"`
}

type subnetView struct {
	ID              string      `json:"id"`
	Name            string      `json:"name"`
	Description     string      `json:"description"`
	NetworkID       string      `json:"network_id"`
	ProjectID       string      `json:"project_id"`
	TenantID        string      `json:"tenant_id"`
	IPVersion       int         `json:"ip_version"`
	CIDR            string      `json:"cidr"`
	GatewayIP       *string     `json:"gateway_ip"`
	AllocationPools []poolView  `json:"allocation_pools"`
	EnableDHCP      bool        `json:"enable_dhcp"`
	DNSNameservers  []string    `json:"dns_nameservers"`
	HostRoutes      []routeView `json:"host_routes"`
	IPv6RAMode      *string     `json:"ipv6_ra_mode"`
	IPv6AddressMode *string     `json:"ipv6_address_mode"`
	SubnetPoolID    *string     `json:"subnetpool_id"`
	ServiceTypes    []string    `json:"service_types"`
	standardView
}

func viewSubnet(s network.Subnet) subnetView {
	return subnetView{ID: s.ID, Name: s.Name, Description: s.Description, NetworkID: s.NetworkID, ProjectID: s.ProjectID,
		TenantID: s.ProjectID, IPVersion: s.IPVersion, CIDR: s.CIDR, GatewayIP: nullable(s.GatewayIP), EnableDHCP: s.EnableDHCP,
		DNSNameservers: append([]string{}, s.DNSNameservers...), AllocationPools: httpx.ListOf(s.AllocationPools, viewPool),
		HostRoutes: httpx.ListOf(s.HostRoutes, viewRoute), ServiceTypes: []string{}, standardView: viewStandard(s.Standard)}
}

func viewPool(p network.Pool) poolView { return poolView{p.Start, p.End} }

func viewRoute(r network.HostRoute) routeView { return routeView{r.Destination, r.NextHop} }

type fixedIPView struct {
	SubnetID  string `json:"subnet_id"`
	IPAddress string `json:"ip_address"`
}

func viewFixedIP(ip network.FixedIP) fixedIPView { return fixedIPView{ip.SubnetID, ip.IPAddress} }

type portView struct {
	ID                  string        `json:"id"`
	Name                string        `json:"name"`
	Description         string        `json:"description"`
	NetworkID           string        `json:"network_id"`
	ProjectID           string        `json:"project_id"`
	TenantID            string        `json:"tenant_id"`
	MACAddress          string        `json:"mac_address"`
	AdminStateUp        bool          `json:"admin_state_up"`
	Status              string        `json:"status"`
	DeviceID            string        `json:"device_id"`
	DeviceOwner         string        `json:"device_owner"`
	FixedIPs            []fixedIPView `json:"fixed_ips"`
	SecurityGroups      []string      `json:"security_groups"`
	PortSecurityEnabled bool          `json:"port_security_enabled"`
	VNICType            string        `json:"binding:vnic_type"`
	// The other binding attributes are for admins (absent for others).
	HostID     *string            `json:"binding:host_id,omitempty"`
	VIFType    *string            `json:"binding:vif_type,omitempty"`
	VIFDetails *map[string]string `json:"binding:vif_details,omitempty"`
	Profile    *map[string]string `json:"binding:profile,omitempty"`
	standardView
}

func viewPort(p service.PortDetail) portView {
	v := portView{ID: p.ID, Name: p.Name, Description: p.Description, NetworkID: p.NetworkID, ProjectID: p.ProjectID,
		TenantID: p.ProjectID, MACAddress: p.MAC, AdminStateUp: p.AdminStateUp, Status: p.Status, DeviceID: p.DeviceID,
		DeviceOwner: p.DeviceOwner, FixedIPs: httpx.ListOf(p.FixedIPs, viewFixedIP),
		SecurityGroups: append([]string{}, p.SecurityGroups...), PortSecurityEnabled: p.PortSecurityEnabled,
		VNICType: "normal", standardView: viewStandard(p.Standard)}
	if p.Binding {
		vif := "unbound"
		if p.DeviceID != "" {
			vif = "bridge"
		}
		details, profile := map[string]string{}, map[string]string{}
		v.HostID, v.VIFType, v.VIFDetails, v.Profile = &p.HostID, &vif, &details, &profile
	}
	return v
}

type ruleView struct {
	ID              string  `json:"id"`
	SecurityGroupID string  `json:"security_group_id"`
	ProjectID       string  `json:"project_id"`
	TenantID        string  `json:"tenant_id"`
	Direction       string  `json:"direction"`
	EtherType       string  `json:"ethertype"`
	Protocol        *string `json:"protocol"`
	PortRangeMin    *int    `json:"port_range_min"`
	PortRangeMax    *int    `json:"port_range_max"`
	RemoteIPPrefix  *string `json:"remote_ip_prefix"`
	RemoteGroupID   *string `json:"remote_group_id"`
	Description     string  `json:"description"`
	standardView
}

func viewRule(r network.SecurityGroupRule) ruleView {
	return ruleView{ID: r.ID, SecurityGroupID: r.SecurityGroupID, ProjectID: r.ProjectID, TenantID: r.ProjectID,
		Direction: r.Direction, EtherType: r.EtherType, Protocol: nullable(r.Protocol), PortRangeMin: r.PortRangeMin,
		PortRangeMax: r.PortRangeMax, RemoteIPPrefix: nullable(r.RemoteIPPrefix), RemoteGroupID: nullable(r.RemoteGroupID),
		Description: r.Description, standardView: viewStandard(r.Standard)}
}

type groupView struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	ProjectID   string     `json:"project_id"`
	TenantID    string     `json:"tenant_id"`
	Stateful    bool       `json:"stateful"`
	Rules       []ruleView `json:"security_group_rules"`
	standardView
}

func viewGroup(g network.SecurityGroup) groupView {
	return groupView{ID: g.ID, Name: g.Name, Description: g.Description, ProjectID: g.ProjectID, TenantID: g.ProjectID,
		Stateful: g.Stateful, Rules: httpx.ListOf(g.Rules, viewRule), standardView: viewStandard(g.Standard)}
}

type subnetAvailabilityView struct {
	SubnetID   string `json:"subnet_id"`
	SubnetName string `json:"subnet_name"`
	CIDR       string `json:"cidr"`
	IPVersion  int    `json:"ip_version"`
	TotalIPs   int    `json:"total_ips"`
	UsedIPs    int    `json:"used_ips"`
}

type availabilityView struct {
	NetworkID   string                   `json:"network_id"`
	NetworkName string                   `json:"network_name"`
	ProjectID   string                   `json:"project_id"`
	TenantID    string                   `json:"tenant_id"`
	TotalIPs    int                      `json:"total_ips"`
	UsedIPs     int                      `json:"used_ips"`
	Subnets     []subnetAvailabilityView `json:"subnet_ip_availability"`
}

func viewAvailability(a service.IPAvailability) availabilityView {
	return availabilityView{NetworkID: a.NetworkID, NetworkName: a.NetworkName, ProjectID: a.ProjectID, TenantID: a.ProjectID,
		TotalIPs: a.TotalIPs, UsedIPs: a.UsedIPs, Subnets: httpx.ListOf(a.Subnets, viewSubnetAvailability)}
}

func viewSubnetAvailability(s service.SubnetAvailability) subnetAvailabilityView {
	return subnetAvailabilityView{s.SubnetID, s.SubnetName, s.CIDR, s.IPVersion, s.TotalIPs, s.UsedIPs}
}

type linkView struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
}

type versionView struct {
	ID     string     `json:"id"`
	Status string     `json:"status"`
	Links  []linkView `json:"links"`
}

type resourceView struct {
	Name       string     `json:"name"`
	Collection string     `json:"collection"`
	Links      []linkView `json:"links"`
}

type extensionView struct {
	Alias       string   `json:"alias"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Updated     string   `json:"updated"`
	Links       []string `json:"links"`
}

type quotaDetailView struct {
	Limit    int `json:"limit"`
	Used     int `json:"used"`
	Reserved int `json:"reserved"`
}

package api

import (
	"encoding/json"
	"net/http"
	"time"

	"imagestack/compute"
	"imagestack/compute/service"
)

// The compute API's response bodies, as typed views in the shape of
// gophercloud v2's results.go for each resource (servers, flavors,
// keypairs, ...). Maps remain only where Nova's body is free-form: server
// metadata, extra specs, addresses by network name, hosts by host name.
// A field that is null on the wire is a nil pointer without omitempty; a
// field that is sometimes absent has omitempty.

// novaTime is the format of Nova's created/updated fields.
func novaTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// usageTime is the format of OS-SRV-USG fields (microseconds, no zone);
// nil is null.
func usageTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format("2006-01-02T15:04:05.000000")
	return &s
}

// nullable is s, or null when s is empty (Nova's unset key_name, task_state).
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// linkView is one of a resource's links.
type linkView struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// resourceLinks are a resource's self and bookmark links; collection is
// "servers" or "flavors".
func (a *API) resourceLinks(collection, id string) []linkView {
	return []linkView{
		{Rel: "self", Href: a.baseURL + "/v2.1/" + collection + "/" + id},
		{Rel: "bookmark", Href: a.baseURL + "/" + collection + "/" + id},
	}
}

// nextLink is a list page's next link, the request with marker set to
// the page's last id, when the caller set a limit and the page is full;
// else none (nil, so the *_links key is left out).
func nextLink[T any](a *API, r *http.Request, page []T, limit int, id func(T) string) []linkView {
	if r.URL.Query().Get("limit") == "" || len(page) == 0 || len(page) != limit {
		return nil
	}
	q := r.URL.Query()
	q.Set("marker", id(page[len(page)-1]))
	return []linkView{{Rel: "next", Href: a.baseURL + r.URL.Path + "?" + q.Encode()}}
}

// refView is the image or flavor a server refers to, as Nova 2.1 embeds it.
type refView struct {
	ID    string     `json:"id"`
	Links []linkView `json:"links"`
}

// nameView is a {"name": ...} entry (security groups).
type nameView struct {
	Name string `json:"name"`
}

// addressView is one address of a server on a network (Nova's addresses
// are a map from network name to these).
type addressView struct {
	Addr    string `json:"addr"`
	Version int    `json:"version"`
	Type    string `json:"OS-EXT-IPS:type,omitempty"`
	MACAddr string `json:"OS-EXT-IPS-MAC:mac_addr,omitempty"`
}

// attachedVolumeView is an attached volume (none are: boot from image only).
type attachedVolumeView struct {
	ID string `json:"id"`
}

// faultView is a server's last failure, shown in ERROR.
type faultView struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Created string `json:"created"`
}

// serverView is the full server (GET /servers/{id}, /servers/detail,
// rebuild). Fields that later microversions add (2.3 extended attributes,
// 2.9 locked, 2.16 host_status, 2.19 description, 2.26 tags, 2.47 the
// embedded flavor) go here as pointer fields with omitempty, set by the
// renderer only at the microversions that show them.
type serverView struct {
	ID               string                   `json:"id"`
	Name             string                   `json:"name"`
	Status           string                   `json:"status"`
	TenantID         string                   `json:"tenant_id"`
	UserID           string                   `json:"user_id"`
	Metadata         map[string]string        `json:"metadata"`
	HostID           string                   `json:"hostId"`
	Created          string                   `json:"created"`
	Updated          string                   `json:"updated"`
	Image            refView                  `json:"image"`
	Flavor           refView                  `json:"flavor"`
	Addresses        map[string][]addressView `json:"addresses"`
	AccessIPv4       string                   `json:"accessIPv4"`
	AccessIPv6       string                   `json:"accessIPv6"`
	Links            []linkView               `json:"links"`
	KeyName          *string                  `json:"key_name"`
	ConfigDrive      string                   `json:"config_drive"`
	Progress         int                      `json:"progress"`
	DiskConfig       string                   `json:"OS-DCF:diskConfig"`
	AvailabilityZone string                   `json:"OS-EXT-AZ:availability_zone"`
	VMState          string                   `json:"OS-EXT-STS:vm_state"`
	TaskState        *string                  `json:"OS-EXT-STS:task_state"`
	PowerState       int                      `json:"OS-EXT-STS:power_state"`
	LaunchedAt       *string                  `json:"OS-SRV-USG:launched_at"`
	TerminatedAt     *string                  `json:"OS-SRV-USG:terminated_at"`
	AttachedVolumes  []attachedVolumeView     `json:"os-extended-volumes:volumes_attached"`
	SecurityGroups   []nameView               `json:"security_groups"`
	Fault            *faultView               `json:"fault,omitempty"`
	// AdminPass is set in the rebuild answer only.
	AdminPass string `json:"adminPass,omitempty"`
}

// defaultSecurityGroups is the default group alone.
func defaultSecurityGroups() []nameView { return []nameView{{Name: "default"}} }

// securityGroupsOf is a server's groups as Nova with Neutron shows them:
// those of its ports, each name once; the default group for a server
// without NICs or whose NICs were recorded without their groups.
func securityGroupsOf(sv *compute.Server) []nameView {
	out, seen, known := []nameView{}, map[string]bool{}, false
	for _, n := range sv.NICs {
		known = known || n.SecurityGroups != nil
		for _, g := range n.SecurityGroups {
			if !seen[g] {
				seen[g] = true
				out = append(out, nameView{Name: g})
			}
		}
	}
	if !known {
		return defaultSecurityGroups()
	}
	return out
}

// requestedSecurityGroups answers POST /servers: the groups asked for, or
// the default one.
func requestedSecurityGroups(names []string) []nameView {
	if names == nil {
		return defaultSecurityGroups()
	}
	out := make([]nameView, 0, len(names))
	for _, n := range names {
		out = append(out, nameView{Name: n})
	}
	return out
}

// serverDetail renders the full server as Nova 2.1 does.
func (a *API) serverDetail(sv *compute.Server) serverView {
	md := sv.Metadata
	if md == nil {
		md = map[string]string{}
	}
	v := serverView{
		ID: sv.ID, Name: sv.Name, Status: sv.Status(), TenantID: sv.ProjectID, UserID: sv.UserID,
		Metadata: md, HostID: compute.HostID(sv.ProjectID), Created: novaTime(sv.CreatedAt), Updated: novaTime(sv.UpdatedAt),
		Image:     refView{ID: sv.ImageID, Links: []linkView{{Rel: "bookmark", Href: a.baseURL + "/images/" + sv.ImageID}}},
		Flavor:    refView{ID: sv.FlavorID, Links: []linkView{{Rel: "bookmark", Href: a.baseURL + "/flavors/" + sv.FlavorID}}},
		Addresses: addresses(sv.NICs, true), Links: a.resourceLinks("servers", sv.ID),
		AccessIPv4: sv.AccessIPv4, AccessIPv6: sv.AccessIPv6, ConfigDrive: configDriveView(sv),
		KeyName: nullable(sv.KeyName), DiskConfig: "MANUAL", AvailabilityZone: service.ZoneName,
		VMState: sv.VMState, TaskState: nullable(sv.TaskState), PowerState: int(sv.PowerState),
		LaunchedAt: usageTime(sv.LaunchedAt), AttachedVolumes: []attachedVolumeView{}, SecurityGroups: securityGroupsOf(sv),
	}
	if sv.VMState == compute.VMError && sv.Fault != "" {
		v.Fault = &faultView{Code: 500, Message: sv.Fault, Created: novaTime(sv.UpdatedAt)}
	}
	return v
}

// addresses is Nova's "addresses": each network's name with the fixed
// addresses of the server's ports on it, in NIC order; extended adds the
// OS-EXT-IPS type and MAC (the server view does, /ips does not).
func addresses(nics []compute.NIC, extended bool) map[string][]addressView {
	out := map[string][]addressView{}
	for _, n := range nics {
		list := out[n.NetworkName]
		for _, ip := range n.IPs {
			v := addressView{Addr: ip.Address, Version: ip.Version}
			if extended {
				v.Type, v.MACAddr = "fixed", n.MAC
			}
			list = append(list, v)
		}
		out[n.NetworkName] = list
	}
	return out
}

// configDriveView is Nova's config_drive: "True" or "".
func configDriveView(sv *compute.Server) string {
	if sv.ConfigDrive {
		return "True"
	}
	return ""
}

// serverBriefView is a server in GET /servers.
type serverBriefView struct {
	ID    string     `json:"id"`
	Name  string     `json:"name"`
	Links []linkView `json:"links"`
}

// serverBrief renders a server of GET /servers.
func (a *API) serverBrief(sv *compute.Server) serverBriefView {
	return serverBriefView{ID: sv.ID, Name: sv.Name, Links: a.resourceLinks("servers", sv.ID)}
}

// serverCreatedView is the answer to POST /servers.
type serverCreatedView struct {
	ID             string     `json:"id"`
	Links          []linkView `json:"links"`
	DiskConfig     string     `json:"OS-DCF:diskConfig"`
	SecurityGroups []nameView `json:"security_groups"`
	AdminPass      string     `json:"adminPass"`
}

// serverBody is {"server": ...}.
type serverBody[T any] struct {
	Server T `json:"server"`
}

// serversBody is a page of servers, with a next link when the page is full.
type serversBody[T any] struct {
	Servers []T        `json:"servers"`
	Links   []linkView `json:"servers_links,omitempty"`
}

// reservationBody answers POST /servers with return_reservation_id.
type reservationBody struct {
	ReservationID string `json:"reservation_id"`
}

// metadataBody is a server's metadata (free-form, as Nova's).
type metadataBody struct {
	Metadata map[string]string `json:"metadata"`
}

// metaItemBody is one metadata item, {"meta": {key: value}}.
type metaItemBody struct {
	Meta map[string]string `json:"meta"`
}

// consoleOutputBody answers os-getConsoleOutput.
type consoleOutputBody struct {
	Output string `json:"output"`
}

// swapView is a flavor's swap in MiB, which Nova shows as "" when zero.
type swapView int

// MarshalJSON writes "" for no swap, else the number.
func (s swapView) MarshalJSON() ([]byte, error) {
	if s <= 0 {
		return []byte(`""`), nil
	}
	return json.Marshal(int(s))
}

// flavorView is Nova's full flavor. Later microversions' fields (2.55
// description, 2.61 extra_specs) go here as pointers with omitempty.
type flavorView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	RAM        int        `json:"ram"`
	VCPUs      int        `json:"vcpus"`
	Disk       int        `json:"disk"`
	Swap       swapView   `json:"swap"`
	RxTxFactor float64    `json:"rxtx_factor"`
	Ephemeral  int        `json:"OS-FLV-EXT-DATA:ephemeral"`
	Disabled   bool       `json:"OS-FLV-DISABLED:disabled"`
	IsPublic   bool       `json:"os-flavor-access:is_public"`
	Links      []linkView `json:"links"`
}

// flavorDetail renders Nova's full flavor.
func (a *API) flavorDetail(f compute.Flavor) flavorView {
	return flavorView{ID: f.ID, Name: f.Name, RAM: f.RAM, VCPUs: f.VCPUs, Disk: f.Disk, Swap: swapView(f.Swap),
		RxTxFactor: f.RxTxFactor, Ephemeral: f.Ephemeral, Disabled: f.Disabled, IsPublic: f.IsPublic,
		Links: a.resourceLinks("flavors", f.ID)}
}

// flavorBriefView is a flavor in GET /flavors.
type flavorBriefView struct {
	ID    string     `json:"id"`
	Name  string     `json:"name"`
	Links []linkView `json:"links"`
}

// flavorBrief renders a flavor of GET /flavors.
func (a *API) flavorBrief(f compute.Flavor) flavorBriefView {
	return flavorBriefView{ID: f.ID, Name: f.Name, Links: a.resourceLinks("flavors", f.ID)}
}

// flavorBody is {"flavor": ...}.
type flavorBody struct {
	Flavor flavorView `json:"flavor"`
}

// flavorsBody is a page of flavors, with a next link when the page is full.
type flavorsBody[T any] struct {
	Flavors []T        `json:"flavors"`
	Links   []linkView `json:"flavors_links,omitempty"`
}

// extraSpecsBody is a flavor's extra specs (free-form, as Nova's).
type extraSpecsBody struct {
	ExtraSpecs map[string]string `json:"extra_specs"`
}

// flavorAccessEntry is one project allowed to use a private flavor.
type flavorAccessEntry struct {
	FlavorID string `json:"flavor_id"`
	TenantID string `json:"tenant_id"`
}

// flavorAccessBody is Nova's {"flavor_access": [{flavor_id, tenant_id}]}.
type flavorAccessBody struct {
	FlavorAccess []flavorAccessEntry `json:"flavor_access"`
}

// flavorAccessView lists the projects allowed to use a flavor.
func flavorAccessView(flavorID string, projects []string) flavorAccessBody {
	list := make([]flavorAccessEntry, len(projects))
	for i, p := range projects {
		list[i] = flavorAccessEntry{FlavorID: flavorID, TenantID: p}
	}
	return flavorAccessBody{FlavorAccess: list}
}

// keypairView is a key pair as GET /os-keypairs lists it; Type only
// from microversion 2.2.
type keypairView struct {
	Name        string `json:"name"`
	PublicKey   string `json:"public_key"`
	Fingerprint string `json:"fingerprint"`
	Type        string `json:"type,omitempty"`
}

// keypairCreatedView answers POST /os-keypairs; PrivateKey is set when
// the key was generated.
type keypairCreatedView struct {
	keypairView
	UserID     string `json:"user_id"`
	PrivateKey string `json:"private_key,omitempty"`
}

// keypairDetailView answers GET /os-keypairs/{name} with Nova 2.1's
// database columns (never deleted, never updated, id 0).
type keypairDetailView struct {
	keypairView
	UserID    string  `json:"user_id"`
	CreatedAt string  `json:"created_at"`
	Deleted   bool    `json:"deleted"`
	DeletedAt *string `json:"deleted_at"`
	UpdatedAt *string `json:"updated_at"`
	ID        int     `json:"id"`
}

// newKeypairView renders a key pair's common fields at r's microversion.
func newKeypairView(r *http.Request, k compute.KeyPair) keypairView {
	v := keypairView{Name: k.Name, PublicKey: k.PublicKey, Fingerprint: k.Fingerprint}
	if atLeast(r, "2.2") {
		v.Type = k.Type
	}
	return v
}

// keypairBody is {"keypair": ...}.
type keypairBody[T any] struct {
	KeyPair T `json:"keypair"`
}

// keypairsBody lists key pairs, each wrapped as {"keypair": ...}.
type keypairsBody struct {
	KeyPairs []keypairBody[keypairView] `json:"keypairs"`
}

// limitsBody answers GET /limits: no rate limits, Nova's absolute limits.
type limitsBody struct {
	Limits struct {
		Rate     []struct{}         `json:"rate"`
		Absolute absoluteLimitsView `json:"absolute"`
	} `json:"limits"`
}

// absoluteLimitsView is a project's limits and usage; what is not
// supported here (personality, security groups, floating IPs) shows
// Nova's defaults and no use.
type absoluteLimitsView struct {
	MaxTotalInstances       int `json:"maxTotalInstances"`
	MaxTotalCores           int `json:"maxTotalCores"`
	MaxTotalRAMSize         int `json:"maxTotalRAMSize"`
	TotalInstancesUsed      int `json:"totalInstancesUsed"`
	TotalCoresUsed          int `json:"totalCoresUsed"`
	TotalRAMUsed            int `json:"totalRAMUsed"`
	MaxTotalKeypairs        int `json:"maxTotalKeypairs"`
	MaxServerMeta           int `json:"maxServerMeta"`
	MaxImageMeta            int `json:"maxImageMeta"`
	MaxPersonality          int `json:"maxPersonality"`
	MaxPersonalitySize      int `json:"maxPersonalitySize"`
	MaxServerGroups         int `json:"maxServerGroups"`
	MaxServerGroupMembers   int `json:"maxServerGroupMembers"`
	TotalServerGroupsUsed   int `json:"totalServerGroupsUsed"`
	MaxSecurityGroups       int `json:"maxSecurityGroups"`
	MaxSecurityGroupRules   int `json:"maxSecurityGroupRules"`
	TotalSecurityGroupsUsed int `json:"totalSecurityGroupsUsed"`
	MaxTotalFloatingIps     int `json:"maxTotalFloatingIps"`
	TotalFloatingIpsUsed    int `json:"totalFloatingIpsUsed"`
}

// newLimitsBody renders the limits in force and their use.
func newLimitsBody(l service.Limits) limitsBody {
	var b limitsBody
	b.Limits.Rate = []struct{}{}
	b.Limits.Absolute = absoluteLimitsView{
		MaxTotalInstances: l.Quotas.Instances, MaxTotalCores: l.Quotas.Cores, MaxTotalRAMSize: l.Quotas.RAM,
		TotalInstancesUsed: l.InstancesUsed, TotalCoresUsed: l.CoresUsed, TotalRAMUsed: l.RAMUsed,
		MaxTotalKeypairs: l.KeyPairs, MaxServerMeta: l.MetadataItems, MaxImageMeta: l.MetadataItems,
		MaxPersonality: 5, MaxPersonalitySize: 10240, MaxServerGroups: l.ServerGroups,
		MaxServerGroupMembers: l.ServerGroupMembers, MaxSecurityGroups: 10, MaxSecurityGroupRules: 20, MaxTotalFloatingIps: 10,
	}
	return b
}

// quotaSetView is a project's quota set; T is the limit (int) or, for
// /detail, a quotaDetailView.
type quotaSetView[T any] struct {
	ID                       string `json:"id"`
	Instances                T      `json:"instances"`
	Cores                    T      `json:"cores"`
	RAM                      T      `json:"ram"`
	KeyPairs                 T      `json:"key_pairs"`
	MetadataItems            T      `json:"metadata_items"`
	ServerGroups             T      `json:"server_groups"`
	ServerGroupMembers       T      `json:"server_group_members"`
	InjectedFiles            T      `json:"injected_files"`
	InjectedFileContentBytes T      `json:"injected_file_content_bytes"`
	InjectedFilePathBytes    T      `json:"injected_file_path_bytes"`
}

// quotaDetailView is one quota of /os-quota-sets/{project}/detail.
type quotaDetailView struct {
	Limit    int `json:"limit"`
	InUse    int `json:"in_use"`
	Reserved int `json:"reserved"`
}

// newQuotaSet renders the quotas of l, each as quota(limit, in use).
func newQuotaSet[T any](project string, l service.Limits, quota func(limit, used int) T) quotaSetView[T] {
	return quotaSetView[T]{ID: project,
		Instances: quota(l.Quotas.Instances, l.InstancesUsed), Cores: quota(l.Quotas.Cores, l.CoresUsed),
		RAM: quota(l.Quotas.RAM, l.RAMUsed), KeyPairs: quota(l.KeyPairs, 0), MetadataItems: quota(l.MetadataItems, 0),
		ServerGroups: quota(l.ServerGroups, 0), ServerGroupMembers: quota(l.ServerGroupMembers, 0),
		InjectedFiles: quota(5, 0), InjectedFileContentBytes: quota(10240, 0), InjectedFilePathBytes: quota(255, 0)}
}

// quotaSetBody is {"quota_set": ...}.
type quotaSetBody[T any] struct {
	QuotaSet quotaSetView[T] `json:"quota_set"`
}

// tenantUsageView is a project's usage over a period.
type tenantUsageView struct {
	TenantID           string             `json:"tenant_id"`
	Start              *string            `json:"start"`
	Stop               *string            `json:"stop"`
	TotalHours         float64            `json:"total_hours"`
	TotalVCPUsUsage    float64            `json:"total_vcpus_usage"`
	TotalMemoryMBUsage float64            `json:"total_memory_mb_usage"`
	TotalLocalGBUsage  float64            `json:"total_local_gb_usage"`
	ServerUsages       *[]serverUsageView `json:"server_usages,omitempty"`
}

// serverUsageView is one server's part of a tenant usage (live servers
// only, so ended_at is null).
type serverUsageView struct {
	InstanceID string  `json:"instance_id"`
	Name       string  `json:"name"`
	Hours      float64 `json:"hours"`
	MemoryMB   int     `json:"memory_mb"`
	LocalGB    int     `json:"local_gb"`
	VCPUs      int     `json:"vcpus"`
	TenantID   string  `json:"tenant_id"`
	Flavor     string  `json:"flavor"`
	StartedAt  *string `json:"started_at"`
	EndedAt    *string `json:"ended_at"`
	State      string  `json:"state"`
	Uptime     int     `json:"uptime"`
}

// newTenantUsage renders u; detailed adds each server's share.
func newTenantUsage(u service.Usage, detailed bool) tenantUsageView {
	v := tenantUsageView{TenantID: u.ProjectID, Start: usageTime(&u.Start), Stop: usageTime(&u.Stop), TotalHours: u.Hours,
		TotalVCPUsUsage: u.VCPUHours, TotalMemoryMBUsage: u.RAMHours, TotalLocalGBUsage: u.DiskHours}
	if detailed {
		servers := make([]serverUsageView, 0, len(u.Servers))
		for _, s := range u.Servers {
			servers = append(servers, serverUsageView{InstanceID: s.ID, Name: s.Name, Hours: s.Hours, MemoryMB: s.RAM,
				LocalGB: s.Disk, VCPUs: s.VCPUs, TenantID: u.ProjectID, Flavor: s.Flavor, StartedAt: usageTime(&s.Started),
				State: s.State, Uptime: int(s.Hours * 3600)})
		}
		v.ServerUsages = &servers
	}
	return v
}

// tenantUsageBody is {"tenant_usage": ...}.
type tenantUsageBody struct {
	TenantUsage tenantUsageView `json:"tenant_usage"`
	Links       []linkView      `json:"tenant_usage_links,omitempty"`
}

// tenantUsagesBody is {"tenant_usages": [...]}.
type tenantUsagesBody struct {
	TenantUsages []tenantUsageView `json:"tenant_usages"`
	Links        []linkView        `json:"tenant_usages_links,omitempty"`
}

// serverGroupsBody lists server groups: always none (not supported).
type serverGroupsBody struct {
	ServerGroups []struct{} `json:"server_groups"`
}

// zoneView is an availability zone; Hosts (host name -> service name ->
// state) is null but in the admin's detail.
type zoneView struct {
	ZoneName  string                                 `json:"zoneName"`
	ZoneState zoneStateView                          `json:"zoneState"`
	Hosts     map[string]map[string]zoneServiceState `json:"hosts"`
}

// zoneStateView is a zone's state: always available.
type zoneStateView struct {
	Available bool `json:"available"`
}

// zoneServiceState is a compute service's state on a host of a zone.
type zoneServiceState struct {
	Available bool   `json:"available"`
	Active    bool   `json:"active"`
	UpdatedAt string `json:"updated_at"`
}

// zonesBody is {"availabilityZoneInfo": [...]}.
type zonesBody struct {
	AvailabilityZoneInfo []zoneView `json:"availabilityZoneInfo"`
}

// versionView is a version document; MediaTypes only in GET /v2.1.
type versionView struct {
	ID         string          `json:"id"`
	Status     string          `json:"status"`
	Version    string          `json:"version"`
	MinVersion string          `json:"min_version"`
	Updated    string          `json:"updated"`
	Links      []linkView      `json:"links"`
	MediaTypes []mediaTypeView `json:"media-types,omitempty"`
}

// mediaTypeView is a media type a version accepts.
type mediaTypeView struct {
	Base string `json:"base"`
	Type string `json:"type"`
}

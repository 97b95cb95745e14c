package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"

	"imagestack/compute"
	"imagestack/compute/service"
)

// The server view at each microversion, as Nova's servers view builder
// draws it: what every view has, what only the full views (show, detail,
// and update and rebuild from 2.75) add, what policy shows to admins, and
// the fields later microversions add.

// opt is a field that some views carry and others leave out: unset is
// absent (omitzero), set is its value, null included.
type opt[T any] struct {
	set bool
	v   T
}

// some is a set opt.
func some[T any](v T) opt[T] { return opt[T]{set: true, v: v} }

// IsZero reports an unset field, which omitzero leaves out.
func (o opt[T]) IsZero() bool { return !o.set }

// MarshalJSON writes the value.
func (o opt[T]) MarshalJSON() ([]byte, error) { return json.Marshal(o.v) }

// serverView is a server: GET /servers/{id}, /servers/detail, PUT and
// rebuild.
type serverView struct {
	ID         string                   `json:"id"`
	Name       string                   `json:"name"`
	Status     string                   `json:"status"`
	TenantID   string                   `json:"tenant_id"`
	UserID     string                   `json:"user_id"`
	Metadata   map[string]string        `json:"metadata"`
	HostID     string                   `json:"hostId"`
	Created    string                   `json:"created"`
	Updated    string                   `json:"updated"`
	Image      refView                  `json:"image"`
	Flavor     serverFlavorView         `json:"flavor"`
	Addresses  map[string][]addressView `json:"addresses"`
	AccessIPv4 string                   `json:"accessIPv4"`
	AccessIPv6 string                   `json:"accessIPv6"`
	Links      []linkView               `json:"links"`
	DiskConfig string                   `json:"OS-DCF:diskConfig"`
	Fault      *faultView               `json:"fault,omitempty"`
	Progress   opt[int]                 `json:"progress,omitzero"`
	KeyName    opt[*string]             `json:"key_name,omitzero"`
	*fullView
	*extendedView
	Locked       opt[bool]      `json:"locked,omitzero"`
	HostStatus   opt[string]    `json:"host_status,omitzero"`
	Description  opt[*string]   `json:"description,omitzero"`
	Tags         opt[[]string]  `json:"tags,omitzero"`
	TrustedCerts opt[*[]string] `json:"trusted_image_certificates,omitzero"`
	ServerGroups opt[[]string]  `json:"server_groups,omitzero"`
	LockedReason opt[*string]   `json:"locked_reason,omitzero"`
	Hostname     opt[string]    `json:"OS-EXT-SRV-ATTR:hostname,omitzero"`
	// AdminPass and UserData (2.57) are in the rebuild answer only.
	AdminPass string       `json:"adminPass,omitempty"`
	UserData  opt[*string] `json:"user_data,omitzero"`
}

// fullView is what GET shows and PUT and rebuild answer only from 2.75.
type fullView struct {
	ConfigDrive      string               `json:"config_drive"`
	AvailabilityZone string               `json:"OS-EXT-AZ:availability_zone"`
	VMState          string               `json:"OS-EXT-STS:vm_state"`
	TaskState        *string              `json:"OS-EXT-STS:task_state"`
	PowerState       int                  `json:"OS-EXT-STS:power_state"`
	LaunchedAt       *string              `json:"OS-SRV-USG:launched_at"`
	TerminatedAt     *string              `json:"OS-SRV-USG:terminated_at"`
	AttachedVolumes  []attachedVolumeView `json:"os-extended-volumes:volumes_attached"`
	SecurityGroups   []nameView           `json:"security_groups,omitempty"`
}

// extendedView is the OS-EXT-SRV-ATTR attributes (admins); those after
// hypervisor_hostname from 2.3 (hostname is serverView's, as 2.90 shows
// it to everyone).
type extendedView struct {
	Host               *string      `json:"OS-EXT-SRV-ATTR:host"`
	InstanceName       string       `json:"OS-EXT-SRV-ATTR:instance_name"`
	HypervisorHostname *string      `json:"OS-EXT-SRV-ATTR:hypervisor_hostname"`
	KernelID           opt[string]  `json:"OS-EXT-SRV-ATTR:kernel_id,omitzero"`
	RamdiskID          opt[string]  `json:"OS-EXT-SRV-ATTR:ramdisk_id,omitzero"`
	LaunchIndex        opt[int]     `json:"OS-EXT-SRV-ATTR:launch_index,omitzero"`
	ReservationID      opt[string]  `json:"OS-EXT-SRV-ATTR:reservation_id,omitzero"`
	RootDeviceName     opt[*string] `json:"OS-EXT-SRV-ATTR:root_device_name,omitzero"`
	UserData           opt[*string] `json:"OS-EXT-SRV-ATTR:user_data,omitzero"`
}

// serverFlavorView is the server's flavor: a link before 2.47, its own
// copy of the flavor from 2.47.
type serverFlavorView struct {
	ID           string                 `json:"id,omitempty"`
	Links        []linkView             `json:"links,omitempty"`
	VCPUs        opt[int]               `json:"vcpus,omitzero"`
	RAM          opt[int]               `json:"ram,omitzero"`
	Disk         opt[int]               `json:"disk,omitzero"`
	Ephemeral    opt[int]               `json:"ephemeral,omitzero"`
	Swap         opt[int]               `json:"swap,omitzero"`
	OriginalName opt[string]            `json:"original_name,omitzero"`
	ExtraSpecs   opt[map[string]string] `json:"extra_specs,omitzero"`
}

// serverShow says what a server view carries (Nova's show_* switches).
type serverShow struct {
	full         bool // show and detail; PUT and rebuild from 2.75
	serverGroups bool // show, PUT and rebuild from 2.71 (not detail)
	keyName      bool // key_name outside the full view (rebuild from 2.54)
	userData     bool // OS-EXT-SRV-ATTR:user_data (not in rebuild)
	rights       service.ViewRights
}

// progressStatuses are those whose view has a progress (Nova's).
var progressStatuses = []string{"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"}

// showOf is what GET /servers/{id} shows c of sv at r's microversion.
func (a *API) showOf(r *http.Request, sv *compute.Server) serverShow {
	return serverShow{full: true, serverGroups: atLeast(r, "2.71"), userData: true, rights: a.svc.ViewRights(r.Context(), a.caller(r), sv)}
}

// detailShow is what GET /servers/detail shows c, decided once per page.
func (a *API) detailShow(r *http.Request) serverShow {
	return serverShow{full: true, userData: true, rights: a.svc.ViewRights(r.Context(), a.caller(r), nil)}
}

// changedShow is what PUT and rebuild answer with: the full view from
// 2.75, a shorter one before.
func (a *API) changedShow(r *http.Request, sv *compute.Server) serverShow {
	return serverShow{full: atLeast(r, "2.75"), serverGroups: atLeast(r, "2.71"), userData: true,
		rights: a.svc.ViewRights(r.Context(), a.caller(r), sv)}
}

// serverAt renders sv at r's microversion with what show says.
func (a *API) serverAt(r *http.Request, sv *compute.Server, show serverShow) serverView {
	v := a.serverCore(r, sv, show)
	if show.full {
		v.fullView = newFullView(sv)
	}
	if show.full || show.keyName {
		v.KeyName = some(nullable(sv.KeyName))
	}
	if show.rights.ExtendedAttributes && (show.full || atLeast(r, "2.75")) {
		v.extendedView = a.extendedOf(r, sv, show.userData)
	}
	a.addVersionedFields(r, &v, sv, show)
	if show.serverGroups {
		v = a.withServerGroups(r, v)
	}
	return v
}

// serverCore is what every server view has.
func (a *API) serverCore(r *http.Request, sv *compute.Server, show serverShow) serverView {
	md := sv.Metadata
	if md == nil {
		md = map[string]string{}
	}
	v := serverView{
		ID: sv.ID, Name: sv.Name, Status: sv.Status(), TenantID: sv.ProjectID, UserID: sv.UserID,
		Metadata: md, HostID: compute.HostID(sv.ProjectID), Created: novaTime(sv.CreatedAt), Updated: novaTime(sv.UpdatedAt),
		Image:     refView{ID: sv.ImageID, Links: []linkView{{Rel: "bookmark", Href: a.baseURL + "/images/" + sv.ImageID}}},
		Flavor:    a.serverFlavor(r, sv, show.rights.FlavorExtraSpecs),
		Addresses: addresses(sv.NICs, show.full), Links: a.resourceLinks("servers", sv.ID),
		AccessIPv4: sv.AccessIPv4, AccessIPv6: sv.AccessIPv6, DiskConfig: "MANUAL",
	}
	if sv.VMState == compute.VMError && sv.Fault != "" {
		v.Fault = &faultView{Code: 500, Message: sv.Fault, Created: novaTime(sv.UpdatedAt)}
	}
	if slices.Contains(progressStatuses, v.Status) {
		v.Progress = some(0)
	}
	return v
}

// newFullView is the full views' part of sv.
func newFullView(sv *compute.Server) *fullView {
	return &fullView{
		ConfigDrive: configDriveView(sv), AvailabilityZone: service.ZoneName,
		VMState: sv.VMState, TaskState: nullable(sv.TaskState), PowerState: int(sv.PowerState),
		LaunchedAt: usageTime(sv.LaunchedAt), AttachedVolumes: []attachedVolumeView{}, SecurityGroups: securityGroupsOf(sv),
	}
}

// serverFlavor is the server's flavor at r's microversion.
func (a *API) serverFlavor(r *http.Request, sv *compute.Server, extraSpecs bool) serverFlavorView {
	if !atLeast(r, "2.47") {
		return serverFlavorView{ID: sv.FlavorID, Links: []linkView{{Rel: "bookmark", Href: a.baseURL + "/flavors/" + sv.FlavorID}}}
	}
	f := sv.Flavor
	v := serverFlavorView{VCPUs: some(sv.VCPUs), RAM: some(sv.RAM), Disk: some(sv.Disk), Ephemeral: some(f.Ephemeral),
		Swap: some(f.Swap), OriginalName: some(f.Name)}
	if extraSpecs {
		specs := f.ExtraSpecs
		if specs == nil {
			specs = map[string]string{}
		}
		v.ExtraSpecs = some(specs)
	}
	return v
}

// extendedOf is sv's OS-EXT-SRV-ATTR attributes at r's microversion.
func (a *API) extendedOf(r *http.Request, sv *compute.Server, userData bool) *extendedView {
	p := a.svc.PlacementOf(sv)
	v := &extendedView{Host: nullable(p.Host), InstanceName: p.InstanceName, HypervisorHostname: nullable(p.Node)}
	if !atLeast(r, "2.3") {
		return v
	}
	root := "/dev/vda"
	v.KernelID, v.RamdiskID, v.LaunchIndex = some(sv.KernelID), some(sv.RamdiskID), some(sv.LaunchIndex)
	v.ReservationID, v.RootDeviceName = some(sv.ReservationID), some(&root)
	if userData {
		v.UserData = some(encodedUserData(sv))
	}
	return v
}

// encodedUserData is a server's user data as the API shows it (base64),
// or null.
func encodedUserData(sv *compute.Server) *string {
	if sv.UserData == nil {
		return nil
	}
	s := base64.StdEncoding.EncodeToString(sv.UserData)
	return &s
}

// addVersionedFields sets the fields microversions added after 2.3.
func (a *API) addVersionedFields(r *http.Request, v *serverView, sv *compute.Server, show serverShow) {
	if atLeast(r, "2.9") {
		v.Locked = some(sv.Locked)
	}
	if atLeast(r, "2.16") && show.rights.HostStatus && (show.full || atLeast(r, "2.75")) {
		v.HostStatus = some(show.rights.StatusOf(a.svc.PlacementOf(sv).Host))
	}
	if atLeast(r, "2.19") {
		v.Description = some(sv.Description)
	}
	if atLeast(r, "2.26") {
		v.Tags = some(append([]string{}, sv.Tags...))
	}
	if atLeast(r, "2.63") {
		v.TrustedCerts = some[*[]string](nil)
	}
	if atLeast(r, "2.73") {
		v.LockedReason = some(nullable(sv.LockedReason))
	}
	if atLeast(r, "2.90") || (atLeast(r, "2.3") && v.extendedView != nil) {
		v.Hostname = some(sv.Hostname)
	}
}

package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"imagestack/compute"
	"imagestack/compute/service"
)

// Nova's server list query parameters (schemas/servers.py index_query):
// the 2.1 set, then those later microversions add. From 2.75 any other
// parameter is 400; before, others are ignored.
var (
	listParams = strings.Fields(`user_id project_id tenant_id launch_index image_ref image kernel_id ramdisk_id hostname
		key_name power_state vm_state task_state host node flavor reservation_id launched_at terminated_at
		availability_zone name display_name description display_description locked_by uuid root_device_name
		config_drive access_ip_v4 access_ip_v6 auto_disk_config progress sort_key sort_dir all_tenants soft_deleted
		deleted status changes-since ip ip6 created_at limit marker`)
	// joinedParams name joined tables: filtering by them is 400.
	joinedParams = strings.Fields(`block_device_mapping services metadata system_metadata info_cache security_groups pci_devices`)
	tagParams    = []string{"tags", "tags-any", "not-tags", "not-tags-any"}
)

// Nova's sort keys (VALID_SORT_KEYS): those it orders by, and those it
// accepts but ignores (locked becomes a real key at 2.73; from 2.75 the
// ignored ones are 400).
var (
	sortKeys        = strings.Fields(`access_ip_v4 access_ip_v6 auto_disk_config availability_zone config_drive created_at display_description display_name host hostname image_ref instance_type_id kernel_id key_name launch_index launched_at locked_by node power_state progress project_id ramdisk_id root_device_name task_state terminated_at updated_at user_id uuid vm_state`)
	ignoredSortKeys = strings.Fields(`architecture cell_name cleaned default_ephemeral_device default_swap_device deleted deleted_at disable_terminate ephemeral_gb ephemeral_key_uuid id key_data launched_on locked memory_mb os_type reservation_id root_gb shutdown_terminate user_data vcpus vm_mode`)
)

// knownListParam reports whether name is a list parameter at r's microversion.
func knownListParam(r *http.Request, name string) bool {
	return slices.Contains(listParams, name) || slices.Contains(joinedParams, name) || strings.HasPrefix(name, "_") ||
		atLeast(r, "2.26") && slices.Contains(tagParams, name) || atLeast(r, "2.66") && name == "changes-before" ||
		atLeast(r, "2.73") && name == "locked"
}

// userListParams are the filters of those who may not use them all
// (Nova's _get_server_search_options); paging and sorting are for all.
func userListParams(r *http.Request) []string {
	opts := strings.Fields("reservation_id name status image flavor ip changes-since all_tenants limit marker sort_key sort_dir")
	for _, v := range []struct{ min, names string }{{"2.5", "ip6"}, {"2.26", strings.Join(tagParams, " ")}, {"2.66", "changes-before"},
		{"2.73", "locked"}, {"2.83", "availability_zone config_drive key_name created_at launched_at terminated_at power_state task_state vm_state progress user_id"},
		{"2.90", "hostname"}} {
		if atLeast(r, v.min) {
			opts = append(opts, strings.Fields(v.names)...)
		}
	}
	return opts
}

// checkListParams applies Nova's schema and option stripping to a list
// query: unknown parameters (400 from 2.75), then the filters the caller
// may not use (dropped), then joined-table filters (400). It returns the
// message of a 400, or "".
func (a *API) checkListParams(r *http.Request, q url.Values, c service.Caller) string {
	var unexpected []string
	for k := range q {
		if !knownListParam(r, k) {
			unexpected = append(unexpected, "'"+k+"'")
		}
	}
	if len(unexpected) > 0 && atLeast(r, "2.75") {
		slices.Sort(unexpected)
		verb := " was"
		if len(unexpected) > 1 {
			verb = " were"
		}
		return "Additional properties are not allowed (" + strings.Join(unexpected, ", ") + verb + " unexpected)"
	}
	if msg := checkSortKeys(r, q["sort_key"]); msg != "" {
		return msg
	}
	if !a.svc.AllowAllFilters(c) {
		allowed := userListParams(r)
		for k := range q {
			if !slices.Contains(allowed, k) {
				q.Del(k)
			}
		}
	}
	for k := range q {
		if slices.Contains(joinedParams, k) || strings.HasPrefix(k, "_") {
			return "Invalid filter field: " + k + "."
		}
	}
	return ""
}

// checkSortKeys checks sort keys against Nova's enum at r's microversion.
func checkSortKeys(r *http.Request, keys []string) string {
	valid := append(slices.Clone(sortKeys), ignoredSortKeys...)
	if atLeast(r, "2.75") {
		valid = append(slices.Clone(sortKeys), "locked")
	}
	slices.Sort(valid)
	for _, k := range keys {
		if !slices.Contains(valid, k) {
			return fmt.Sprintf("Invalid input for query parameters sort_key. Value: %s. '%s' is not one of ['%s']", k, k, strings.Join(valid, "', '"))
		}
	}
	return ""
}

// parseSort reads sort_key/sort_dir as Nova's get_sort_params and
// process_sort_params do: keys default to created_at, directions to desc,
// a key without its own direction takes the first one; ignored keys go
// with their direction.
func parseSort(r *http.Request, q url.Values) ([]compute.SortKey, string) {
	keys, dirs := slices.Clone(q["sort_key"]), slices.Clone(q["sort_dir"])
	if len(keys) == 0 {
		keys = []string{"created_at"}
	}
	if len(dirs) == 0 {
		dirs = []string{"desc"}
	}
	for i := 0; i < len(keys); i++ {
		k := strings.TrimSpace(keys[i])
		if slices.Contains(ignoredSortKeys, k) && !(k == "locked" && atLeast(r, "2.73")) {
			if len(dirs) > i {
				dirs = slices.Delete(dirs, i, i+1)
			}
			keys = slices.Delete(keys, i, i+1)
			i--
		}
	}
	if len(dirs) > len(keys) && len(keys) > 0 {
		return nil, "Invalid input received: Sort direction size exceeds sort key size"
	}
	if len(dirs) == 0 {
		dirs = []string{"desc"}
	}
	out := make([]compute.SortKey, len(keys))
	for i, k := range keys {
		d := dirs[0]
		if i < len(dirs) {
			d = strings.TrimSpace(dirs[i])
		}
		if d != "asc" && d != "desc" {
			return nil, "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'"
		}
		out[i] = compute.SortKey{Key: strings.TrimSpace(k), Desc: d == "desc"}
	}
	if len(out) == 0 {
		out = []compute.SortKey{{Key: "created_at", Desc: dirs[0] != "asc"}}
	}
	return out, ""
}

// novaStatuses are the statuses Nova knows besides statusToVMState's: a
// filter by one of them is valid and finds no server here, or the
// vm_state named.
var novaStatuses = map[string]string{"PAUSED": compute.VMPaused, "SUSPENDED": "suspended", "SHELVED": "shelved",
	"SHELVED_OFFLOADED": "shelved_offloaded", "RESCUE": "rescued", "SOFT_DELETED": "soft-delete", "VERIFY_RESIZE": "resized",
	"REBOOT": "", "HARD_REBOOT": "", "PASSWORD": "", "RESIZE": "", "REVERT_RESIZE": "", "MIGRATING": "", "REBUILD": "", "UNKNOWN": ""}

// noServers is a vm_state no server has: the filter of a status that
// finds none.
const noServers = "nonexistent-status"

// boolOptions are oslo's strict boolean spellings.
var boolOptions = map[string]bool{"1": true, "t": true, "true": true, "on": true, "y": true, "yes": true,
	"0": false, "f": false, "false": false, "off": false, "n": false, "no": false}

// boolFromString reads a boolean as oslo's bool_from_string(strict=True)
// whose refusal Nova raises as InvalidInput (all_tenants, locked).
func boolFromString(v string) (bool, string) {
	b, ok := boolOptions[strings.ToLower(strings.TrimSpace(v))]
	if !ok {
		return false, fmt.Sprintf("Invalid input received: Unrecognized value '%s', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'", v)
	}
	return b, ""
}

// lenientBool reads a boolean as bool_from_string(default=False).
func lenientBool(v string) *bool {
	b := boolOptions[strings.ToLower(strings.TrimSpace(v))]
	return &b
}

// parseServerQuery reads a server listing's query as Nova does at r's
// microversion, for caller c, or the message of a 400. Nova 2.1-2.37
// answer an unknown status with no servers (Status noServers).
func (a *API) parseServerQuery(r *http.Request, c service.Caller) (service.ListQuery, string) {
	q := r.URL.Query()
	lq := service.ListQuery{ServerFilter: compute.ServerFilter{Limit: maxLimit}}
	if msg := a.checkListParams(r, q, c); msg != "" {
		return lq, msg
	}
	for _, step := range []func(*http.Request, url.Values, *service.ListQuery) string{parsePaging, parseBasics, parseTimes, parseFlags} {
		if msg := step(r, q, &lq); msg != "" {
			return lq, msg
		}
	}
	return lq, ""
}

// parsePaging reads limit, marker and the order.
func parsePaging(r *http.Request, q url.Values, lq *service.ListQuery) string {
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return "limit param must be an integer"
		}
		lq.Limit = min(n, maxLimit)
	}
	lq.Marker = q.Get("marker")
	var msg string
	lq.Sort, msg = parseSort(r, q)
	return msg
}

// parseBasics reads the plain filters: names, references, status, tags.
func parseBasics(r *http.Request, q url.Values, lq *service.ListQuery) string {
	first := func(keys ...string) string {
		for _, k := range keys {
			if v := q.Get(k); v != "" {
				return v
			}
		}
		return ""
	}
	lq.Name, lq.ImageID, lq.FlavorID = first("name", "display_name"), first("image", "image_ref"), q.Get("flavor")
	lq.ReservationID, lq.UserID, lq.KeyName, lq.Host = q.Get("reservation_id"), q.Get("user_id"), q.Get("key_name"), q.Get("host")
	lq.Zone, lq.IP, lq.IP6 = q.Get("availability_zone"), q.Get("ip"), q.Get("ip6")
	if st := strings.ToUpper(q.Get("status")); st != "" {
		vm, ok := statusToVMState[st]
		if !ok {
			vm, ok = novaStatuses[st]
		}
		if !ok && atLeast(r, "2.38") {
			return "Invalid status value"
		}
		lq.Status = vm
		if vm == "" {
			lq.Status = noServers
		}
	}
	if vs := q.Get("vm_state"); vs != "" && lq.Status == "" {
		lq.Status = strings.ToLower(vs)
	}
	if atLeast(r, "2.26") {
		for name, dst := range map[string]*[]string{"tags": &lq.Tags, "tags-any": &lq.TagsAny, "not-tags": &lq.NotTags, "not-tags-any": &lq.NotTagsAny} {
			if v := q.Get(name); v != "" {
				*dst = strings.Split(v, ",")
			}
		}
	}
	return ""
}

// parseTimes reads changes-since and changes-before (2.66).
func parseTimes(r *http.Request, q url.Values, lq *service.ListQuery) string {
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"changes-since", &lq.ChangesSince}, {"changes-before", &lq.ChangesBefore}} {
		v := q.Get(p.name)
		if v == "" || p.name == "changes-before" && !atLeast(r, "2.66") {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			if t, err = time.Parse("2006-01-02T15:04:05", v); err != nil {
				return "Invalid filter field: " + p.name + "."
			}
		}
		*p.dst = &t
	}
	if lq.ChangesSince != nil && lq.ChangesBefore != nil && lq.ChangesBefore.Before(*lq.ChangesSince) {
		return "The value of changes-since must be less than or equal to changes-before."
	}
	return ""
}

// parseFlags reads the boolean filters and the projects asked for.
func parseFlags(r *http.Request, q url.Values, lq *service.ListQuery) string {
	if q.Has("all_tenants") {
		lq.AllTenants = true
		if v := q.Get("all_tenants"); v != "" {
			var msg string
			if lq.AllTenants, msg = boolFromString(v); msg != "" {
				return msg
			}
		}
	}
	lq.ProjectID = q.Get("project_id")
	if lq.ProjectID == "" {
		lq.ProjectID = q.Get("tenant_id")
	}
	if q.Has("locked") && atLeast(r, "2.73") {
		b, msg := boolFromString(q.Get("locked"))
		if msg != "" {
			return msg
		}
		lq.Locked = &b
	}
	if q.Has("deleted") {
		lq.Deleted = lenientBool(q.Get("deleted"))
	}
	if q.Has("config_drive") {
		lq.ConfigDrive = lenientBool(q.Get("config_drive"))
	}
	return ""
}

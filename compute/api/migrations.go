package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute"
)

// migrationCore is what both migration views show: uuid from 2.59,
// user_id and project_id from 2.80.
type migrationCore struct {
	CreatedAt     *string     `json:"created_at"`
	DestCompute   *string     `json:"dest_compute"`
	DestHost      *string     `json:"dest_host"`
	DestNode      *string     `json:"dest_node"`
	ID            int64       `json:"id"`
	SourceCompute *string     `json:"source_compute"`
	SourceNode    *string     `json:"source_node"`
	Status        string      `json:"status"`
	UpdatedAt     *string     `json:"updated_at"`
	UUID          opt[string] `json:"uuid,omitzero"`
	UserID        opt[string] `json:"user_id,omitzero"`
	ProjectID     opt[string] `json:"project_id,omitzero"`
}

func migrationCoreAt(r *http.Request, m compute.Migration) migrationCore {
	v := migrationCore{CreatedAt: usageTime(&m.CreatedAt), DestCompute: nullable(m.DestCompute), DestHost: nullable(m.DestHost),
		DestNode: nullable(m.DestNode), ID: m.ID, SourceCompute: nullable(m.SourceCompute), SourceNode: nullable(m.SourceNode),
		Status: m.Status, UpdatedAt: usageTime(&m.UpdatedAt)}
	if atLeast(r, "2.59") {
		v.UUID = some(m.UUID)
	}
	if atLeast(r, "2.80") {
		v.UserID, v.ProjectID = some(m.UserID), some(m.ProjectID)
	}
	return v
}

// migrationView is one entry of GET /os-migrations: migration_type and, for
// a live migration in progress, links from 2.23. Flavors are Nova's
// integer instance type ids: a flavor id that is not an integer shows as
// null.
type migrationView struct {
	migrationCore
	InstanceUUID  string      `json:"instance_uuid"`
	NewTypeID     *int64      `json:"new_instance_type_id"`
	OldTypeID     *int64      `json:"old_instance_type_id"`
	MigrationType opt[string] `json:"migration_type,omitzero"`
	Links         []linkView  `json:"links,omitempty"`
}

type migrationsBody struct {
	Migrations []migrationView `json:"migrations"`
	Links      []linkView      `json:"migrations_links,omitempty"`
}

func (a *API) migrationViewAt(r *http.Request, m compute.Migration) migrationView {
	v := migrationView{migrationCore: migrationCoreAt(r, m), InstanceUUID: m.ServerID,
		NewTypeID: flavorTypeID(m.NewFlavorID), OldTypeID: flavorTypeID(m.OldFlavorID)}
	if atLeast(r, "2.23") {
		v.MigrationType = some(m.Type)
		if m.Type == compute.MigrationLive && compute.LiveMigrationInProgress(m.Status) {
			v.Links = a.resourceLinks("servers/"+m.ServerID+"/migrations", strconv.FormatInt(m.ID, 10))
		}
	}
	return v
}

// flavorTypeID is a flavor id as Nova's integer instance_type_id, or nil.
func flavorTypeID(id string) *int64 {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

// migrationQueryKeys are the query parameters of GET /os-migrations by the
// microversion that brought them; before 2.59 others are ignored, from
// 2.59 refused.
var migrationQueryKeys = []struct{ key, min string }{
	{"host", "2.1"}, {"status", "2.1"}, {"instance_uuid", "2.1"}, {"migration_type", "2.1"}, {"source_compute", "2.1"},
	{"hidden", "2.1"}, {"limit", "2.59"}, {"marker", "2.59"}, {"changes-since", "2.59"}, {"changes-before", "2.66"},
	{"user_id", "2.80"}, {"project_id", "2.80"},
}

// parseMigrationFilter reads GET /os-migrations' query at r's microversion.
func parseMigrationFilter(r *http.Request) (compute.MigrationFilter, string) {
	q := r.URL.Query()
	allowed := map[string]bool{}
	for _, k := range migrationQueryKeys {
		allowed[k.key] = atLeast(r, k.min)
	}
	for k := range q {
		if !allowed[k] && atLeast(r, "2.59") {
			return compute.MigrationFilter{}, fmt.Sprintf("Additional properties are not allowed ('%s' was unexpected)", clip(k))
		}
	}
	get := func(k string) string {
		if allowed[k] {
			return q.Get(k)
		}
		return ""
	}
	f := compute.MigrationFilter{Host: get("host"), Status: get("status"), ServerID: get("instance_uuid"), Type: get("migration_type"),
		SourceCompute: get("source_compute"), UserID: get("user_id"), ProjectID: get("project_id"), Marker: get("marker")}
	if !atLeast(r, "2.59") {
		return f, ""
	}
	f.Limit = maxLimit
	if v, ok := q["limit"]; ok {
		n, msg := intParam("limit", v[0], nonNegative)
		if msg != "" {
			return f, msg
		}
		f.Limit = int(min(n, maxLimit))
	}
	return f, migrationTimes(q.Get, allowed, &f)
}

// migrationTimes reads changes-since (2.59) and changes-before (2.66).
func migrationTimes(get func(string) string, allowed map[string]bool, f *compute.MigrationFilter) string {
	for key, dst := range map[string]**time.Time{"changes-since": &f.ChangesSince, "changes-before": &f.ChangesBefore} {
		v := get(key)
		if v == "" || !allowed[key] {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			if t, err = time.Parse("2006-01-02T15:04:05.999999", v); err != nil {
				return invalidInput(key, v, "It is not a 'date-time'")
			}
		}
		*dst = &t
	}
	if f.ChangesSince != nil && f.ChangesBefore != nil && f.ChangesBefore.Before(*f.ChangesSince) {
		return "The value of changes-since must be less than or equal to changes-before."
	}
	return ""
}

// listMigrations answers GET /os-migrations (openstack server migration
// list), newest first; from 2.59 paged by uuid, with migrations_links.
func (a *API) listMigrations(w http.ResponseWriter, r *http.Request) {
	f, msg := parseMigrationFilter(r)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	ms, err := a.svc.ListMigrations(r.Context(), a.caller(r), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	body := migrationsBody{Migrations: httpx.ListOf(ms, func(m compute.Migration) migrationView { return a.migrationViewAt(r, m) })}
	if atLeast(r, "2.59") && len(ms) > 0 && len(ms) == f.Limit {
		q := r.URL.Query()
		q.Set("marker", ms[len(ms)-1].UUID)
		body.Links = []linkView{{Rel: "next", Href: a.baseURL + r.URL.Path + "?" + q.Encode()}}
	}
	httpx.WriteJSON(w, http.StatusOK, body)
}

// serverMigrationView is a live migration in progress as GET
// /servers/{id}/migrations shows it (2.23). Progress figures are not
// measured here: null.
type serverMigrationView struct {
	migrationCore
	ServerUUID      string `json:"server_uuid"`
	DiskProcessed   *int64 `json:"disk_processed_bytes"`
	DiskRemaining   *int64 `json:"disk_remaining_bytes"`
	DiskTotal       *int64 `json:"disk_total_bytes"`
	MemoryProcessed *int64 `json:"memory_processed_bytes"`
	MemoryRemaining *int64 `json:"memory_remaining_bytes"`
	MemoryTotal     *int64 `json:"memory_total_bytes"`
}

func serverMigrationViewAt(r *http.Request, m compute.Migration) serverMigrationView {
	return serverMigrationView{migrationCore: migrationCoreAt(r, m), ServerUUID: m.ServerID}
}

// listServerMigrations answers GET /servers/{id}/migrations (2.23).
func (a *API) listServerMigrations(w http.ResponseWriter, r *http.Request) {
	if !atLeast(r, "2.23") {
		writeError(w, r, http.StatusNotFound, "The resource could not be found.")
		return
	}
	ms, err := a.svc.ServerMigrations(r.Context(), a.caller(r), mux.Vars(r)["server_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	views := httpx.ListOf(ms, func(m compute.Migration) serverMigrationView { return serverMigrationViewAt(r, m) })
	httpx.WriteJSON(w, http.StatusOK, map[string][]serverMigrationView{"migrations": views})
}

// showServerMigration answers GET /servers/{id}/migrations/{migration_id}.
func (a *API) showServerMigration(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	id, err := strconv.ParseInt(v["migration_id"], 10, 64)
	if !atLeast(r, "2.23") || err != nil {
		writeError(w, r, http.StatusNotFound, "The resource could not be found.")
		return
	}
	m, err := a.svc.ServerMigration(r.Context(), a.caller(r), v["server_id"], id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]serverMigrationView{"migration": serverMigrationViewAt(r, m)})
}

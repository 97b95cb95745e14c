package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute"
	"imagestack/compute/service"
)

// aggregateView is an aggregate as Nova shows it; uuid from 2.41; create
// answers without hosts and metadata.
type aggregateView struct {
	AvailabilityZone *string            `json:"availability_zone"`
	CreatedAt        string             `json:"created_at"`
	Deleted          bool               `json:"deleted"`
	DeletedAt        *string            `json:"deleted_at"`
	Hosts            *[]string          `json:"hosts,omitempty"`
	ID               int                `json:"id"`
	Metadata         *map[string]string `json:"metadata,omitempty"`
	Name             string             `json:"name"`
	UpdatedAt        *string            `json:"updated_at"`
	UUID             string             `json:"uuid,omitempty"`
}

// Nova's parameter types fqdn (a host name) and the keys of
// metadata_with_null.
var (
	fqdnPattern = regexp.MustCompile(`^[a-zA-Z0-9-._]*$`)
	metadataKey = regexp.MustCompile(`^[a-zA-Z0-9-_:. ]{1,255}$`)
)

// aggregateTime is Nova's timestamp format of aggregates (naive UTC).
const aggregateTime = "2006-01-02T15:04:05.000000"

func aggregateViewOf(r *http.Request, a compute.Aggregate, full bool) aggregateView {
	v := aggregateView{CreatedAt: a.CreatedAt.UTC().Format(aggregateTime), ID: a.ID, Name: a.Name}
	if z := a.Zone(); z != "" {
		v.AvailabilityZone = &z
	}
	if a.UpdatedAt != nil {
		u := a.UpdatedAt.UTC().Format(aggregateTime)
		v.UpdatedAt = &u
	}
	if atLeast(r, "2.41") {
		v.UUID = a.UUID
	}
	if full {
		hosts, md := append([]string{}, a.Hosts...), a.Metadata
		if md == nil {
			md = map[string]string{}
		}
		v.Hosts, v.Metadata = &hosts, &md
	}
	return v
}

func (a *API) writeAggregate(w http.ResponseWriter, r *http.Request, agg compute.Aggregate, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]aggregateView{"aggregate": aggregateViewOf(r, agg, true)})
}

// listAggregates answers GET /os-aggregates.
func (a *API) listAggregates(w http.ResponseWriter, r *http.Request) {
	list, err := a.svc.ListAggregates(r.Context(), a.caller(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	views := make([]aggregateView, len(list))
	for i, agg := range list {
		views[i] = aggregateViewOf(r, agg, true)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string][]aggregateView{"aggregates": views})
}

// aggregateID reads {id}, an integer (Nova: 400 otherwise).
func aggregateID(w http.ResponseWriter, r *http.Request) (int, bool) {
	id, err := strconv.Atoi(mux.Vars(r)["id"])
	if err != nil {
		badRequest(w, r, "id must be an integer.")
		return 0, false
	}
	return id, true
}

// createAggregate answers POST /os-aggregates (200, as Nova).
func (a *API) createAggregate(w http.ResponseWriter, r *http.Request) {
	in, ok := decodeObject(w, r, "aggregate")
	if !ok {
		return
	}
	name, zone, msg := aggregateFields(in, true)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	agg, err := a.svc.CreateAggregate(r.Context(), a.caller(r), *name, zone.value)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]aggregateView{"aggregate": aggregateViewOf(r, agg, false)})
}

// optionalZone is an availability_zone field: set when present, value ""
// for null.
type optionalZone struct {
	set   bool
	value string
}

// aggregateFields reads the name and availability_zone of a create (name
// required) or update (one of them required) body.
func aggregateFields(in map[string]any, create bool) (*string, optionalZone, string) {
	var zone optionalZone
	if msg := onlyKeys("aggregate", in, "name", "availability_zone"); msg != "" {
		return nil, zone, msg
	}
	var name *string
	if v, ok := in["name"]; ok {
		s, msg := stringParam("name", v, 255, false)
		if msg != "" {
			return nil, zone, msg
		}
		name = &s
	}
	if v, ok := in["availability_zone"]; ok {
		s, msg := stringParam("availability_zone", v, 255, true)
		if msg != "" {
			return nil, zone, msg
		}
		zone = optionalZone{set: true, value: s}
	}
	switch {
	case create && name == nil:
		return nil, zone, "Invalid input for field/attribute aggregate. Value: {}. 'name' is a required property"
	case !create && name == nil && !zone.set:
		return nil, zone, "Invalid input for field/attribute aggregate. Value: {}. {} is not valid under any of the given schemas"
	}
	return name, zone, ""
}

// showAggregate answers GET /os-aggregates/{id}.
func (a *API) showAggregate(w http.ResponseWriter, r *http.Request) {
	if id, ok := aggregateID(w, r); ok {
		agg, err := a.svc.GetAggregate(r.Context(), a.caller(r), id)
		a.writeAggregate(w, r, agg, err)
	}
}

// updateAggregate answers PUT /os-aggregates/{id}.
func (a *API) updateAggregate(w http.ResponseWriter, r *http.Request) {
	id, ok := aggregateID(w, r)
	if !ok {
		return
	}
	in, ok := decodeObject(w, r, "aggregate")
	if !ok {
		return
	}
	name, zone, msg := aggregateFields(in, false)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	agg, err := a.svc.UpdateAggregate(r.Context(), a.caller(r), id, service.AggregateUpdate{Name: name, SetZone: zone.set, Zone: zone.value})
	a.writeAggregate(w, r, agg, err)
}

// deleteAggregate answers DELETE /os-aggregates/{id} (200, as Nova).
func (a *API) deleteAggregate(w http.ResponseWriter, r *http.Request) {
	id, ok := aggregateID(w, r)
	if !ok {
		return
	}
	if err := a.svc.DeleteAggregate(r.Context(), a.caller(r), id); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// aggregateAction answers POST /os-aggregates/{id}/action: add_host,
// remove_host, set_metadata.
func (a *API) aggregateAction(w http.ResponseWriter, r *http.Request) {
	id, ok := aggregateID(w, r)
	if !ok {
		return
	}
	action, raw, ok := decodeAction(w, r)
	if !ok {
		return
	}
	var in map[string]any
	if json.Unmarshal(raw, &in) != nil || in == nil {
		badRequest(w, r, invalidInput(action, string(raw), fmt.Sprintf("'%s' is not of type 'object'", action)))
		return
	}
	c := a.caller(r)
	switch action {
	case "add_host", "remove_host":
		host, msg := hostField(action, in)
		if msg != "" {
			badRequest(w, r, msg)
			return
		}
		change := a.svc.AddAggregateHost
		if action == "remove_host" {
			change = a.svc.RemoveAggregateHost
		}
		agg, err := change(r.Context(), c, id, host)
		a.writeAggregate(w, r, agg, err)
	case "set_metadata":
		md, msg := metadataWithNull(in)
		if msg != "" {
			badRequest(w, r, msg)
			return
		}
		agg, err := a.svc.SetAggregateMetadata(r.Context(), c, id, md)
		a.writeAggregate(w, r, agg, err)
	default:
		badRequest(w, r, "There is no such action: "+compute.Clip(action))
	}
}

// hostField reads {"host": <fqdn>} of add_host and remove_host.
func hostField(action string, in map[string]any) (string, string) {
	if msg := onlyKeys(action, in, "host"); msg != "" {
		return "", msg
	}
	v, ok := in["host"]
	if !ok {
		return "", invalidInput(action, in, "'host' is a required property")
	}
	host, msg := stringParam("host", v, 255, false)
	if msg == "" && !fqdnPattern.MatchString(host) {
		msg = invalidInput("host", compute.Clip(host), fmt.Sprintf("'%s' does not match '%s'", compute.Clip(host), fqdnPattern))
	}
	return host, msg
}

// metadataWithNull reads set_metadata's {"metadata": {...}}: values are
// strings of up to 255 characters, or null to remove the key.
func metadataWithNull(in map[string]any) (map[string]*string, string) {
	if msg := onlyKeys("set_metadata", in, "metadata"); msg != "" {
		return nil, msg
	}
	raw, ok := in["metadata"].(map[string]any)
	if !ok {
		return nil, invalidInput("metadata", in["metadata"], "'metadata' is a required property of type 'object'")
	}
	out := make(map[string]*string, len(raw))
	for k, v := range raw {
		if !metadataKey.MatchString(k) {
			return nil, invalidInput("metadata", compute.Clip(k), "Additional properties are not allowed")
		}
		if v == nil {
			out[k] = nil
			continue
		}
		s, msg := stringParam("metadata", v, 255, false)
		if msg != "" {
			return nil, msg
		}
		out[k] = &s
	}
	return out, ""
}

// cacheAggregateImages answers POST /os-aggregates/{id}/images (2.81):
// {"cache": [{"id": <image uuid>}, ...]} asks the aggregate's hosts to
// cache those images; 202 at once, the downloads go on in the background.
func (a *API) cacheAggregateImages(w http.ResponseWriter, r *http.Request) {
	if !atLeast(r, "2.81") {
		writeError(w, r, http.StatusNotFound, "The resource could not be found.")
		return
	}
	id, ok := aggregateID(w, r)
	if !ok {
		return
	}
	var body struct {
		Cache []map[string]any `json:"cache"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	images, msg := cacheImageIDs(body.Cache)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	if err := a.svc.CacheAggregateImages(r.Context(), a.caller(r), id, images); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// cacheImageIDs reads the image ids of a cache request (at least one, each
// a UUID).
func cacheImageIDs(list []map[string]any) ([]string, string) {
	if len(list) == 0 {
		return nil, invalidInput("cache", "[]", "[] is too short")
	}
	out := make([]string, 0, len(list))
	for _, item := range list {
		if msg := onlyKeys("cache", item, "id"); msg != "" {
			return nil, msg
		}
		s, _ := item["id"].(string)
		if _, err := uuid.Parse(s); err != nil {
			return nil, invalidInput("id", item["id"], fmt.Sprintf("'%v' is not a 'uuid'", item["id"]))
		}
		out = append(out, s)
	}
	return out, ""
}

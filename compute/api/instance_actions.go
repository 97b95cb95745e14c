package api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute"
	"imagestack/compute/service"
)

// instanceActionView is one entry of "instanceActions"; updated_at from
// 2.58, events in show only.
type instanceActionView struct {
	Action       string             `json:"action"`
	InstanceUUID string             `json:"instance_uuid"`
	Message      *string            `json:"message"`
	ProjectID    string             `json:"project_id"`
	RequestID    string             `json:"request_id"`
	StartTime    *string            `json:"start_time"`
	UserID       string             `json:"user_id"`
	UpdatedAt    **string           `json:"updated_at,omitempty"`
	Events       *[]actionEventView `json:"events,omitempty"`
}

// actionEventView is an event of an action: traceback for callers with
// the events rule, host for them from 2.62, hostId from 2.62, details for
// callers with the events:details rule from 2.84.
type actionEventView struct {
	Event      string   `json:"event"`
	StartTime  *string  `json:"start_time"`
	FinishTime *string  `json:"finish_time"`
	Result     *string  `json:"result"`
	Traceback  **string `json:"traceback,omitempty"`
	Host       *string  `json:"host,omitempty"`
	HostID     *string  `json:"hostId,omitempty"`
	Details    **string `json:"details,omitempty"`
}

// instanceActionsBody answers GET /servers/{id}/os-instance-actions.
type instanceActionsBody struct {
	InstanceActions []instanceActionView `json:"instanceActions"`
	Links           []linkView           `json:"links,omitempty"`
}

func actionViewAt(r *http.Request, act compute.Action) instanceActionView {
	v := instanceActionView{Action: act.Name, InstanceUUID: act.ServerID, ProjectID: act.ProjectID, Message: act.Message,
		RequestID: act.RequestID, StartTime: usageTime(&act.StartTime), UserID: act.UserID}
	if atLeast(r, "2.58") {
		u := usageTime(act.UpdatedAt)
		v.UpdatedAt = &u
	}
	return v
}

// parseActionFilter reads 2.58's limit, marker and changes-since and
// 2.66's changes-before.
func parseActionFilter(r *http.Request) (service.ActionFilter, string) {
	f := service.ActionFilter{Limit: -1, WithDeleted: atLeast(r, "2.21")}
	if !atLeast(r, "2.58") {
		return f, ""
	}
	q := r.URL.Query()
	if v, ok := q["limit"]; ok {
		n, msg := intParam("limit", v[0], nonNegative)
		if msg != "" {
			return f, msg
		}
		f.Limit = int(min(n, maxLimit))
	}
	f.Marker = q.Get("marker")
	for _, p := range []struct {
		key string
		dst **time.Time
		min string
	}{{"changes-since", &f.ChangesSince, "2.58"}, {"changes-before", &f.ChangesBefore, "2.66"}} {
		if v := q.Get(p.key); v != "" && atLeast(r, p.min) {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				if t, err = time.Parse("2006-01-02T15:04:05", v); err != nil {
					return f, invalidInput(p.key, v, "It is not a 'date-time'")
				}
			}
			*p.dst = &t
		}
	}
	if f.ChangesSince != nil && f.ChangesBefore != nil && f.ChangesBefore.Before(*f.ChangesSince) {
		return f, "The value of changes-since must be less than or equal to changes-before."
	}
	return f, ""
}

// listInstanceActions answers GET /servers/{id}/os-instance-actions, newest
// first (Horizon's Action Log tab; openstack server event list).
func (a *API) listInstanceActions(w http.ResponseWriter, r *http.Request) {
	f, msg := parseActionFilter(r)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	actions, err := a.svc.ListActions(r.Context(), a.caller(r), mux.Vars(r)["server_id"], f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	body := instanceActionsBody{InstanceActions: httpx.ListOf(actions, func(act compute.Action) instanceActionView { return actionViewAt(r, act) })}
	if atLeast(r, "2.58") {
		body.Links = nextLink(a, r, actions, f.Limit, func(act compute.Action) string { return act.RequestID })
	}
	httpx.WriteJSON(w, http.StatusOK, body)
}

// showInstanceAction answers GET /servers/{id}/os-instance-actions/{request_id}
// (openstack server event show).
func (a *API) showInstanceAction(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	d, err := a.svc.GetAction(r.Context(), a.caller(r), v["server_id"], v["request_id"], atLeast(r, "2.21"), atLeast(r, "2.51"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	view := actionViewAt(r, d.Action)
	if d.Events != nil || d.AllEvents || atLeast(r, "2.51") {
		events := httpx.ListOf(d.Events, func(e compute.Event) actionEventView { return eventViewAt(r, d, e) })
		view.Events = &events
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]instanceActionView{"instanceAction": view})
}

func eventViewAt(r *http.Request, d service.ActionDetail, e compute.Event) actionEventView {
	v := actionEventView{Event: e.Name, StartTime: usageTime(&e.StartTime), FinishTime: usageTime(e.FinishTime), Result: nonEmpty(e.Result)}
	if d.AllEvents {
		tb := nonEmpty(e.Traceback)
		v.Traceback = &tb
		if atLeast(r, "2.62") {
			v.Host = &e.Host
		}
	}
	if atLeast(r, "2.62") {
		id := "" // Nova's generate_hostid: empty without a host
		if e.Host != "" {
			sum := sha256.Sum224([]byte(d.ProjectID + e.Host))
			id = hex.EncodeToString(sum[:])
		}
		v.HostID = &id
	}
	if d.EventDetails && atLeast(r, "2.84") {
		det := nonEmpty(e.Details)
		v.Details = &det
	}
	return v
}

// nonEmpty is s, or nil (null) when empty.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

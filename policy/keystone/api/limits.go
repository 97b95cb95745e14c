package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/policy/keystone"
)

// Unified limits: /v3/registered_limits and /v3/limits, bodies as Keystone's.

// nullable is a JSON field that may be absent, null or a string.
type nullable struct {
	Set   bool
	Value *string
}

func (n *nullable) UnmarshalJSON(b []byte) error {
	n.Set = true
	if bytes.Equal(b, []byte("null")) {
		n.Value = nil
		return nil
	}
	return json.Unmarshal(b, &n.Value)
}

type registeredLimitIn struct {
	ServiceID    *string  `json:"service_id"`
	RegionID     *string  `json:"region_id"`
	ResourceName *string  `json:"resource_name"`
	DefaultLimit *int64   `json:"default_limit"`
	Description  nullable `json:"description"`
}

type limitIn struct {
	registeredLimitIn
	ProjectID     *string `json:"project_id"`
	DomainID      *string `json:"domain_id"`
	ResourceLimit *int64  `json:"resource_limit"`
}

// maxLimit is the largest limit Keystone stores (a signed 32-bit integer).
const maxLimit = 0x7FFFFFFF

// checkLimitValue validates a limit value at field (Keystone's schema).
func checkLimitValue(field string, v *int64) error {
	switch {
	case v == nil:
		return nil
	case *v < -1:
		return fmt.Errorf("Invalid input for field '%s': %d is less than the minimum of -1", field, *v)
	case *v > maxLimit:
		return fmt.Errorf("Invalid input for field '%s': %d is greater than the maximum of %d", field, *v, maxLimit)
	}
	return nil
}

// checkResourceName validates a resource name at field: 1 to 255
// characters, as Keystone's schema (and the column) holds.
func checkResourceName(field string, v *string) error {
	switch {
	case v == nil:
		return nil
	case *v == "":
		return fmt.Errorf("Invalid input for field '%s': '' is too short", field)
	case utf8.RuneCountInString(*v) > 255:
		return fmt.Errorf("Invalid input for field '%s': '%s' is too long", field, *v)
	}
	return nil
}

func (in registeredLimitIn) required(i int, value *int64, valueName string) error {
	for name, v := range map[string]*string{"service_id": in.ServiceID, "resource_name": in.ResourceName} {
		if v == nil || *v == "" {
			return fmt.Errorf("Invalid input for field '%d': '%s' is a required property", i, name)
		}
	}
	if err := checkResourceName(fmt.Sprintf("%d/resource_name", i), in.ResourceName); err != nil {
		return err
	}
	if value == nil {
		return fmt.Errorf("Invalid input for field '%d': '%s' is a required property", i, valueName)
	}
	return checkLimitValue(fmt.Sprintf("%d/%s", i, valueName), value)
}

func (in registeredLimitIn) model() keystone.RegisteredLimit {
	return keystone.RegisteredLimit{ServiceID: deref(in.ServiceID), RegionID: deref(in.RegionID),
		ResourceName: deref(in.ResourceName), DefaultLimit: deref64(in.DefaultLimit), Description: in.Description.Value}
}

func deref64(v *int64) int64 {
	if v == nil {
		return 0
	}
	return *v
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (a *API) registeredLimitView(rl keystone.RegisteredLimit) registeredLimitView {
	return registeredLimitView{ID: rl.ID, ServiceID: rl.ServiceID, RegionID: orNull(rl.RegionID), ResourceName: rl.ResourceName,
		DefaultLimit: rl.DefaultLimit, Description: rl.Description, Links: a.selfLink("/v3/registered_limits/" + rl.ID)}
}

func (a *API) limitView(l keystone.Limit) limitView {
	return limitView{ID: l.ID, ProjectID: orNull(l.ProjectID), DomainID: orNull(l.DomainID), ResourceLimit: l.ResourceLimit,
		Description: l.Description, ServiceID: l.ServiceID, RegionID: orNull(l.RegionID), ResourceName: l.ResourceName,
		Links: a.selfLink("/v3/limits/" + l.ID)}
}

func limitFilter(r *http.Request) keystone.LimitFilter {
	q := r.URL.Query()
	return keystone.LimitFilter{ServiceID: q.Get("service_id"), RegionID: q.Get("region_id"), ResourceName: q.Get("resource_name"),
		ProjectID: q.Get("project_id"), DomainID: q.Get("domain_id")}
}

func (a *API) listRegisteredLimits(w http.ResponseWriter, r *http.Request) {
	rls, err := a.svc.ListRegisteredLimits(r.Context(), creds(r), limitFilter(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, struct {
		RegisteredLimits []registeredLimitView `json:"registered_limits"`
		Links            listLinks             `json:"links"`
	}{httpx.ListOf(rls, a.registeredLimitView), a.collectionLinks(r)})
}

func (a *API) createRegisteredLimits(w http.ResponseWriter, r *http.Request) {
	var body struct {
		RegisteredLimits []registeredLimitIn `json:"registered_limits"`
	}
	if !a.decode(w, r, &body) {
		return
	}
	if len(body.RegisteredLimits) == 0 {
		a.badRequest(w, r, "Invalid input for field 'registered_limits': a non-empty list is required.")
		return
	}
	rls := make([]keystone.RegisteredLimit, len(body.RegisteredLimits))
	for i, in := range body.RegisteredLimits {
		if err := in.required(i, in.DefaultLimit, "default_limit"); err != nil {
			a.badRequest(w, r, err.Error())
			return
		}
		rls[i] = in.model()
	}
	out, err := a.svc.CreateRegisteredLimits(r.Context(), creds(r), rls)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, struct {
		RegisteredLimits []registeredLimitView `json:"registered_limits"`
	}{httpx.ListOf(out, a.registeredLimitView)})
}

func (a *API) renderRegisteredLimit(w http.ResponseWriter, r *http.Request, rl keystone.RegisteredLimit, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, struct {
		RegisteredLimit registeredLimitView `json:"registered_limit"`
	}{a.registeredLimitView(rl)})
}

func (a *API) showRegisteredLimit(w http.ResponseWriter, r *http.Request) {
	rl, err := a.svc.GetRegisteredLimit(r.Context(), creds(r), mux.Vars(r)["registered_limit_id"])
	a.renderRegisteredLimit(w, r, rl, err)
}

func (a *API) updateRegisteredLimit(w http.ResponseWriter, r *http.Request) {
	var body struct {
		RegisteredLimit *registeredLimitIn `json:"registered_limit"`
	}
	if !a.decode(w, r, &body) {
		return
	}
	in := body.RegisteredLimit
	if in == nil {
		a.badRequest(w, r, "Invalid input for field 'registered_limit': 'registered_limit' is a required property.")
		return
	}
	if err := checkLimitValue("registered_limit/default_limit", in.DefaultLimit); err != nil {
		a.badRequest(w, r, err.Error())
		return
	}
	if err := checkResourceName("resource_name", in.ResourceName); err != nil {
		a.badRequest(w, r, err.Error())
		return
	}
	rl, err := a.svc.UpdateRegisteredLimit(r.Context(), creds(r), mux.Vars(r)["registered_limit_id"], keystone.RegisteredLimitPatch{
		ServiceID: in.ServiceID, RegionID: in.RegionID, ResourceName: in.ResourceName, DefaultLimit: in.DefaultLimit,
		SetDescription: in.Description.Set, Description: in.Description.Value})
	a.renderRegisteredLimit(w, r, rl, err)
}

func (a *API) deleteRegisteredLimit(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.DeleteRegisteredLimit(r.Context(), creds(r), mux.Vars(r)["registered_limit_id"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

package api

import (
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/policy/keystone"
)

func (a *API) showLimitModel(w http.ResponseWriter, r *http.Request) {
	m, err := a.svc.GetLimitModel(creds(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, struct {
		Model keystone.LimitModel `json:"model"`
	}{m})
}

func (a *API) listLimits(w http.ResponseWriter, r *http.Request) {
	ls, err := a.svc.ListLimits(r.Context(), creds(r), limitFilter(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, struct {
		Limits []limitView `json:"limits"`
		Links  listLinks   `json:"links"`
	}{httpx.ListOf(ls, a.limitView), a.collectionLinks(r)})
}

// limitModel checks one limit of a create body: exactly one of project_id
// and domain_id, as Keystone's oneOf.
func (in limitIn) limitModel(i int) (keystone.Limit, error) {
	if err := in.required(i, in.ResourceLimit, "resource_limit"); err != nil {
		return keystone.Limit{}, err
	}
	if in.DefaultLimit != nil || (in.ProjectID == nil) == (in.DomainID == nil) {
		return keystone.Limit{}, fmt.Errorf("Invalid input for field '%d': it is not valid under any of the given schemas (one of project_id and domain_id is required)", i)
	}
	return keystone.Limit{ProjectID: deref(in.ProjectID), DomainID: deref(in.DomainID), ServiceID: deref(in.ServiceID),
		RegionID: deref(in.RegionID), ResourceName: deref(in.ResourceName), ResourceLimit: *in.ResourceLimit,
		Description: in.Description.Value}, nil
}

func (a *API) createLimits(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Limits []limitIn `json:"limits"`
	}
	if !a.decode(w, r, &body) {
		return
	}
	if len(body.Limits) == 0 {
		a.badRequest(w, r, "Invalid input for field 'limits': a non-empty list is required.")
		return
	}
	ls := make([]keystone.Limit, len(body.Limits))
	for i, in := range body.Limits {
		l, err := in.limitModel(i)
		if err != nil {
			a.badRequest(w, r, err.Error())
			return
		}
		ls[i] = l
	}
	out, err := a.svc.CreateLimits(r.Context(), creds(r), ls)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, struct {
		Limits []limitView `json:"limits"`
	}{httpx.ListOf(out, a.limitView)})
}

func (a *API) renderLimit(w http.ResponseWriter, r *http.Request, l keystone.Limit, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, struct {
		Limit limitView `json:"limit"`
	}{a.limitView(l)})
}

func (a *API) showLimit(w http.ResponseWriter, r *http.Request) {
	l, err := a.svc.GetLimit(r.Context(), creds(r), mux.Vars(r)["limit_id"])
	a.renderLimit(w, r, l, err)
}

func (a *API) updateLimit(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Limit *struct {
			ResourceLimit *int64   `json:"resource_limit"`
			Description   nullable `json:"description"`
		} `json:"limit"`
	}
	if !a.decode(w, r, &body) {
		return
	}
	if body.Limit == nil {
		a.badRequest(w, r, "Invalid input for field 'limit': 'limit' is a required property.")
		return
	}
	if err := checkLimitValue("limit/resource_limit", body.Limit.ResourceLimit); err != nil {
		a.badRequest(w, r, err.Error())
		return
	}
	l, err := a.svc.UpdateLimit(r.Context(), creds(r), mux.Vars(r)["limit_id"], keystone.LimitPatch{
		ResourceLimit: body.Limit.ResourceLimit, SetDescription: body.Limit.Description.Set, Description: body.Limit.Description.Value})
	a.renderLimit(w, r, l, err)
}

func (a *API) deleteLimit(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.DeleteLimit(r.Context(), creds(r), mux.Vars(r)["limit_id"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

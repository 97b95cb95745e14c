package api

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/policy"
	"imagestack/policy/authn"
)

// showQuota answers a project's limits.
func (a *API) showQuota(w http.ResponseWriter, r *http.Request) {
	a.writeQuota(w, r, a.svc.Quotas)
}

// showDefaultQuota answers the limits a project without its own has.
func (a *API) showDefaultQuota(w http.ResponseWriter, r *http.Request) {
	a.writeQuota(w, r, a.svc.DefaultQuotas)
}

// writeQuota answers {"quota": limits} with the limits get returns for
// the path's project.
func (a *API) writeQuota(w http.ResponseWriter, r *http.Request,
	get func(ctx context.Context, c policy.Credentials, project string) (map[string]int, error)) {
	q, err := get(r.Context(), authn.CredentialsFrom(r.Context()), mux.Vars(r)["project_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"quota": q})
}

func (a *API) showQuotaDetails(w http.ResponseWriter, r *http.Request) {
	q, err := a.svc.QuotaDetails(r.Context(), authn.CredentialsFrom(r.Context()), mux.Vars(r)["project_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := map[string]quotaDetailView{}
	for k, v := range q {
		out[k] = quotaDetailView{Limit: v.Limit, Used: v.Used, Reserved: v.Reserved}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"quota": out})
}

// updateQuota sets a project's limits and answers them all.
func (a *API) updateQuota(w http.ResponseWriter, r *http.Request) {
	var limits map[string]int
	if err := decodeBody(r, "quota", &limits); err != nil {
		badRequest(w, err.Error())
		return
	}
	a.writeQuota(w, r, func(ctx context.Context, c policy.Credentials, project string) (map[string]int, error) {
		return a.svc.UpdateQuotas(ctx, c, project, limits)
	})
}

func (a *API) deleteQuota(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.DeleteQuotas(r.Context(), authn.CredentialsFrom(r.Context()), mux.Vars(r)["project_id"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listQuotas answers GET /v2.0/quotas: the projects with limits of their
// own, each as {"project_id", "tenant_id", <resource>: <limit>...}.
func (a *API) listQuotas(w http.ResponseWriter, r *http.Request) {
	qs, err := a.svc.ListQuotas(r.Context(), authn.CredentialsFrom(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []map[string]any{}
	for _, q := range qs {
		m := map[string]any{"project_id": q.ProjectID, "tenant_id": q.ProjectID}
		for k, v := range q.Limits {
			m[k] = v
		}
		out = append(out, m)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"quotas": out})
}

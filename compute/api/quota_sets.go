package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute"
)

// showLimits answers GET /limits: the caller's project's absolute limits
// and usage, or with ?tenant_id= (admins) another project's; ?reserved is
// accepted and, as in Nova, changes nothing.
func (a *API) showLimits(w http.ResponseWriter, r *http.Request) {
	if !strictQuery(w, r, "tenant_id") {
		return
	}
	set, err := a.svc.Limits(r.Context(), a.caller(r), r.URL.Query().Get("tenant_id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, newLimitsBody(r, set))
}

// showQuotaSet answers GET /os-quota-sets/{project} and its /detail,
// a user's quotas within the project with ?user_id=.
func (a *API) showQuotaSet(w http.ResponseWriter, r *http.Request) {
	if !strictQuery(w, r, "user_id") {
		return
	}
	project := mux.Vars(r)["project_id"]
	detail := strings.HasSuffix(r.URL.Path, "/detail")
	set, err := a.svc.ProjectQuotas(r.Context(), a.caller(r), project, r.URL.Query().Get("user_id"), detail)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if detail {
		httpx.WriteJSON(w, http.StatusOK, quotaSetBody[quotaDetailView]{QuotaSet: newQuotaSet(project, set, hiddenQuotas(r, false), quotaDetail)})
		return
	}
	httpx.WriteJSON(w, http.StatusOK, quotaSetBody[int]{QuotaSet: newQuotaSet(project, set, hiddenQuotas(r, false), quotaLimit)})
}

// showDefaultQuotaSet answers GET /os-quota-sets/{project}/defaults.
func (a *API) showDefaultQuotaSet(w http.ResponseWriter, r *http.Request) {
	project := mux.Vars(r)["project_id"]
	set, err := a.svc.DefaultQuotas(r.Context(), a.caller(r), project)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, quotaSetBody[int]{QuotaSet: newQuotaSet(project, set, hiddenQuotas(r, false), quotaLimit)})
}

// updateQuotaSet answers PUT /os-quota-sets/{project} (admins): the quotas
// then in force, without the id, as Nova.
func (a *API) updateQuotaSet(w http.ResponseWriter, r *http.Request) {
	if !strictQuery(w, r, "user_id") {
		return
	}
	var body struct {
		QuotaSet map[string]json.RawMessage `json:"quota_set"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	limits, force, msg := parseQuotaLimits(body.QuotaSet, "quota_set", hiddenQuotas(r, false), true)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	set, err := a.svc.UpdateProjectQuotas(r.Context(), a.caller(r), mux.Vars(r)["project_id"], r.URL.Query().Get("user_id"), limits, force)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, quotaSetBody[int]{QuotaSet: newQuotaSet("", set, hiddenQuotas(r, false), quotaLimit)})
}

// deleteQuotaSet answers DELETE /os-quota-sets/{project} (admins): back to
// the defaults, 202 as Nova.
func (a *API) deleteQuotaSet(w http.ResponseWriter, r *http.Request) {
	if !strictQuery(w, r, "user_id") {
		return
	}
	if err := a.svc.DeleteProjectQuotas(r.Context(), a.caller(r), mux.Vars(r)["project_id"], r.URL.Query().Get("user_id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// showQuotaClassSet answers GET /os-quota-class-sets/{class}.
func (a *API) showQuotaClassSet(w http.ResponseWriter, r *http.Request) {
	class := mux.Vars(r)["class"]
	set, err := a.svc.ClassQuotas(r.Context(), a.caller(r), class)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, quotaClassSetBody{QuotaClassSet: newQuotaSet(class, set, hiddenQuotas(r, true), quotaLimit)})
}

// updateQuotaClassSet answers PUT /os-quota-class-sets/{class} (admins);
// the "default" class's limits are every project's defaults.
func (a *API) updateQuotaClassSet(w http.ResponseWriter, r *http.Request) {
	var body struct {
		QuotaClassSet map[string]json.RawMessage `json:"quota_class_set"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	limits, _, msg := parseQuotaLimits(body.QuotaClassSet, "quota_class_set", hiddenQuotas(r, true), false)
	if msg != "" {
		badRequest(w, r, msg)
		return
	}
	set, err := a.svc.UpdateClassQuotas(r.Context(), a.caller(r), mux.Vars(r)["class"], limits)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, quotaClassSetBody{QuotaClassSet: newQuotaSet("", set, hiddenQuotas(r, true), quotaLimit)})
}

var quotaValuePattern = regexp.MustCompile(`^-?[0-9]+$`)

// parseQuotaLimits reads a quota update as Nova's schema does: known
// resources of the microversion only, each an integer or digit string
// from -1 to 2^31-1 ("" is skipped), and with withForce a boolean
// "force". A non-empty msg is the 400's message.
func parseQuotaLimits(body map[string]json.RawMessage, field string, hidden map[string]bool, withForce bool) (map[string]int, bool, string) {
	if body == nil {
		return nil, false, fmt.Sprintf("Invalid input for field/attribute %s. It must be an object.", field)
	}
	limits, force := map[string]int{}, false
	for k, raw := range body {
		if k == "force" && withForce {
			v, ok := novaBool(raw)
			if !ok {
				return nil, false, "Invalid input for field/attribute force. Value: " + compute.Clip(string(raw)) + ". It must be a boolean."
			}
			force = v
			continue
		}
		if hidden[k] || !slices.Contains(compute.QuotaResources, k) {
			return nil, false, fmt.Sprintf("Invalid input for field/attribute %s. Additional properties are not allowed ('%s' was unexpected)", field, compute.Clip(k))
		}
		s, ok := stringOrNumber(raw)
		if ok && s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if !ok || !quotaValuePattern.MatchString(s) || err != nil || n < compute.Unlimited || n > 0x7FFFFFFF {
			return nil, false, fmt.Sprintf("Invalid input for field/attribute %s. Value: %s. It must be an integer from -1 to 2147483647.", k, compute.Clip(string(raw)))
		}
		limits[k] = n
	}
	return limits, force, ""
}

// strictQuery answers 400 and returns false when, from 2.75, the query
// has a parameter outside allowed: Nova's query schemas stopped ignoring
// them there.
func strictQuery(w http.ResponseWriter, r *http.Request, allowed ...string) bool {
	if !atLeast(r, "2.75") {
		return true
	}
	var extra []string
	for k := range r.URL.Query() {
		if !slices.Contains(allowed, k) {
			extra = append(extra, "'"+compute.Clip(k)+"'")
		}
	}
	if len(extra) == 0 {
		return true
	}
	slices.Sort(extra)
	verb := "was"
	if len(extra) > 1 {
		verb = "were"
	}
	badRequest(w, r, fmt.Sprintf("Additional properties are not allowed (%s %s unexpected)", strings.Join(extra, ", "), verb))
	return false
}

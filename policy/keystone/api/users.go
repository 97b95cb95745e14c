package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/policy"
	"imagestack/policy/authn"
	"imagestack/policy/keystone"
)

type userBody struct {
	User *struct {
		Name             *string `json:"name"`
		DomainID         *string `json:"domain_id"`
		Password         *string `json:"password"`
		OriginalPassword *string `json:"original_password"`
		DefaultProjectID *string `json:"default_project_id"`
		Email            *string `json:"email"`
		Description      *string `json:"description"`
		Enabled          *bool   `json:"enabled"`
	} `json:"user"`
}

func (a *API) userView(u keystone.User) map[string]any {
	v := map[string]any{
		"id": u.ID, "name": u.Name, "domain_id": u.DomainID, "enabled": u.Enabled,
		"password_expires_at": nil, "options": map[string]any{},
		"links": a.selfLink("/v3/users/" + u.ID),
	}
	if u.DefaultProjectID != "" {
		v["default_project_id"] = u.DefaultProjectID
	}
	if u.Email != "" {
		v["email"] = u.Email
	}
	if u.Description != "" {
		v["description"] = u.Description
	}
	return v
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	if !a.authorize(w, r, "identity:list_users", nil) {
		return
	}
	enabled, ok := boolParam(r, "enabled")
	if !ok {
		a.badRequest(w, r, "Invalid value for query parameter 'enabled'.")
		return
	}
	q := r.URL.Query()
	us, err := a.svc.Repository().ListUsers(r.Context(), keystone.UserFilter{Name: q.Get("name"), DomainID: q.Get("domain_id"), Enabled: enabled})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]any, len(us))
	for i, u := range us {
		out[i] = a.userView(u)
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"users": out, "links": a.collectionLinks(r)})
}

func (a *API) showUser(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["user_id"]
	if !a.authorize(w, r, "identity:get_user", policy.Target{"target.user.id": id}) {
		return
	}
	u, err := a.svc.Repository().GetUser(r.Context(), id)
	if err != nil {
		a.fail(w, r, notFoundMsg(err, "user", id))
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"user": a.userView(u)})
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	var body userBody
	if !a.decode(w, r, &body) {
		return
	}
	if body.User == nil || body.User.Name == nil {
		a.badRequest(w, r, "Invalid input for field 'user': 'name' is a required property.")
		return
	}
	b := body.User
	u := keystone.User{Name: *b.Name, DomainID: deref(b.DomainID), DefaultProjectID: deref(b.DefaultProjectID),
		Email: deref(b.Email), Description: deref(b.Description), Enabled: b.Enabled == nil || *b.Enabled}
	if u.DomainID == "" {
		u.DomainID = authn.CredentialsFrom(r.Context()).ProjectDomainID
	}
	if !a.authorize(w, r, "identity:create_user", policy.Target{"target.user.domain_id": u.DomainID}) {
		return
	}
	u, err := a.svc.CreateUser(r.Context(), u, deref(b.Password))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, map[string]any{"user": a.userView(u)})
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["user_id"]
	if !a.authorize(w, r, "identity:update_user", policy.Target{"target.user.id": id}) {
		return
	}
	var body userBody
	if !a.decode(w, r, &body) {
		return
	}
	if body.User == nil {
		a.badRequest(w, r, "Invalid input for field 'user': an object is required.")
		return
	}
	b := body.User
	if b.DomainID != nil {
		a.badRequest(w, r, "Update of `domain_id` is not allowed.")
		return
	}
	u, err := a.svc.UpdateUser(r.Context(), id, keystone.UserPatch{Name: b.Name, Password: b.Password,
		DefaultProjectID: b.DefaultProjectID, Email: b.Email, Description: b.Description, Enabled: b.Enabled})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"user": a.userView(u)})
}

// changePassword answers POST /v3/users/{id}/password (self-service, needs the old password).
func (a *API) changePassword(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["user_id"]
	if !a.authorize(w, r, "identity:change_password", policy.Target{"target.user.id": id}) {
		return
	}
	var body userBody
	if !a.decode(w, r, &body) {
		return
	}
	if body.User == nil || body.User.Password == nil || body.User.OriginalPassword == nil {
		a.badRequest(w, r, "Invalid input for field 'user': 'password' and 'original_password' are required properties.")
		return
	}
	if err := a.svc.ChangePassword(r.Context(), id, *body.User.OriginalPassword, *body.User.Password); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["user_id"]
	if !a.authorize(w, r, "identity:delete_user", policy.Target{"target.user.id": id}) {
		return
	}
	if err := a.svc.DeleteUser(r.Context(), id); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

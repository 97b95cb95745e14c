package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
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

func (a *API) userView(u keystone.User) userView {
	return userView{ID: u.ID, Name: u.Name, DomainID: u.DomainID, Enabled: u.Enabled,
		Options: options{}, Links: a.selfLink("/v3/users/" + u.ID),
		DefaultProjectID: u.DefaultProjectID, Email: u.Email, Description: u.Description}
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.MayListUsers(creds(r)); err != nil {
		a.fail(w, r, err)
		return
	}
	enabled, ok := boolParam(r, "enabled")
	if !ok {
		a.badRequest(w, r, "Invalid value for query parameter 'enabled'.")
		return
	}
	q := r.URL.Query()
	us, err := a.svc.ListUsers(r.Context(), creds(r), keystone.UserFilter{Name: q.Get("name"), DomainID: q.Get("domain_id"), Enabled: enabled})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, struct {
		Users []userView `json:"users"`
		Links listLinks  `json:"links"`
	}{httpx.ListOf(us, a.userView), a.collectionLinks(r)})
}

// renderUser answers one user with status, or err.
func (a *API) renderUser(w http.ResponseWriter, r *http.Request, status int, u keystone.User, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, r, status, struct {
		User userView `json:"user"`
	}{a.userView(u)})
}

func (a *API) showUser(w http.ResponseWriter, r *http.Request) {
	u, err := a.svc.GetUser(r.Context(), creds(r), mux.Vars(r)["user_id"])
	a.renderUser(w, r, http.StatusOK, u, err)
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
		// Keystone puts a user in the domain of the caller's token.
		u.DomainID = creds(r).ProjectDomainID
	}
	u, err := a.svc.CreateUser(r.Context(), creds(r), u, deref(b.Password))
	a.renderUser(w, r, http.StatusCreated, u, err)
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["user_id"]
	if err := a.svc.MayUpdateUser(creds(r), id); err != nil {
		a.fail(w, r, err)
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
	u, err := a.svc.UpdateUser(r.Context(), creds(r), id, keystone.UserPatch{Name: b.Name, Password: b.Password,
		DefaultProjectID: b.DefaultProjectID, Email: b.Email, Description: b.Description, Enabled: b.Enabled})
	a.renderUser(w, r, http.StatusOK, u, err)
}

// changePassword answers POST /v3/users/{id}/password (self-service, needs the old password).
func (a *API) changePassword(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["user_id"]
	if err := a.svc.MayChangePassword(creds(r), id); err != nil {
		a.fail(w, r, err)
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
	a.noContent(w, r, a.svc.ChangePassword(r.Context(), creds(r), id, *body.User.OriginalPassword, *body.User.Password))
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) {
	a.noContent(w, r, a.svc.DeleteUser(r.Context(), creds(r), mux.Vars(r)["user_id"]))
}

package api

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/policy"
	"imagestack/policy/authn"
)

// resource describes one Neutron collection: its body keys, the service
// calls behind it, its view and its body reader. Its methods are the
// collection's handlers, so that every collection answers list, show,
// create, update and delete the same way (the caller's credentials, the
// service call, a NeutronError or the view under its key).
//
// In is what a create or update body reads to, T what the service returns
// and V how the API shows a T. A collection without create, update or
// delete leaves those functions nil and routes no such method.
type resource[In, T, V any] struct {
	api *API
	// one and many are the body keys of one item and of a list
	// ("network", "networks"); one is also the create/update body's key.
	one, many string

	list   func(ctx context.Context, c policy.Credentials) ([]T, error)
	get    func(ctx context.Context, c policy.Credentials, id string) (T, error)
	create func(ctx context.Context, c policy.Credentials, in In) (T, error)
	update func(ctx context.Context, c policy.Credentials, id string, in In) (T, error)
	del    func(ctx context.Context, c policy.Credentials, id string) error

	view func(T) V
	// attrs is the view whose attributes list queries may filter and sort
	// by (the zero view unless some attributes are shown only sometimes).
	attrs V
	// read reads a create or update body under key; its error is the
	// 400's message.
	read func(r *http.Request, key string) (In, error)
}

// inputBody is a create or update body that converts to the service's
// input In, or fails with a 400's message.
type inputBody[In any] interface {
	input() (In, error)
}

// readBody reads Neutron's {"<key>": {...}} body as a B and converts it.
func readBody[B inputBody[In], In any](r *http.Request, key string) (In, error) {
	var b B
	if err := decodeBody(r, key, &b); err != nil {
		var zero In
		return zero, err
	}
	return b.input()
}

// List answers GET /v2.0/<collection>: filtered, sorted, paged and
// trimmed to fields= by writeList.
func (c resource[In, T, V]) List(w http.ResponseWriter, r *http.Request) {
	items, err := c.list(r.Context(), authn.CredentialsFrom(r.Context()))
	if err != nil {
		c.api.fail(w, r, err)
		return
	}
	writeList(c.api, w, r, c.many, httpx.ListOf(items, c.view), c.attrs)
}

// Show answers GET /v2.0/<collection>/{id}.
func (c resource[In, T, V]) Show(w http.ResponseWriter, r *http.Request) {
	item, err := c.get(r.Context(), authn.CredentialsFrom(r.Context()), mux.Vars(r)["id"])
	c.write(w, r, http.StatusOK, item, err)
}

// Create answers POST /v2.0/<collection> with 201 and the new item.
func (c resource[In, T, V]) Create(w http.ResponseWriter, r *http.Request) {
	if in, ok := c.readInput(w, r); ok {
		item, err := c.create(r.Context(), authn.CredentialsFrom(r.Context()), in)
		c.write(w, r, http.StatusCreated, item, err)
	}
}

// Update answers PUT /v2.0/<collection>/{id} with the changed item.
func (c resource[In, T, V]) Update(w http.ResponseWriter, r *http.Request) {
	if in, ok := c.readInput(w, r); ok {
		item, err := c.update(r.Context(), authn.CredentialsFrom(r.Context()), mux.Vars(r)["id"], in)
		c.write(w, r, http.StatusOK, item, err)
	}
}

// readInput reads the create or update body, answering 400 when it
// cannot.
func (c resource[In, T, V]) readInput(w http.ResponseWriter, r *http.Request) (In, bool) {
	in, err := c.read(r, c.one)
	if err != nil {
		badRequest(w, err.Error())
		return in, false
	}
	return in, true
}

// Delete answers DELETE /v2.0/<collection>/{id} with 204.
func (c resource[In, T, V]) Delete(w http.ResponseWriter, r *http.Request) {
	if err := c.del(r.Context(), authn.CredentialsFrom(r.Context()), mux.Vars(r)["id"]); err != nil {
		c.api.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// write answers one item under its key with status, or err.
func (c resource[In, T, V]) write(w http.ResponseWriter, r *http.Request, status int, item T, err error) {
	if err != nil {
		c.api.fail(w, r, err)
		return
	}
	writeOne(w, r, status, c.one, c.view(item))
}

package api

import (
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute"
)

// keypairUser is the user_id query parameter (from 2.10; "": the caller).
func keypairUser(r *http.Request) string {
	if atLeast(r, "2.10") {
		return r.URL.Query().Get("user_id")
	}
	return ""
}

// listKeyPairs answers GET /os-keypairs: another user's with user_id
// (2.10, admins), paged by limit and marker (2.35) with keypairs_links.
func (a *API) listKeyPairs(w http.ResponseWriter, r *http.Request) {
	limit, marker := -1, ""
	if q := r.URL.Query(); atLeast(r, "2.35") {
		if v, ok := q["limit"]; ok {
			n, msg := intParam("limit", v[0], nonNegative)
			if msg != "" {
				badRequest(w, r, msg)
				return
			}
			limit = int(min(n, maxLimit))
		}
		marker = q.Get("marker")
	}
	ks, err := a.svc.ListKeyPairs(r.Context(), a.caller(r), keypairUser(r), limit, marker)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := httpx.ListOf(ks, func(k compute.KeyPair) keypairBody[keypairView] {
		return keypairBody[keypairView]{KeyPair: newKeypairView(r, k)}
	})
	body := keypairsBody{KeyPairs: out}
	if atLeast(r, "2.35") {
		body.Links = nextLink(a, r, ks, limit, func(k compute.KeyPair) string { return k.Name })
	}
	httpx.WriteJSON(w, http.StatusOK, body)
}

// keypairFields are what POST /os-keypairs takes at r's microversion
// (additionalProperties false): type from 2.2, user_id from 2.10.
func keypairFields(r *http.Request) []string {
	f := []string{"name", "public_key"}
	if atLeast(r, "2.2") {
		f = append(f, "type")
	}
	if atLeast(r, "2.10") {
		f = append(f, "user_id")
	}
	return f
}

// createKeyPair answers POST /os-keypairs: 200 at microversion 2.1; from
// 2.2 the key's "type" (ssh or x509) may be chosen and the answer is 201;
// from 2.10 admins may create one for another user.
func (a *API) createKeyPair(w http.ResponseWriter, r *http.Request) {
	m, ok := decodeObject(w, r, "keypair")
	if !ok {
		return
	}
	if msg := onlyKeys("keypair", m, keypairFields(r)...); msg != "" {
		badRequest(w, r, msg)
		return
	}
	var in [4]string // name, public_key, type, user_id
	for i, key := range []string{"name", "public_key", "type", "user_id"} {
		if v, present := m[key]; present {
			s, msg := stringParam(key, v, maxBodyBytes, false)
			if msg != "" {
				badRequest(w, r, msg)
				return
			}
			in[i] = s
		} else if key == "name" {
			badRequest(w, r, "Invalid input for field/attribute keypair. 'name' is a required property")
			return
		}
	}
	if _, present := m["type"]; present && in[2] != compute.KeyTypeSSH && in[2] != compute.KeyTypeX509 {
		badRequest(w, r, fmt.Sprintf("Invalid input for field/attribute type. Value: %s. '%s' is not one of ['ssh', 'x509']", clip(in[2]), clip(in[2])))
		return
	}
	k, private, err := a.svc.CreateKeyPairFor(r.Context(), a.caller(r), in[3], in[0], in[1], in[2])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if atLeast(r, "2.2") {
		status = http.StatusCreated
	}
	httpx.WriteJSON(w, status, keypairBody[keypairCreatedView]{KeyPair: keypairCreatedView{
		keypairView: newKeypairView(r, k), UserID: k.UserID, PrivateKey: private}})
}

func (a *API) showKeyPair(w http.ResponseWriter, r *http.Request) {
	k, err := a.svc.GetKeyPair(r.Context(), a.caller(r), keypairUser(r), mux.Vars(r)["name"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, keypairBody[keypairDetailView]{KeyPair: keypairDetailView{
		keypairView: newKeypairView(r, k), UserID: k.UserID, CreatedAt: novaTime(k.CreatedAt)}})
}

func (a *API) deleteKeyPair(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.DeleteKeyPair(r.Context(), a.caller(r), keypairUser(r), mux.Vars(r)["name"]); err != nil {
		a.fail(w, r, err)
		return
	}
	// 202 at microversion 2.1, 204 from 2.2.
	if atLeast(r, "2.2") {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute"
)

func keypairView(k compute.KeyPair) map[string]any {
	return map[string]any{"name": k.Name, "public_key": k.PublicKey, "fingerprint": k.Fingerprint}
}

func (a *API) listKeyPairs(w http.ResponseWriter, r *http.Request) {
	ks, err := a.svc.ListKeyPairs(r.Context(), a.caller(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]any, len(ks))
	for i, k := range ks {
		out[i] = map[string]any{"keypair": keypairView(k)}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"keypairs": out})
}

// createKeyPair answers POST /os-keypairs (200 at microversion 2.1).
func (a *API) createKeyPair(w http.ResponseWriter, r *http.Request) {
	var body struct {
		KeyPair *struct {
			Name      string `json:"name"`
			PublicKey string `json:"public_key"`
		} `json:"keypair"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if body.KeyPair == nil {
		badRequest(w, r, "Invalid input for field/attribute keypair: 'keypair' is a required property")
		return
	}
	k, private, err := a.svc.CreateKeyPair(r.Context(), a.caller(r), body.KeyPair.Name, body.KeyPair.PublicKey)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v := keypairView(k)
	v["user_id"] = k.UserID
	if private != "" {
		v["private_key"] = private
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"keypair": v})
}

func (a *API) showKeyPair(w http.ResponseWriter, r *http.Request) {
	k, err := a.svc.GetKeyPair(r.Context(), a.caller(r), mux.Vars(r)["name"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v := keypairView(k)
	v["user_id"], v["created_at"], v["deleted"], v["deleted_at"], v["updated_at"], v["id"] = k.UserID, novaTime(k.CreatedAt), false, nil, nil, 0
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"keypair": v})
}

func (a *API) deleteKeyPair(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.DeleteKeyPair(r.Context(), a.caller(r), mux.Vars(r)["name"]); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

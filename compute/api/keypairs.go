package api

import (
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/compute"
)

func (a *API) listKeyPairs(w http.ResponseWriter, r *http.Request) {
	ks, err := a.svc.ListKeyPairs(r.Context(), a.caller(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := httpx.ListOf(ks, func(k compute.KeyPair) keypairBody[keypairView] {
		return keypairBody[keypairView]{KeyPair: newKeypairView(r, k)}
	})
	httpx.WriteJSON(w, http.StatusOK, keypairsBody{KeyPairs: out})
}

// createKeyPair answers POST /os-keypairs: 200 at microversion 2.1; from
// 2.2 the key's "type" (ssh or x509) may be chosen and the answer is 201.
func (a *API) createKeyPair(w http.ResponseWriter, r *http.Request) {
	var body struct {
		KeyPair *struct {
			Name      string  `json:"name"`
			PublicKey string  `json:"public_key"`
			Type      *string `json:"type"`
		} `json:"keypair"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if body.KeyPair == nil {
		badRequest(w, r, "Invalid input for field/attribute keypair: 'keypair' is a required property")
		return
	}
	keyType := ""
	if t := body.KeyPair.Type; t != nil && atLeast(r, "2.2") {
		if *t != compute.KeyTypeSSH && *t != compute.KeyTypeX509 {
			badRequest(w, r, fmt.Sprintf("Invalid input for field/attribute type. Value: %s. '%s' is not one of ['ssh', 'x509']", *t, *t))
			return
		}
		keyType = *t
	}
	k, private, err := a.svc.CreateKeyPair(r.Context(), a.caller(r), body.KeyPair.Name, body.KeyPair.PublicKey, keyType)
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
	k, err := a.svc.GetKeyPair(r.Context(), a.caller(r), mux.Vars(r)["name"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, keypairBody[keypairDetailView]{KeyPair: keypairDetailView{
		keypairView: newKeypairView(r, k), UserID: k.UserID, CreatedAt: novaTime(k.CreatedAt)}})
}

func (a *API) deleteKeyPair(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.DeleteKeyPair(r.Context(), a.caller(r), mux.Vars(r)["name"]); err != nil {
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

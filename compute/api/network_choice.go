package api

import (
	"net/http"

	"imagestack/compute"
)

// networkChoice reads Nova 2.37's "networks": "auto" or "none", and takes
// it out of the body, whose list parser knows only lists (a string below
// 2.37, or another one, stays there: 400). OSC sends "auto" from 2.37.
func networkChoice(r *http.Request, body *serverCreate) (compute.NetworkChoice, bool) {
	if body.Server == nil || !atLeast(r, "2.37") {
		return compute.NetworksAuto, false
	}
	choices := map[string]compute.NetworkChoice{`"auto"`: compute.NetworksAuto, `"none"`: compute.NetworksNone}
	choice, ok := choices[string(body.Server.Networks)]
	if ok {
		body.Server.Networks = nil
	}
	return choice, ok
}

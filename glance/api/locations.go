package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"imagestack/common/httpx"
	"imagestack/glance"
	"imagestack/glance/service"
)

// maxLocationMetadata bounds the JSON of one location's metadata, since
// every image view shows it.
const maxLocationMetadata = 16 << 10

// locationBody is one image location as Glance shows it.
type locationBody struct {
	URL      string         `json:"url"`
	Metadata map[string]any `json:"metadata"`
}

func locationBodies(views []service.LocationView) []locationBody {
	out := make([]locationBody, len(views))
	for i, v := range views {
		out[i] = locationBody{URL: v.URL, Metadata: v.Metadata}
	}
	return out
}

// viewAs is the image as c sees it: with its locations and direct_url
// when the configuration shows them and policy lets c see them.
func (a *API) viewAs(c service.Caller, im *glance.Image) imageBody {
	b := a.view(im)
	locs := a.svc.LocationsOf(c, im)
	if locs.Show {
		list := locationBodies(locs.Locations)
		b.Locations = &list
	}
	b.DirectURL = locs.DirectURL
	return b
}

// listLocations answers GET /v2/images/{id}/locations.
func (a *API) listLocations(w http.ResponseWriter, r *http.Request) {
	locs, err := a.svc.Locations(r.Context(), a.caller(r), mux.Vars(r)["image_id"])
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, locationBodies(locs))
}

// addLocation answers POST /v2/images/{id}/locations: 202, no body.
func (a *API) addLocation(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if !decodeJSON(w, r, &body) {
		return
	}
	in, err := parseNewLocation(body)
	if err != nil {
		badRequest(w, r, err.Error())
		return
	}
	if err := a.svc.AddLocation(r.Context(), a.caller(r), mux.Vars(r)["image_id"], in); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// parseNewLocation reads POST /locations' body as Glance's add_location
// schema describes it: a url, and validation_data with os_hash_algo (one
// of Glance's four) and os_hash_value together.
func parseNewLocation(body map[string]any) (service.LocationInput, error) {
	if body == nil {
		return service.LocationInput{}, paramError("The request body must be a JSON object.")
	}
	url, ok := body["url"].(string)
	if !ok {
		return service.LocationInput{}, paramError("Invalid location: 'url' must be a string.")
	}
	in := service.LocationInput{URL: url}
	raw, has := body["validation_data"]
	if !has {
		return in, nil
	}
	vd, err := parseValidationData(raw, map[string]int{"os_hash_algo": 64, "os_hash_value": 128})
	if err != nil {
		return in, err
	}
	switch {
	case (vd.OSHashAlgo == "") != (vd.OSHashValue == ""):
		return in, paramError("validation_data: os_hash_algo and os_hash_value go together.")
	case vd.OSHashAlgo != "" && !strings.Contains(" sha1 sha256 sha512 md5 ", " "+vd.OSHashAlgo+" "):
		return in, paramError("validation_data: os_hash_algo is not one of ['sha1', 'sha256', 'sha512', 'md5'].")
	}
	in.ValidationData = vd
	return in, nil
}

// parseLocationValue reads one location of a PATCH value as Glance's image
// schema describes it: url (at most 255 characters) and metadata required,
// validation_data optional with os_hash_algo and os_hash_value required.
func parseLocationValue(v any) (service.LocationInput, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return service.LocationInput{}, paramError("Invalid location: a location is an object with url and metadata.")
	}
	url, ok := m["url"].(string)
	if !ok || len(url) > 255 {
		return service.LocationInput{}, paramError("Invalid location: 'url' must be a string of at most 255 characters.")
	}
	md, ok := m["metadata"].(map[string]any)
	if !ok {
		return service.LocationInput{}, paramError("Invalid location: 'metadata' is a required object.")
	}
	raw, _ := json.Marshal(md)
	if len(raw) > maxLocationMetadata {
		return service.LocationInput{}, paramError("Invalid location: its metadata takes too many bytes.")
	}
	in := service.LocationInput{URL: url, Metadata: string(raw)}
	if raw, has := m["validation_data"]; has {
		vd, err := parseValidationData(raw, map[string]int{"checksum": 32, "os_hash_algo": 64, "os_hash_value": 128})
		if err != nil {
			return in, err
		}
		if vd.OSHashAlgo == "" || vd.OSHashValue == "" || (vd.Checksum != "" && len(vd.Checksum) != 32) {
			return in, paramError("validation_data needs os_hash_algo and os_hash_value, and a checksum of 32 characters.")
		}
		in.ValidationData = vd
	}
	return in, nil
}

// parseValidationData reads a validation_data object whose keys must be
// among allowed (with their maximum lengths), all strings.
func parseValidationData(raw any, allowed map[string]int) (*service.ValidationData, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, paramError("validation_data must be an object.")
	}
	vd := &service.ValidationData{}
	for k, v := range m {
		max, known := allowed[k]
		s, isString := v.(string)
		if !known || !isString || len(s) > max {
			return nil, paramError("validation_data: invalid member " + k + ".")
		}
		switch k {
		case "checksum":
			vd.Checksum = s
		case "os_hash_algo":
			vd.OSHashAlgo = s
		default:
			vd.OSHashValue = s
		}
	}
	return vd, nil
}

// parseLocationOp fills a PATCH operation on /locations: add and remove
// take /locations/N or /locations/-, replace takes /locations and a list,
// as Glance's pointer depth rules say.
func parseLocationOp(op *service.PatchOp, tokens []string, value any) error {
	depth := map[string]int{"add": 2, "remove": 2, "replace": 1}[op.Op]
	if len(tokens) != depth {
		return paramError("Invalid JSON pointer for this resource: '/" + strings.Join(tokens, "/") + "'")
	}
	op.Path = "locations"
	switch op.Op {
	case "add":
		op.Pos = tokens[1]
		in, err := parseLocationValue(value)
		op.Locations = []service.LocationInput{in}
		return err
	case "remove":
		op.Pos = tokens[1]
		return nil
	}
	list, ok := value.([]any)
	if !ok {
		return paramError("Invalid locations: the value must be a list of locations.")
	}
	for _, v := range list {
		in, err := parseLocationValue(v)
		if err != nil {
			return err
		}
		op.Locations = append(op.Locations, in)
	}
	return nil
}

// locationPointer splits a pointer whose first token is "locations" into
// its decoded tokens; nil for any other pointer.
func locationPointer(p string) []string {
	rest, ok := strings.CutPrefix(p, "/")
	if !ok {
		return nil
	}
	tokens := strings.Split(rest, "/")
	for i, t := range tokens {
		tokens[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	if tokens[0] != "locations" {
		return nil
	}
	return tokens
}

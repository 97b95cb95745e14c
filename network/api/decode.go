package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"imagestack/common/httpx"
)

// bodyLimit bounds a request body.
const bodyLimit = 1 << 20

// decodeBody reads Neutron's {"<key>": {...}} body into dst; attributes
// dst does not know are 400 "Unrecognized attribute(s)".
func decodeBody(r *http.Request, key string, dst any) error {
	var outer map[string]json.RawMessage
	if err := httpx.DecodeJSON(r, bodyLimit, &outer); err != nil {
		return errors.New("Malformed request body")
	}
	inner, ok := outer[key]
	if !ok || len(outer) != 1 {
		return fmt.Errorf("Unable to find '%s' in request body", key)
	}
	dec := json.NewDecoder(bytes.NewReader(inner))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("Unrecognized attribute(s) '%s'", strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`))
	case errors.As(err, &typeErr):
		return fmt.Errorf("Invalid input for %s. Reason: '%s' is not a valid %s.", typeErr.Field, typeErr.Value, typeErr.Type)
	}
	return errors.New("Malformed request body")
}

// isNull reports a JSON null.
func isNull(m json.RawMessage) bool { return string(bytes.TrimSpace(m)) == "null" }

// projectOf is project_id or, from older clients, tenant_id.
func projectOf(project, tenant *string) *string {
	if project != nil {
		return project
	}
	return tenant
}

// notServed refuses attributes of extensions this service does not serve
// when a client sets them to anything but their default.
func notServed(fields map[string]json.RawMessage) error {
	for name, v := range fields {
		s := string(bytes.TrimSpace(v))
		if v != nil && s != "null" && s != "[]" && s != "{}" && s != `""` && s != "false" {
			return fmt.Errorf("Invalid input for operation: %s is not supported by this service.", name)
		}
	}
	return nil
}

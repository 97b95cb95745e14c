package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

// The keys Nova's JSON schemas allow in the server bodies at each
// microversion (create, update and rebuild have additionalProperties
// false): a key outside them is a 400, as in Nova.

// schemaKey is a key a schema allows from microversion from, and until
// before microversion until ("": still allowed).
type schemaKey struct{ name, from, until string }

// baseKeys are allowed at every microversion served.
func baseKeys(names ...string) []schemaKey {
	out := make([]schemaKey, len(names))
	for i, n := range names {
		out[i] = schemaKey{name: n, from: "2.1"}
	}
	return out
}

var (
	createTopKeys = baseKeys("server", "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints")
	createKeys    = append(baseKeys("name", "imageRef", "flavorRef", "adminPass", "metadata", "networks",
		"OS-DCF:diskConfig", "accessIPv4", "accessIPv6", "availability_zone", "block_device_mapping",
		"block_device_mapping_v2", "config_drive", "key_name", "min_count", "max_count", "return_reservation_id",
		"security_groups", "user_data"),
		schemaKey{"personality", "2.1", "2.57"}, schemaKey{"description", "2.19", ""}, schemaKey{"tags", "2.52", ""},
		schemaKey{"trusted_image_certificates", "2.63", ""}, schemaKey{"host", "2.74", ""},
		schemaKey{"hypervisor_hostname", "2.74", ""}, schemaKey{"hostname", "2.90", ""})
	updateKeys = append(baseKeys("name", "OS-DCF:diskConfig", "accessIPv4", "accessIPv6"),
		schemaKey{"description", "2.19", ""}, schemaKey{"hostname", "2.90", ""})
	rebuildKeys = append(baseKeys("name", "imageRef", "adminPass", "metadata", "preserve_ephemeral",
		"OS-DCF:diskConfig", "accessIPv4", "accessIPv6"),
		schemaKey{"personality", "2.1", "2.57"}, schemaKey{"description", "2.19", ""}, schemaKey{"key_name", "2.54", ""},
		schemaKey{"user_data", "2.57", ""}, schemaKey{"trusted_image_certificates", "2.63", ""},
		schemaKey{"hostname", "2.90", ""})
)

// allowedAt reports whether key k is in its schema at r's microversion.
func (k schemaKey) allowedAt(r *http.Request) bool {
	return atLeast(r, k.from) && (k.until == "" || !atLeast(r, k.until))
}

// unexpectedKeys checks that raw is an object whose keys keys allows at r's
// microversion; else it returns Nova's message for field.
func unexpectedKeys(r *http.Request, field string, raw json.RawMessage, keys []schemaKey) string {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return "Invalid input for field/attribute " + field + ". Value: " + clip(string(raw)) + ". It is not of type 'object'"
	}
	var extra []string
	for name := range obj {
		if !keyAllowed(r, name, keys) {
			extra = append(extra, "'"+name+"'")
		}
	}
	if len(extra) == 0 {
		return ""
	}
	sort.Strings(extra)
	verb := "was"
	if len(extra) > 1 {
		verb = "were"
	}
	return "Invalid input for field/attribute " + field + ". Value: " + clip(string(raw)) +
		". Additional properties are not allowed (" + strings.Join(extra, ", ") + " " + verb + " unexpected)"
}

func keyAllowed(r *http.Request, name string, keys []schemaKey) bool {
	for _, k := range keys {
		if k.name == name && k.allowedAt(r) {
			return true
		}
	}
	return false
}

// memberOf returns the raw value of key in object raw (nil when absent).
func memberOf(raw json.RawMessage, key string) json.RawMessage {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil
	}
	return obj[key]
}

// hostnamePattern is Nova's parameter_types.hostname (2.90).
var hostnamePattern = regexp.MustCompile(`^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$`)

// checkHostname validates a requested hostname (nil: none asked for).
func checkHostname(h *string) string {
	if h == nil || (len(*h) <= 63 && hostnamePattern.MatchString(*h)) {
		return ""
	}
	return "Invalid input for field/attribute hostname. Value: " + clip(*h) + ". It must be 2 to 63 letters, digits and hyphens, neither first nor last a hyphen."
}

// nullableString is a string field as a request gives it: absent, null
// or a string.
type nullableString struct {
	set   bool
	value *string
}

// UnmarshalJSON records that the field was given (null included).
func (d *nullableString) UnmarshalJSON(b []byte) error {
	d.set = true
	return json.Unmarshal(b, &d.value)
}

// checkDescription validates the text as Nova's
// parameter_types.description: at most 255 characters, none a control one.
func (d nullableString) checkDescription() string {
	if d.value == nil {
		return ""
	}
	if len([]rune(*d.value)) > 255 {
		return "Invalid input for field/attribute description. Value: " + clip(*d.value) + ". It is too long (at most 255 characters)."
	}
	for _, c := range *d.value {
		if unicode.IsControl(c) {
			return "Invalid input for field/attribute description. Value: " + clip(*d.value) + ". It has control characters."
		}
	}
	return ""
}

package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"imagestack/compute"
)

// maxBodyBytes is Nova's request size limit (oslo.middleware's
// max_request_body_size): larger bodies are 413 before any parsing.
const maxBodyBytes = 114688

// decodeBody reads a JSON body of at most maxBodyBytes into v, keeping
// numbers exact (json.Number). Nesting is bounded by the size and by
// encoding/json's own depth limit.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err == nil && len(raw) > maxBodyBytes {
		writeError(w, r, http.StatusRequestEntityTooLarge, "Request is too large.")
		return false
	}
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err = dec.Decode(v); err == nil && dec.More() {
			err = errors.New("data after the JSON value")
		}
	}
	if err != nil {
		badRequest(w, r, "Malformed request body")
		return false
	}
	return true
}

// stringOrNumber reads a JSON string or number as text.
func stringOrNumber(raw json.RawMessage) (string, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, true
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), true
	}
	return "", false
}

// stringOrNumberValue reads a decoded JSON string or number as text.
func stringOrNumberValue(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	}
	return "", false
}

// stringMap checks that every value of a decoded object is a string;
// withNumbers also takes numbers (as their text), as Nova's extra specs do.
func stringMap(m map[string]any, withNumbers bool) (map[string]string, bool) {
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch t := v.(type) {
		case string:
			out[k] = t
		case json.Number:
			if !withNumbers {
				return nil, false
			}
			out[k] = t.String()
		default:
			return nil, false
		}
	}
	return out, true
}

// decodeAction reads an action body, {"<action>": {...}}, which must name
// exactly one action.
func decodeAction(w http.ResponseWriter, r *http.Request) (string, json.RawMessage, bool) {
	var body map[string]json.RawMessage
	if !decodeBody(w, r, &body) {
		return "", nil, false
	}
	if len(body) != 1 {
		badRequest(w, r, "There is no such action: the body must name exactly one action.")
		return "", nil, false
	}
	for action, raw := range body {
		return action, raw, true
	}
	return "", nil, false // not reached: the body has one entry
}

// Nova's parameter types (nova/api/validation/parameter_types.py) as typed
// decoders of values read with decodeBody (numbers as json.Number). Each
// returns the value and "" or the message of a 400.

// novaBooleans are the values parameter_types.boolean admits besides JSON
// true and false, exactly as Nova lists them.
var novaBooleans = map[string]bool{
	"True": true, "TRUE": true, "true": true, "1": true, "ON": true, "On": true, "on": true,
	"YES": true, "Yes": true, "yes": true,
	"False": false, "FALSE": false, "false": false, "0": false, "OFF": false, "Off": false, "off": false,
	"NO": false, "No": false, "no": false,
}

// invalidInput is the message of Nova's schema failures.
func invalidInput(field string, v any, why string) string {
	return fmt.Sprintf("Invalid input for field/attribute %s. Value: %v. %s", field, v, why)
}

// novaBool reads parameter_types.boolean from raw JSON.
func novaBool(raw json.RawMessage) (bool, bool) {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false, false
	}
	b, msg := boolParam("", v)
	return b, msg == ""
}

// boolParam reads parameter_types.boolean.
func boolParam(field string, v any) (bool, string) {
	switch t := v.(type) {
	case bool:
		return t, ""
	case string:
		if b, ok := novaBooleans[t]; ok {
			return b, ""
		}
	}
	return false, invalidInput(field, v, fmt.Sprintf("%v is not one of the allowed boolean values", v))
}

// intRange bounds one of Nova's integer parameters.
type intRange struct{ min, max int64 }

// Nova's integer ranges: non_negative_integer, positive_integer and the
// flavor fields (volume_size, up to the database's MAX_INT).
var (
	nonNegative    = intRange{0, math.MaxInt64}
	positive       = intRange{1, math.MaxInt64}
	flavorPositive = intRange{1, 0x7FFFFFFF}
	flavorNonNeg   = intRange{0, 0x7FFFFFFF}
)

// intParam reads an integer parameter: a JSON integer or a string of digits
// (Nova's {"type": ["integer", "string"], "pattern": "^[0-9]+$"}) within rg.
func intParam(field string, v any, rg intRange) (int64, string) {
	var s string
	switch t := v.(type) {
	case json.Number:
		s = t.String()
	case string:
		s = t
		pattern := digits
		if rg.min < 0 {
			pattern = signedDigits
		}
		if !pattern.MatchString(s) {
			return 0, invalidInput(field, v, fmt.Sprintf("'%s' does not match '%s'", compute.Clip(s), pattern))
		}
	default:
		return 0, invalidInput(field, v, fmt.Sprintf("%v is not of type 'integer', 'string'", v))
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, invalidInput(field, v, fmt.Sprintf("%s is not of type 'integer', 'string'", compute.Clip(s)))
	}
	if n < rg.min {
		return 0, invalidInput(field, v, fmt.Sprintf("%d is less than the minimum of %d", n, rg.min))
	}
	if n > rg.max {
		return 0, invalidInput(field, v, fmt.Sprintf("%d is greater than the maximum of %d", n, rg.max))
	}
	return n, ""
}

// Nova's integer patterns: unsigned (non_negative_integer, volume_size)
// and signed (the quota values).
var (
	digits       = regexp.MustCompile(`^[0-9]+$`)
	signedDigits = regexp.MustCompile(`^-?[0-9]+$`)
)

// stringParam reads a string parameter of at most maxLen characters
// (nullable: JSON null is "" and accepted).
func stringParam(field string, v any, maxLen int, nullable bool) (string, string) {
	if v == nil && nullable {
		return "", ""
	}
	s, ok := v.(string)
	if !ok {
		return "", invalidInput(field, v, fmt.Sprintf("%v is not of type 'string'", v))
	}
	if utf8.RuneCountInString(s) > maxLen {
		return "", invalidInput(field, compute.Clip(s), "It is too long.")
	}
	return s, ""
}

// onlyKeys is additionalProperties false: the message of a 400 naming the
// first unexpected key of m, or "".
func onlyKeys(field string, m map[string]any, allowed ...string) string {
	var extra []string
	for k := range m {
		if !slices.Contains(allowed, k) {
			extra = append(extra, "'"+compute.Clip(k)+"'")
		}
	}
	if len(extra) == 0 {
		return ""
	}
	slices.Sort(extra)
	return fmt.Sprintf("Invalid input for field/attribute %s. Additional properties are not allowed (%s %s unexpected)",
		field, strings.Join(extra, ", "), map[bool]string{true: "was", false: "were"}[len(extra) == 1])
}

// decodeObject reads a body {"<key>": {...}} (no other top-level key) into
// its inner object, or answers 400.
func decodeObject(w http.ResponseWriter, r *http.Request, key string) (map[string]any, bool) {
	var body map[string]any
	if !decodeBody(w, r, &body) {
		return nil, false
	}
	if msg := onlyKeys("", body, key); msg != "" {
		badRequest(w, r, msg)
		return nil, false
	}
	inner, ok := body[key].(map[string]any)
	if !ok {
		badRequest(w, r, invalidInput(key, body[key], fmt.Sprintf("'%s' is a required property of type 'object'", key)))
		return nil, false
	}
	return inner, true
}

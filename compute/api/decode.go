package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
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

// intField reads a Nova integer parameter, which may also be a digit string.
func intField(m map[string]any, key string, def int) (int, bool) {
	v, ok := m[key]
	if !ok || v == nil {
		return def, true
	}
	var s string
	switch t := v.(type) {
	case json.Number:
		s = t.String()
	case string:
		s = t
	default:
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
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

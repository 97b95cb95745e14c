package api

import (
	"encoding/json"
	"testing"
)

// TestNovaParameterTypes: the typed decoders admit exactly what Nova's
// parameter_types do.
func TestNovaParameterTypes(t *testing.T) {
	for _, v := range []any{true, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes"} {
		if b, msg := boolParam("f", v); !b || msg != "" {
			t.Errorf("boolean %v: %v %q", v, b, msg)
		}
	}
	for _, v := range []any{false, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"} {
		if b, msg := boolParam("f", v); b || msg != "" {
			t.Errorf("boolean %v: %v %q", v, b, msg)
		}
	}
	for _, v := range []any{"y", "t", "n", "f", "tRUE", "", nil, json.Number("1")} {
		if _, msg := boolParam("f", v); msg == "" {
			t.Errorf("boolean %v accepted", v)
		}
	}
	for _, c := range []struct {
		v    any
		rg   intRange
		want int64
		ok   bool
	}{
		{json.Number("12"), positive, 12, true}, {"12", positive, 12, true}, {"0", positive, 0, false},
		{"0", nonNegative, 0, true}, {"-1", nonNegative, 0, false}, {"-1", intRange{-1, 10}, -1, true},
		{"1.5", nonNegative, 0, false}, {json.Number("1.5"), nonNegative, 0, false}, {" 1", nonNegative, 0, false},
		{"2147483648", flavorPositive, 0, false}, {"2147483647", flavorPositive, 2147483647, true}, {true, nonNegative, 0, false},
	} {
		n, msg := intParam("f", c.v, c.rg)
		if (msg == "") != c.ok || n != c.want {
			t.Errorf("integer %v in %v: %d %q", c.v, c.rg, n, msg)
		}
	}
	if msg := onlyKeys("flavor", map[string]any{"a": 1, "b": 2, "c": 3}, "a"); msg != "Invalid input for field/attribute flavor. Additional properties are not allowed ('b', 'c' were unexpected)" {
		t.Errorf("onlyKeys: %q", msg)
	}
}

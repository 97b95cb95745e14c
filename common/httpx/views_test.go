package httpx_test

import (
	"encoding/json"
	"strconv"
	"testing"

	"imagestack/common/httpx"
)

// TestListOf: every item rendered in order, and no items render as [],
// never null.
func TestListOf(t *testing.T) {
	for name, tc := range map[string]struct {
		in   []int
		want string
	}{"nil": {nil, `[]`}, "empty": {[]int{}, `[]`}, "items": {[]int{3, 1, 2}, `["3","1","2"]`}} {
		t.Run(name, func(t *testing.T) {
			out, _ := json.Marshal(httpx.ListOf(tc.in, strconv.Itoa))
			if string(out) != tc.want {
				t.Fatalf("ListOf(%v) = %s, want %s", tc.in, out, tc.want)
			}
		})
	}
}

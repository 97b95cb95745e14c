package policy

import (
	"bytes"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fuzzBudget is the time one input may take: parsing and loading are
// linear, so anything near it is a complexity bug.
const fuzzBudget = 2 * time.Second

// fuzzCreds and fuzzTargets are what parsed checks are evaluated against.
var (
	fuzzCreds = []Credentials{
		{UserID: "u1", ProjectID: "p1", Roles: []string{"member", "reader"}},
		{UserID: "u2", ProjectID: "p2", DomainID: "default", Roles: []string{"admin"}, IsAdmin: true},
		{},
	}
	fuzzTargets = []Target{
		{"project_id": "p1", "owner": "p1", "visibility": "public", "user_id": "u1"},
		{"project_id": "p2", "owner": "'p2'", "visibility": "private"},
		{},
	}
)

// FuzzParseCheck parses check strings: never a panic; and an accepted
// string renders (String) as a check that parses to the same tree, with
// the same verdicts, so what Rules shows an operator means what was loaded.
func FuzzParseCheck(f *testing.F) {
	f.Add("role:admin or (role:reader and project_id:%(project_id)s)")
	f.Fuzz(func(t *testing.T, s string) {
		start := time.Now()
		n, err := parse(s)
		if d := time.Since(start); d > fuzzBudget {
			t.Fatalf("parsing %d bytes took %v", len(s), d)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("%q: empty error", s)
			}
			return
		}
		again, err := parse(n.String())
		if err != nil {
			t.Fatalf("%q renders as %q, which does not parse: %v", s, n.String(), err)
		}
		if !reflect.DeepEqual(n, again) || again.String() != n.String() {
			t.Fatalf("%q renders as %q, which parses to %q", s, n.String(), again.String())
		}
		rules := map[string]node{"x": n, "context_is_admin": roleNode{match: "admin"}}
		for _, c := range fuzzCreds {
			for _, tg := range fuzzTargets {
				if decide(n, "", rules, tg, c) != decide(again, "", rules, tg, c) {
					t.Fatalf("%q and its rendering %q decide differently for %+v on %v", s, n.String(), c, tg)
				}
			}
		}
	})
}

// fuzzDefaults are built-in rules a fuzzed file may override or refer to.
var fuzzDefaults = []Rule{
	{Name: "context_is_admin", Check: "role:admin"},
	{Name: "admin_or_owner", Check: "is_admin:True or project_id:%(owner)s"},
	{Name: "default", Check: "rule:admin_or_owner"},
	{Name: "get_image", Check: "rule:default"},
}

// loadErrorLine matches the position every loader error must start with.
var loadErrorLine = regexp.MustCompile(`^policy\.(yaml|json):([0-9]+): `)

// FuzzLoadPolicy loads policy files as YAML and as JSON: an error names the
// file and a line of it; a file that loads has every rule as written, each
// parsing to a check that renders back to itself, and no rule: cycle.
func FuzzLoadPolicy(f *testing.F) {
	f.Add([]byte("\"get_image\": \"role:reader\"\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, asJSON bool) {
		path := "policy.yaml"
		if asJSON {
			path = "policy.json"
		}
		start := time.Now()
		rs, err := build(fuzzDefaults, path, data)
		if d := time.Since(start); d > fuzzBudget {
			t.Fatalf("loading %d bytes took %v", len(data), d)
		}
		if err != nil {
			m := loadErrorLine.FindStringSubmatch(err.Error())
			if m == nil {
				t.Fatalf("error without file:line: %v", err)
			}
			if line, _ := strconv.Atoi(m[2]); line < 1 || line > lineCount(data, asJSON) {
				t.Fatalf("error names line %d of a %d-line file: %v", line, lineCount(data, asJSON), err)
			}
			return
		}
		for name, n := range rs.nodes {
			again, err := parse(n.String())
			if err != nil || again.String() != n.String() {
				t.Fatalf("rule %q renders as %q, which does not parse back: %v", name, n.String(), err)
			}
			src, perr := parse(rs.source[name])
			if perr != nil || !reflect.DeepEqual(src, n) {
				t.Fatalf("rule %q: source %q is not what was loaded (%v)", name, rs.source[name], perr)
			}
			s := &evalState{target: fuzzTargets[0], creds: &Credentials{Roles: []string{"x"}}, rules: rs.nodes, active: []string{name}}
			n.eval(s)
			if s.looped {
				t.Fatalf("rule %q loaded with a rule: cycle", name)
			}
		}
	})
}

// lineCount is the number of lines of a policy file as its parser counts
// them: JSON breaks lines at \n only, YAML also at a lone \r and at NEL,
// LS and PS. A file ending in a break has an empty last line, where an
// unexpected end is reported.
func lineCount(data []byte, asJSON bool) int {
	if asJSON {
		return bytes.Count(data, []byte("\n")) + 1
	}
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	n := 1
	for _, sep := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
		n += strings.Count(s, sep)
	}
	return n
}

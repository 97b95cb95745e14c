package policy

import (
	"strings"
	"testing"
)

func TestParseRendersStructure(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "@"},
		{"@", "@"},
		{"!", "!"},
		{"role:admin", "role:admin"},
		{"  role:admin  ", "role:admin"},
		{"a:1 or b:2 and c:3", "a:1 or (b:2 and c:3)"},
		{"(a:1 or b:2) and c:3", "(a:1 or b:2) and c:3"},
		{"not a:1 and b:2", "not a:1 and b:2"},
		{"not (a:1 and b:2)", "not (a:1 and b:2)"},
		{"a:1 AND b:2 Or NOT c:3", "(a:1 and b:2) or not c:3"},
		{"((role:x))", "role:x"},
		{"'public':%(visibility)s", "'public':%(visibility)s"},
		{`"a b":%(x)s or role:y`, `"a b":%(x)s or role:y`},
		{"rule:admin_required or user_id:%(target.user.id)s", "rule:admin_required or user_id:%(target.user.id)s"},
		{"role:admin or role:reader and (project_id:%(project_id)s or project_id:%(member_id)s)",
			"role:admin or (role:reader and (project_id:%(project_id)s or project_id:%(member_id)s))"},
	}
	for _, c := range cases {
		got, err := ParseCheck(c.in)
		if err != nil {
			t.Errorf("ParseCheck(%q): %v", c.in, err)
			continue
		}
		if got.String() != c.want {
			t.Errorf("ParseCheck(%q) = %q, want %q", c.in, got.String(), c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ in, wantErr string }{
		{"(role:a", "missing )"},
		{"role:a)", `unexpected ")"`},
		{"role:a and", "unexpected end"},
		{"or role:a", `unexpected "or"`},
		{"role:a and or role:b", `unexpected "or"`},
		{"()", "empty parentheses"},
		{"admin", "not a check"},
		{"http://example.org/check", "http checks are not supported"},
		{"rule:", "names no rule"},
		{"role:", "names no role"},
		{":x", "empty kind"},
		{"'unterminated:x", "unterminated quote"},
		{"not", "unexpected end"},
		{"role:a role:b", `unexpected "role:b"`},
	}
	for _, c := range cases {
		_, err := ParseCheck(c.in)
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("ParseCheck(%q) error = %v, want containing %q", c.in, err, c.wantErr)
		}
	}
}

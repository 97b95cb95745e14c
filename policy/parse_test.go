package policy

import (
	"reflect"
	"strings"
	"testing"
)

// TestParseStructure checks what each construct parses to. String()
// parenthesises every compound operand, so the rendering shows the tree.
func TestParseStructure(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"empty is always", "", "@"},
		{"blank is always", " \t\n", "@"},
		{"at", "@", "@"},
		{"bang", "!", "!"},
		{"rule", "rule:admin_required", "rule:admin_required"},
		{"role", "role:admin", "role:admin"},
		{"role with colon", "role:compute:admin", "role:compute:admin"},
		{"role from target", "role:%(target.role.name)s", "role:%(target.role.name)s"},
		{"generic substitution", "project_id:%(project_id)s", "project_id:%(project_id)s"},
		{"generic bare literal", "user_id:u1", "user_id:u1"},
		{"generic True", "is_admin:True", "is_admin:True"},
		{"generic quoted right", "domain_id:'default'", "domain_id:'default'"},
		{"literal left single", "'public':%(visibility)s", "'public':%(visibility)s"},
		{"literal left double with space", `"a b":%(x)s or role:y`, `"a b":%(x)s or role:y`},
		{"literal left with colon", "'a:b':%(x)s", "'a:b':%(x)s"},
		{"python literal left", "True:%(enabled)s", "True:%(enabled)s"},
		{"tenant alias", "tenant:%(tenant_id)s", "tenant:%(tenant_id)s"},
		{"surrounding space", "  role:admin  ", "role:admin"},
		{"tabs and newlines", "role:a\tor\n role:b", "role:a or role:b"},
		{"and binds tighter than or", "role:a or role:b and role:c", "role:a or (role:b and role:c)"},
		{"and binds tighter, left", "role:a and role:b or role:c", "(role:a and role:b) or role:c"},
		{"not binds tightest", "not role:a and role:b", "not role:a and role:b"},
		{"not of group", "not (role:a and role:b)", "not (role:a and role:b)"},
		{"double not", "not not role:a", "not not role:a"},
		{"parens override", "(role:a or role:b) and role:c", "(role:a or role:b) and role:c"},
		{"redundant parens", "((role:x))", "role:x"},
		{"parens without spaces", "(role:a)or(role:b)", "role:a or role:b"},
		{"substitution inside parens", "(project_id:%(owner)s)", "project_id:%(owner)s"},
		{"keywords any case", "role:a AND role:b Or NOT role:c", "(role:a and role:b) or not role:c"},
		{"flat chains", "role:a or role:b or role:c", "role:a or role:b or role:c"},
		{"glance get_member", "role:admin or role:reader and (project_id:%(project_id)s or project_id:%(member_id)s)",
			"role:admin or (role:reader and (project_id:%(project_id)s or project_id:%(member_id)s))"},
	}
	for _, c := range cases {
		got, err := ParseCheck(c.in)
		if err != nil {
			t.Errorf("%s: ParseCheck(%q): %v", c.name, c.in, err)
			continue
		}
		if got.String() != c.want {
			t.Errorf("%s: ParseCheck(%q) = %q, want %q", c.name, c.in, got.String(), c.want)
		}
		// What String renders must parse back to the same tree.
		again, err := parse(got.String())
		if err != nil || !reflect.DeepEqual(again, got.(compiled).root) {
			t.Errorf("%s: %q does not round-trip: %#v, %v", c.name, got.String(), again, err)
		}
	}
}

// TestParseNodes pins the node types for the precedence cases, so that a
// String() that happened to print the right thing cannot hide a wrong tree.
func TestParseNodes(t *testing.T) {
	a, b, c := roleNode{"a"}, roleNode{"b"}, roleNode{"c"}
	cases := []struct {
		in   string
		want node
	}{
		{"role:a or role:b and role:c", orNode{a, andNode{b, c}}},
		{"not role:a and role:b", andNode{notNode{a}, b}},
		{"not (role:a and role:b)", notNode{andNode{a, b}}},
		{"(role:a or role:b) and role:c", andNode{orNode{a, b}, c}},
		{"role:a or not role:b or role:c", orNode{a, notNode{b}, c}},
		{"rule:x", ruleNode{"x"}},
		{"project_id:%(owner)s", genericNode{kind: "project_id", match: "%(owner)s"}},
	}
	for _, tc := range cases {
		got, err := parse(tc.in)
		if err != nil {
			t.Errorf("parse(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parse(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ name, in, wantErr string }{
		{"unclosed paren", "(role:a", `unbalanced parentheses: "(" at column 1 is not closed`},
		{"unclosed nested paren", "role:x or ((role:a) and role:b", `"(" at column 11 is not closed`},
		{"extra close paren", "role:a)", `unexpected token ")" at column 7`},
		{"close paren first", ")role:a", `unexpected token ")" at column 1`},
		{"dangling and", "role:a and", `unexpected end of check string after "and" at column 8`},
		{"dangling or", "role:a or ", `unexpected end of check string after "or"`},
		{"dangling not", "not", `unexpected end of check string after "not"`},
		{"leading or", "or role:a", `unexpected token "or" at column 1`},
		{"double operator", "role:a and or role:b", `unexpected token "or" at column 12`},
		{"two checks without operator", "role:a role:b", `unexpected token "role:b" at column 8 (missing "and" or "or"?)`},
		{"empty parens", "()", "empty parentheses at column 1"},
		{"empty parens with space", "role:a and ( )", "empty parentheses at column 12"},
		{"no colon", "admin", `"admin" is not a check`},
		{"http check", "http://example.org/check", "http and https checks are not supported"},
		{"https check", "https:%(url)s", "http and https checks are not supported"},
		{"rule without name", "rule:", "names no rule"},
		{"role without name", "role:", "names no role"},
		{"nothing left of colon", ":x", "nothing left of the colon"},
		{"unterminated quote", "'unterminated:x", "unterminated quote at column 1"},
		{"unterminated substitution", "project_id:%(owner", "unterminated %( at column 12"},
		{"substitution missing s", "project_id:%(owner) or role:a", "unterminated %("},
	}
	for _, c := range cases {
		_, err := ParseCheck(c.in)
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: ParseCheck(%q) error = %v, want containing %q", c.name, c.in, err, c.wantErr)
		}
	}
}

// TestForeignCredentialsNeverMatch: checks on credentials this service never
// issues (system scope, Keystone's token.* paths) load, and never match.
func TestForeignCredentialsNeverMatch(t *testing.T) {
	e, err := NewEnforcer("", []Rule{
		{Name: "sys", Check: "role:admin and system_scope:all"},
		{Name: "tok", Check: "token.project.domain.id:%(target.domain.id)s"},
		{Name: "either", Check: "system_scope:all or role:member"},
	})
	if err != nil {
		t.Fatalf("policies naming foreign credentials must load: %v", err)
	}
	admin := Credentials{ProjectID: "p", Roles: []string{"admin", "member"}}
	if e.Enforce("sys", nil, admin) || e.Enforce("tok", Target{"target.domain.id": "d"}, admin) {
		t.Fatal("a foreign credential matched")
	}
	if !e.Enforce("either", nil, admin) {
		t.Fatal("the other branch of an or must still count")
	}
}

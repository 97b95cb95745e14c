// Package policy implements the oslo.policy rule language and an enforcer with
// Glance's and Nova's default rules, so that an operator's existing
// policy.yaml (or policy.json) for those services keeps its meaning here.
//
// A policy is a map from rule names to check strings such as
//
//	role:admin or (role:reader and project_id:%(project_id)s)
//
// Check strings are parsed once, when the defaults and the policy file are
// loaded; a file that does not parse is rejected with its file name and line,
// and a running enforcer keeps its previous rules rather than serving a
// half-understood policy.
package policy

import (
	"slices"
	"strings"
)

// Credentials describe the authenticated caller, as a Keystone token shows it.
type Credentials struct {
	UserID, UserDomainID       string
	ProjectID, ProjectDomainID string
	DomainID                   string   // for domain-scoped tokens
	Roles                      []string // role names, implied roles included
	// IsAdmin is what `is_admin:True` tests. When it is false the enforcer
	// sets it, for the duration of one decision, from the rule
	// context_is_admin, as Glance and Nova do when they build a request
	// context.
	IsAdmin bool
}

// Target is the object acted on, as flat string keys: "owner", "project_id",
// "visibility", "member_id", "target.user.id", ... A %(key)s in a check
// string reads the key from here; a missing key makes that check fail.
type Target map[string]string

// Check is one parsed check string.
type Check interface {
	// Eval reports whether creds may act on target under this check alone,
	// the way Enforce decides for a named rule: rule: references resolve
	// in e's current rules (e may be nil: then every rule: reference
	// fails) and IsAdmin is derived from e's context_is_admin.
	Eval(target Target, creds Credentials, e *Enforcer) bool
	// String renders the check in the rule language, with parentheses
	// wherever precedence needs them, so that it parses back to the same
	// check.
	String() string
}

// node is one element of a parsed check. Evaluation goes through *evalState
// so that a rule: chain can see which rules are already being evaluated.
type node interface {
	eval(s *evalState) bool
	String() string
}

// evalState is what one decision carries down the check tree.
type evalState struct {
	target Target
	creds  *Credentials
	rules  map[string]node
	// active holds the rules being evaluated, outermost first. Loading
	// rejects rule: cycles, so a repeat here means a bug, not a policy;
	// it still must not recurse forever.
	active []string
	// looped records that a cycle was cut. The whole decision is then a
	// denial: returning false only at the cycle could turn into true
	// under a "not".
	looped bool
	// adminKnown is set once creds.IsAdmin has been derived.
	adminKnown bool
}

// compiled is what ParseCheck returns: a node with the exported Check methods.
type compiled struct{ root node }

func (c compiled) String() string { return c.root.String() }

func (c compiled) Eval(target Target, creds Credentials, e *Enforcer) bool {
	var rules map[string]node
	if e != nil {
		rules = e.current().nodes
	}
	return decide(c.root, "", rules, target, creds)
}

// decide evaluates root, the check of rule name ("" for an anonymous
// check), for creds on target.
func decide(root node, name string, rules map[string]node, target Target, creds Credentials) bool {
	s := &evalState{target: target, creds: &creds, rules: rules}
	if name != "" {
		s.active = append(s.active, name)
	}
	ok := root.eval(s)
	return ok && !s.looped
}

// isAdmin is creds.IsAdmin, derived from context_is_admin when the caller
// left it false. It is worked out the first time an is_admin: check asks,
// not for every decision: most rules never ask.
func (s *evalState) isAdmin() bool {
	if s.creds.IsAdmin || s.adminKnown {
		return s.creds.IsAdmin
	}
	s.adminKnown = true
	adm, ok := s.rules[adminRule]
	if !ok {
		return false
	}
	// Evaluated with IsAdmin false and known, so that an is_admin: check
	// inside context_is_admin does not recurse.
	sub := &evalState{target: credsTarget(*s.creds), creds: s.creds, rules: s.rules,
		active: []string{adminRule}, adminKnown: true}
	s.creds.IsAdmin = adm.eval(sub) && !sub.looped
	return s.creds.IsAdmin
}

// adminRule decides what `is_admin:True` means.
const adminRule = "context_is_admin"

// credsTarget is the target context_is_admin is evaluated against. Glance
// and Nova check it against the caller's own identity rather than the object
// of the request, so `role:admin and project_id:%(project_id)s` there means
// "admin in the project of the token".
func credsTarget(c Credentials) Target {
	return Target{
		"project_id": c.ProjectID, "user_id": c.UserID, "domain_id": c.DomainID,
		"project_domain_id": c.ProjectDomainID, "user_domain_id": c.UserDomainID,
	}
}

type trueNode struct{}

func (trueNode) eval(*evalState) bool { return true }
func (trueNode) String() string       { return "@" }

type falseNode struct{}

func (falseNode) eval(*evalState) bool { return false }
func (falseNode) String() string       { return "!" }

type andNode []node

func (a andNode) eval(s *evalState) bool {
	for _, n := range a {
		if !n.eval(s) {
			return false
		}
	}
	return true
}

func (a andNode) String() string { return join(a, " and ") }

type orNode []node

func (o orNode) eval(s *evalState) bool {
	for _, n := range o {
		if n.eval(s) {
			return true
		}
	}
	return false
}

func (o orNode) String() string { return join(o, " or ") }

// join renders operands, parenthesising compound ones: "a or b and c" is
// rendered "a or (b and c)" so the structure is visible in tests and in
// Rules-style debugging output.
func join(ns []node, sep string) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = group(n)
	}
	return strings.Join(parts, sep)
}

func group(n node) string {
	switch n.(type) {
	case andNode, orNode:
		return "(" + n.String() + ")"
	}
	return n.String()
}

type notNode struct{ inner node }

func (n notNode) eval(s *evalState) bool { return !n.inner.eval(s) }
func (n notNode) String() string         { return "not " + group(n.inner) }

// ruleNode is `rule:NAME`: the named rule's verdict. An unknown rule fails
// (oslo.policy would try the default rule; failing is the safer reading of a
// typo in a rule name).
type ruleNode struct{ name string }

func (r ruleNode) eval(s *evalState) bool {
	n, ok := s.rules[r.name]
	if !ok {
		return false
	}
	if slices.Contains(s.active, r.name) {
		s.looped = true
		return false
	}
	s.active = append(s.active, r.name)
	defer func() { s.active = s.active[:len(s.active)-1] }()
	return n.eval(s)
}

func (r ruleNode) String() string { return "rule:" + r.name }

// roleNode is `role:NAME`: role names compare case-insensitively, as
// Keystone treats them; NAME may substitute from the target.
type roleNode struct{ match string }

func (r roleNode) eval(s *evalState) bool {
	want, ok := substitute(r.match, s.target)
	if !ok {
		return false
	}
	for _, have := range s.creds.Roles {
		if strings.EqualFold(have, want) {
			return true
		}
	}
	return false
}

func (r roleNode) String() string { return "role:" + r.match }

// genericNode is `key:value`. The right side is a literal or substitutes
// from the target (`%(owner)s`); the left side names a credential, or is a
// literal itself (`'public':%(visibility)s`), compared as text.
type genericNode struct {
	kind, match string
	literal     *string // set when the left side is a literal
}

func (g genericNode) eval(s *evalState) bool {
	// As in oslo.policy, the right side is compared as it stands after
	// substitution: quotes there are part of the value (a target value
	// that happens to be quoted must not match the bare name).
	want, ok := substitute(g.match, s.target)
	if !ok {
		return false
	}
	if g.kind == "is_admin" {
		s.isAdmin()
	}
	if g.literal != nil {
		return *g.literal == want
	}
	return slices.Contains(credentialValues(g.kind, s.creds), want)
}

func (g genericNode) String() string { return g.kind + ":" + g.match }

// credentialValues returns the caller's values for a credential key. An
// empty ID is no value at all: an unscoped token must not match a target
// whose project_id happens to be empty.
func credentialValues(key string, c *Credentials) []string {
	one := func(v string) []string {
		if v == "" {
			return nil
		}
		return []string{v}
	}
	switch key {
	case "user_id":
		return one(c.UserID)
	case "user_domain_id":
		return one(c.UserDomainID)
	case "project_id", "tenant", "tenant_id":
		return one(c.ProjectID)
	case "project_domain_id":
		return one(c.ProjectDomainID)
	case "domain_id":
		return one(c.DomainID)
	case "roles":
		return c.Roles
	case "is_admin":
		// Python's str(True), which is what oslo.policy compares.
		if c.IsAdmin {
			return []string{"True"}
		}
		return []string{"False"}
	}
	return nil
}

// substitute expands each %(name)s from the target. A missing key fails the
// check, as a KeyError does in oslo.policy.
func substitute(s string, t Target) (string, bool) {
	if !strings.Contains(s, "%(") {
		return s, true
	}
	// The common case, the whole value substituted, needs no copying.
	if strings.HasPrefix(s, "%(") && strings.Index(s, ")s") == len(s)-2 {
		v, ok := t[s[2:len(s)-2]]
		return v, ok
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "%(")
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		j := strings.Index(s[i:], ")s")
		if j < 0 { // the parser rejects this; keep it literal regardless
			b.WriteString(s)
			return b.String(), true
		}
		v, ok := t[s[i+2:i+j]]
		if !ok {
			return "", false
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+j+2:]
	}
}

// quoted reports whether s is a quoted string and returns its content.
func quoted(s string) (string, bool) {
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1], true
	}
	return s, false
}

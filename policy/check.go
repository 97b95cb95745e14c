// Package policy implements the oslo.policy rule language and an enforcer
// with Glance's, Nova's and Keystone's default rules, so that operators'
// existing policy.yaml files keep working.
package policy

import (
	"strings"
)

// Credentials describe the authenticated caller, as a Keystone token shows it.
type Credentials struct {
	UserID, UserDomainID       string
	ProjectID, ProjectDomainID string
	DomainID                   string   // domain-scoped tokens
	Roles                      []string // role names, implied roles included
	// IsAdmin is what `is_admin:True` tests. The enforcer sets it from the
	// rule context_is_admin when the caller has not set it.
	IsAdmin bool
}

// Target is the object acted on, as flat keys: "owner", "project_id",
// "visibility", "member_id", "target.user.id", ...
type Target map[string]string

// Check is one parsed check string.
type Check interface {
	// eval reports whether the check passes; rules resolves rule: references.
	eval(t Target, c *Credentials, rules *ruleSet, depth int) bool
	// String renders the check back in the rule language.
	String() string
}

// maxDepth stops runaway rule: chains (load-time cycle detection makes this a
// last line of defence).
const maxDepth = 64

type trueCheck struct{}

func (trueCheck) eval(Target, *Credentials, *ruleSet, int) bool { return true }
func (trueCheck) String() string                                { return "@" }

type falseCheck struct{}

func (falseCheck) eval(Target, *Credentials, *ruleSet, int) bool { return false }
func (falseCheck) String() string                                { return "!" }

type andCheck []Check

func (a andCheck) eval(t Target, c *Credentials, rs *ruleSet, d int) bool {
	for _, ch := range a {
		if !ch.eval(t, c, rs, d) {
			return false
		}
	}
	return true
}

func (a andCheck) String() string { return join([]Check(a), " and ") }

type orCheck []Check

func (o orCheck) eval(t Target, c *Credentials, rs *ruleSet, d int) bool {
	for _, ch := range o {
		if ch.eval(t, c, rs, d) {
			return true
		}
	}
	return false
}

func (o orCheck) String() string { return join([]Check(o), " or ") }

func join(cs []Check, sep string) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.String()
		if _, compound := c.(orCheck); compound {
			parts[i] = "(" + parts[i] + ")"
		} else if _, compound := c.(andCheck); compound {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, sep)
}

type notCheck struct{ inner Check }

func (n notCheck) eval(t Target, c *Credentials, rs *ruleSet, d int) bool {
	return !n.inner.eval(t, c, rs, d)
}

func (n notCheck) String() string { return "not " + join([]Check{n.inner}, "") }

// ruleCheck is `rule:NAME`: the named rule's verdict; an unknown rule fails.
type ruleCheck struct{ name string }

func (r ruleCheck) eval(t Target, c *Credentials, rs *ruleSet, d int) bool {
	if d >= maxDepth {
		return false
	}
	ch, ok := rs.checks[r.name]
	return ok && ch.eval(t, c, rs, d+1)
}

func (r ruleCheck) String() string { return "rule:" + r.name }

// roleCheck is `role:NAME`, case-insensitive; NAME may substitute from the target.
type roleCheck struct{ match string }

func (r roleCheck) eval(t Target, c *Credentials, _ *ruleSet, _ int) bool {
	want, ok := substitute(r.match, t)
	if !ok {
		return false
	}
	for _, have := range c.Roles {
		if strings.EqualFold(have, want) {
			return true
		}
	}
	return false
}

func (r roleCheck) String() string { return "role:" + r.match }

// genericCheck is `key:value`. The right side is a literal or substitutes from
// the target (`%(owner)s`); the left side names a credential, or is itself a
// quoted literal (`'public':%(visibility)s`).
type genericCheck struct{ kind, match string }

func (g genericCheck) eval(t Target, c *Credentials, _ *ruleSet, _ int) bool {
	want, ok := substitute(g.match, t)
	if !ok {
		return false
	}
	want = unquote(want)
	if lit, quoted := quotedLiteral(g.kind); quoted {
		return lit == want
	}
	for _, have := range credentialValues(g.kind, c) {
		if have == want {
			return true
		}
	}
	return false
}

func (g genericCheck) String() string { return g.kind + ":" + g.match }

// credentialValues returns the caller's values for a credential key.
func credentialValues(key string, c *Credentials) []string {
	one := func(s string) []string {
		if s == "" {
			return nil
		}
		return []string{s}
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
		if c.IsAdmin {
			return []string{"True"}
		}
		return []string{"False"}
	}
	return nil
}

// substitute expands every %(name)s from the target; a missing key fails.
func substitute(s string, t Target) (string, bool) {
	if !strings.Contains(s, "%(") {
		return s, true
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "%(")
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		j := strings.Index(s[i:], ")s")
		if j < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		name := s[i+2 : i+j]
		v, ok := t[name]
		if !ok {
			return "", false
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+j+2:]
	}
}

// quotedLiteral reports whether s is a quoted string and returns its content.
func quotedLiteral(s string) (string, bool) {
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1], true
	}
	return s, false
}

func unquote(s string) string {
	v, _ := quotedLiteral(s)
	return v
}

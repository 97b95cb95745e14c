package policy

import (
	"fmt"
	"strings"
)

// ParseCheck parses one oslo.policy check string.
//
// "" and "@" always pass, "!" never does. Atoms are rule:NAME, role:NAME and
// generic key:value checks; they combine with not (binding tightest), and,
// or (loosest) and parentheses. Keywords are case-insensitive.
//
// oslo.policy logs a check it cannot parse and treats it as a denial; here
// it is an error instead, so that a typo is reported when the file is loaded
// rather than discovered as a mysterious 403. The same goes for things this
// implementation does not support: http: and https: checks (a remote
// service deciding), and left sides that name no credential.
func ParseCheck(s string) (Check, error) {
	n, err := parse(s)
	if err != nil {
		return nil, err
	}
	return compiled{n}, nil
}

func parse(s string) (node, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return trueNode{}, nil
	}
	p := &parser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if t, ok := p.peek(); ok {
		if t.text == ")" {
			return nil, fmt.Errorf("unexpected token %q at column %d (no matching \"(\")", t.text, t.col)
		}
		return nil, fmt.Errorf("unexpected token %q at column %d (missing \"and\" or \"or\"?)", t.text, t.col)
	}
	return n, nil
}

// token is one word of a check string; col is its 1-based column, for errors.
type token struct {
	text string
	col  int
}

// tokenize splits at white space and parentheses. Quoted spans stay whole,
// so that 'a b':%(x)s is one token, and so do %(name)s substitutions, whose
// parentheses are not grouping.
func tokenize(s string) ([]token, error) {
	var toks []token
	var cur strings.Builder
	start := 0
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, token{cur.String(), start + 1})
			cur.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if cur.Len() == 0 {
			start = i
		}
		switch {
		case ch == '\'' || ch == '"':
			end := strings.IndexByte(s[i+1:], ch)
			if end < 0 {
				return nil, fmt.Errorf("unterminated quote at column %d", i+1)
			}
			cur.WriteString(s[i : i+end+2])
			i += end + 1
		case ch == '%' && i+1 < len(s) && s[i+1] == '(':
			end := strings.Index(s[i:], ")s")
			if end < 0 {
				return nil, fmt.Errorf("unterminated %%( at column %d (want %%(name)s)", i+1)
			}
			cur.WriteString(s[i : i+end+2])
			i += end + 1
		case ch == '(' || ch == ')':
			flush()
			toks = append(toks, token{string(ch), i + 1})
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			flush()
		default:
			cur.WriteByte(ch)
		}
	}
	flush()
	return toks, nil
}

// parser is a recursive-descent parser over the grammar
//
//	or   = and { "or" and }
//	and  = not { "and" not }
//	not  = "not" not | atom
//	atom = "(" or ")" | check
type parser struct {
	toks []token
	pos  int
	last token // the token consumed most recently, for "after ..." errors
}

func (p *parser) peek() (token, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return token{}, false
}

// keyword consumes the next token when it is kw, in any case.
func (p *parser) keyword(kw string) bool {
	if t, ok := p.peek(); ok && strings.EqualFold(t.text, kw) {
		p.last = t
		p.pos++
		return true
	}
	return false
}

func (p *parser) or() (node, error) {
	var alts orNode
	for {
		n, err := p.and()
		if err != nil {
			return nil, err
		}
		alts = append(alts, n)
		if !p.keyword("or") {
			break
		}
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return alts, nil
}

func (p *parser) and() (node, error) {
	var all andNode
	for {
		n, err := p.not()
		if err != nil {
			return nil, err
		}
		all = append(all, n)
		if !p.keyword("and") {
			break
		}
	}
	if len(all) == 1 {
		return all[0], nil
	}
	return all, nil
}

func (p *parser) not() (node, error) {
	if p.keyword("not") {
		inner, err := p.not()
		if err != nil {
			return nil, err
		}
		return notNode{inner}, nil
	}
	return p.atom()
}

func (p *parser) atom() (node, error) {
	t, ok := p.peek()
	if !ok {
		if p.last.text != "" {
			return nil, fmt.Errorf("unexpected end of check string after %q at column %d", p.last.text, p.last.col)
		}
		return nil, fmt.Errorf("unexpected end of check string")
	}
	p.pos++
	p.last = t
	switch {
	case t.text == "(":
		if next, ok := p.peek(); ok && next.text == ")" {
			return nil, fmt.Errorf("empty parentheses at column %d", t.col)
		}
		inner, err := p.or()
		if err != nil {
			return nil, err
		}
		if next, ok := p.peek(); !ok || next.text != ")" {
			return nil, fmt.Errorf("unbalanced parentheses: \"(\" at column %d is not closed", t.col)
		}
		p.last = p.toks[p.pos]
		p.pos++
		return inner, nil
	case t.text == ")", isKeyword(t.text):
		return nil, fmt.Errorf("unexpected token %q at column %d", t.text, t.col)
	}
	n, err := parseAtom(t.text)
	if err != nil {
		return nil, fmt.Errorf("column %d: %w", t.col, err)
	}
	return n, nil
}

func isKeyword(s string) bool {
	return strings.EqualFold(s, "and") || strings.EqualFold(s, "or") || strings.EqualFold(s, "not")
}

// parseAtom turns one token into a check.
func parseAtom(tok string) (node, error) {
	switch tok {
	case "@":
		return trueNode{}, nil
	case "!":
		return falseNode{}, nil
	}
	kind, match, ok := cutKind(tok)
	if !ok {
		return nil, fmt.Errorf("%q is not a check (want kind:value, @ or !)", tok)
	}
	if strings.Contains(match, "%(") && !strings.Contains(match, ")s") {
		return nil, fmt.Errorf("%q: unterminated %%( (want %%(name)s)", tok)
	}
	switch lk := strings.ToLower(kind); {
	case lk == "rule":
		if match == "" {
			return nil, fmt.Errorf("%q names no rule", tok)
		}
		return ruleNode{name: match}, nil
	case lk == "role":
		if match == "" {
			return nil, fmt.Errorf("%q names no role", tok)
		}
		return roleNode{match: match}, nil
	case lk == "http" || lk == "https":
		return nil, fmt.Errorf("%q: http and https checks are not supported", tok)
	case kind == "":
		return nil, fmt.Errorf("%q has nothing left of the colon", tok)
	}
	if lit, ok := quoted(kind); ok {
		return genericNode{kind: kind, match: match, literal: &lit}, nil
	}
	if kind == "True" || kind == "False" {
		// oslo.policy evaluates a Python literal on the left, as in
		// True:%(user.enabled)s.
		return genericNode{kind: kind, match: match, literal: &kind}, nil
	}
	// A credential this service never issues (system_scope: tokens here are
	// project- or domain-scoped; token.* paths of Keystone's own files) never
	// matches, as in oslo.policy, so operators' existing files still load.
	return genericNode{kind: kind, match: match}, nil
}

// cutKind splits at the first colon, looking past a quoted literal on the
// left so that 'a:b':%(x)s splits after the closing quote.
func cutKind(tok string) (kind, match string, ok bool) {
	start := 0
	if len(tok) > 0 && (tok[0] == '\'' || tok[0] == '"') {
		if end := strings.IndexByte(tok[1:], tok[0]); end >= 0 {
			start = end + 2
		}
	}
	i := strings.IndexByte(tok[start:], ':')
	if i < 0 {
		return "", "", false
	}
	return tok[:start+i], tok[start+i+1:], true
}

package policy

import (
	"fmt"
	"strings"
	"unicode"
)

// ParseCheck parses one oslo.policy check string. "" and "@" always pass, "!"
// never does; checks combine with not > and > or, and parentheses.
func ParseCheck(s string) (Check, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return trueCheck{}, nil
	}
	p := &parser{toks: toks}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	return c, nil
}

// tokenize splits on white space and parentheses, keeping quoted spans whole.
func tokenize(s string) ([]string, error) {
	var toks []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, cur.String())
			cur.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\'' || ch == '"':
			end := strings.IndexByte(s[i+1:], ch)
			if end < 0 {
				return nil, fmt.Errorf("unterminated quote in %q", s)
			}
			cur.WriteString(s[i : i+end+2])
			i += end + 1
		case ch == '%' && i+1 < len(s) && s[i+1] == '(':
			// %(name)s substitution: its parentheses are not grouping.
			end := strings.IndexByte(s[i:], ')')
			if end < 0 {
				return nil, fmt.Errorf("unterminated %%( in %q", s)
			}
			cur.WriteString(s[i : i+end+1])
			i += end
		case ch == '(' || ch == ')':
			flush()
			toks = append(toks, string(ch))
		case unicode.IsSpace(rune(ch)):
			flush()
		default:
			cur.WriteByte(ch)
		}
	}
	flush()
	return toks, nil
}

type parser struct {
	toks []string
	pos  int
}

func (p *parser) peekKeyword(kw string) bool {
	return p.pos < len(p.toks) && strings.EqualFold(p.toks[p.pos], kw)
}

func (p *parser) or() (Check, error) {
	first, err := p.and()
	if err != nil {
		return nil, err
	}
	alts := []Check{first}
	for p.peekKeyword("or") {
		p.pos++
		next, err := p.and()
		if err != nil {
			return nil, err
		}
		alts = append(alts, next)
	}
	if len(alts) == 1 {
		return first, nil
	}
	return orCheck(alts), nil
}

func (p *parser) and() (Check, error) {
	first, err := p.not()
	if err != nil {
		return nil, err
	}
	all := []Check{first}
	for p.peekKeyword("and") {
		p.pos++
		next, err := p.not()
		if err != nil {
			return nil, err
		}
		all = append(all, next)
	}
	if len(all) == 1 {
		return first, nil
	}
	return andCheck(all), nil
}

func (p *parser) not() (Check, error) {
	if p.peekKeyword("not") {
		p.pos++
		inner, err := p.not()
		if err != nil {
			return nil, err
		}
		return notCheck{inner}, nil
	}
	return p.atom()
}

func (p *parser) atom() (Check, error) {
	if p.pos >= len(p.toks) {
		return nil, fmt.Errorf("unexpected end of rule")
	}
	tok := p.toks[p.pos]
	p.pos++
	switch {
	case tok == "(":
		if p.pos < len(p.toks) && p.toks[p.pos] == ")" {
			return nil, fmt.Errorf("empty parentheses")
		}
		inner, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos] != ")" {
			return nil, fmt.Errorf("missing )")
		}
		p.pos++
		return inner, nil
	case tok == ")":
		return nil, fmt.Errorf("unexpected %q", tok)
	case strings.EqualFold(tok, "and"), strings.EqualFold(tok, "or"):
		return nil, fmt.Errorf("unexpected %q", tok)
	}
	return parseAtom(tok)
}

// parseAtom turns one token into a check.
func parseAtom(tok string) (Check, error) {
	switch tok {
	case "@":
		return trueCheck{}, nil
	case "!":
		return falseCheck{}, nil
	}
	kind, match, ok := cutColon(tok)
	if !ok {
		return nil, fmt.Errorf("%q is not a check (want kind:match, @ or !)", tok)
	}
	switch {
	case kind == "rule":
		if match == "" {
			return nil, fmt.Errorf("%q names no rule", tok)
		}
		return ruleCheck{name: match}, nil
	case kind == "role":
		if match == "" {
			return nil, fmt.Errorf("%q names no role", tok)
		}
		return roleCheck{match: match}, nil
	case kind == "http" || kind == "https":
		return nil, fmt.Errorf("%q: http checks are not supported", tok)
	case kind == "":
		return nil, fmt.Errorf("%q has an empty kind", tok)
	}
	return genericCheck{kind: kind, match: match}, nil
}

// cutColon splits at the first colon outside a leading quoted literal.
func cutColon(tok string) (string, string, bool) {
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

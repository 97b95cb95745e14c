package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ruleSet is a complete, parsed policy. It is never modified once built;
// a reload builds a new one.
type ruleSet struct {
	nodes  map[string]node
	source map[string]string // check strings as written, for Rules
}

// mergeRules flattens lists of defaults. A later definition of a name
// replaces an earlier one in place, so the order of first appearance (which
// the sample file shows) is kept.
func mergeRules(sets [][]Rule) []Rule {
	var out []Rule
	at := map[string]int{}
	for _, set := range sets {
		for _, r := range set {
			if i, ok := at[r.Name]; ok {
				out[i] = r
				continue
			}
			at[r.Name] = len(out)
			out = append(out, r)
		}
	}
	return out
}

// fileRule is one rule as read from a policy file.
type fileRule struct {
	name, check string
	line        int
}

// build parses the defaults and the file's rules into a rule set.
func build(defaults []Rule, path string, data []byte) (*ruleSet, error) {
	rs := &ruleSet{nodes: map[string]node{}, source: map[string]string{}}
	for _, r := range defaults {
		n, err := parse(r.Check)
		if err != nil {
			return nil, fmt.Errorf("built-in rule %q: %w", r.Name, err)
		}
		rs.nodes[r.Name], rs.source[r.Name] = n, r.Check
	}
	rules, err := decodeFile(path, data)
	if err != nil {
		return nil, err
	}
	lines := map[string]int{}
	for _, fr := range rules {
		n, err := parse(fr.check)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: rule %q: %w", path, fr.line, fr.name, err)
		}
		rs.nodes[fr.name], rs.source[fr.name] = n, fr.check
		lines[fr.name] = fr.line
	}
	if err := rs.checkCycles(path, lines); err != nil {
		return nil, err
	}
	return rs, nil
}

// decodeFile reads a policy file: a mapping from rule names to check
// strings. A name ending in .json is read as strict JSON, for exact error
// positions; anything else as YAML, which also reads JSON.
func decodeFile(path string, data []byte) ([]fileRule, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	if strings.HasSuffix(strings.ToLower(path), ".json") {
		return decodeJSON(path, data)
	}
	return decodeYAML(path, data)
}

const notMapping = "a policy file must map rule names to check strings"

// listOfLists is the hint for the pre-2013 oslo.policy format.
const listOfLists = " (the old list-of-lists format is not supported; write each rule as one check string)"

func decodeYAML(path string, data []byte) ([]fileRule, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(path, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil // comments only
	}
	m := doc.Content[0]
	switch {
	case m.Kind == yaml.ScalarNode && m.Tag == "!!null":
		return nil, nil
	case m.Kind == yaml.SequenceNode:
		return nil, fmt.Errorf("%s:%d: %s%s", path, m.Line, notMapping, listOfLists)
	case m.Kind != yaml.MappingNode:
		return nil, fmt.Errorf("%s:%d: %s", path, m.Line, notMapping)
	}
	var out []fileRule
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			return nil, fmt.Errorf("%s:%d: a rule name must be a non-empty string", path, k.Line)
		}
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		bad := ""
		switch {
		case v.Kind == yaml.SequenceNode:
			bad = "a list" + listOfLists
		case v.Kind != yaml.ScalarNode:
			bad = "a mapping"
		case v.Tag == "!!null":
			// An unquoted ! is a YAML tag and parses as null too.
			bad = `empty (write "" for always allowed, and quote "!" and "@")`
		case v.Tag != "!!str":
			bad = fmt.Sprintf("%s %s (quote it)", strings.TrimPrefix(v.Tag, "!!"), v.Value)
		}
		if bad != "" {
			return nil, fmt.Errorf("%s:%d: rule %q: value must be a check string, not %s", path, k.Line, k.Value, bad)
		}
		if first, dup := seen[k.Value]; dup {
			return nil, fmt.Errorf("%s:%d: rule %q is defined twice (first on line %d)", path, k.Line, k.Value, first)
		}
		seen[k.Value] = k.Line
		out = append(out, fileRule{k.Value, v.Value, k.Line})
	}
	return out, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlError rewrites "yaml: line N: msg" as "path:N: msg". yaml.v3 leaves
// the line out when the error is on the first line.
func yamlError(path string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: %s", path, m[1], msg[len(m[0]):])
	}
	return fmt.Errorf("%s:1: %s", path, strings.TrimPrefix(msg, "yaml: "))
}

// jsonDoc is a JSON policy file read rule by rule, so that every error
// names the line of the rule it is about.
type jsonDoc struct {
	path string
	data []byte
	dec  *json.Decoder
}

// lineAt is the line of byte offset off.
func (d *jsonDoc) lineAt(off int64) int {
	off = min(max(off, 0), int64(len(d.data)))
	return 1 + bytes.Count(d.data[:off], []byte("\n"))
}

// next is the offset of the next token, past separators, so that a rule's
// line is that of its name rather than of the comma before it.
func (d *jsonDoc) next() int64 {
	off := d.dec.InputOffset()
	for off < int64(len(d.data)) && strings.IndexByte(" \t\r\n,:", d.data[off]) >= 0 {
		off++
	}
	return off
}

func decodeJSON(path string, data []byte) ([]fileRule, error) {
	d := &jsonDoc{path: path, data: data}
	// Syntax first, with Unmarshal: its error offsets consistently count
	// the offending byte (the streaming decoder's do not).
	var whole any
	if err := json.Unmarshal(data, &whole); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%s:%d: %v", path, d.lineAt(se.Offset-1), err)
		}
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if whole == nil {
		return nil, nil // null: no rules
	}
	// Then the rules, streaming, to learn the line of each name.
	d.dec = json.NewDecoder(bytes.NewReader(data))
	start := d.next()
	tok, err := d.dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		hint := ""
		if delim == '[' {
			hint = listOfLists
		}
		return nil, fmt.Errorf("%s:%d: %s%s", path, d.lineAt(start), notMapping, hint)
	}
	var out []fileRule
	seen := map[string]int{}
	for d.dec.More() {
		r, err := d.rule(seen)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// rule reads the next rule of the object; seen holds the line of every
// rule name read so far.
func (d *jsonDoc) rule(seen map[string]int) (fileRule, error) {
	line := d.lineAt(d.next())
	key, err := d.dec.Token()
	if err != nil {
		return fileRule{}, fmt.Errorf("%s:%d: %v", d.path, line, err)
	}
	name := key.(string) // inside an object, Token returns keys as strings
	// Decode, not Token: it consumes a whole list or object value.
	var v any
	if err := d.dec.Decode(&v); err != nil {
		return fileRule{}, fmt.Errorf("%s:%d: %v", d.path, line, err)
	}
	check, isString := v.(string)
	if !isString {
		return fileRule{}, fmt.Errorf("%s:%d: rule %q: value must be a check string, not %s", d.path, line, name, notACheck(v))
	}
	if name == "" {
		return fileRule{}, fmt.Errorf("%s:%d: a rule name must be a non-empty string", d.path, line)
	}
	if first, dup := seen[name]; dup {
		return fileRule{}, fmt.Errorf("%s:%d: rule %q is defined twice (first on line %d)", d.path, line, name, first)
	}
	seen[name] = line
	return fileRule{name, check, line}, nil
}

// notACheck describes a JSON rule value that is not a check string.
func notACheck(v any) string {
	switch v.(type) {
	case []any:
		return "a list" + listOfLists
	case map[string]any:
		return "an object"
	case nil:
		return `null (write "" for always allowed)`
	}
	return fmt.Sprintf("%v (quote it)", v)
}

// checkCycles rejects rules that refer back to themselves through rule:
// chains. Evaluation would cut such a loop anyway, but a loop is always a
// mistake and is best reported where it was written.
func (rs *ruleSet) checkCycles(path string, lines map[string]int) error {
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(name string) error
	visit = func(name string) error {
		switch state[name] {
		case active:
			cycle := slices.Clone(stack[slices.Index(stack, name):])
			return cycleError(path, lines, cycle)
		case done:
			return nil
		}
		state[name] = active
		stack = append(stack, name)
		for _, ref := range ruleRefs(rs.nodes[name], nil) {
			if _, ok := rs.nodes[ref]; ok {
				if err := visit(ref); err != nil {
					return err
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = done
		return nil
	}
	names := make([]string, 0, len(rs.nodes))
	for n := range rs.nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := visit(n); err != nil {
			return err
		}
	}
	return nil
}

// cycleError reports a cycle at the first of its rules written in the file
// (the built-in rules are tested to have none), starting the chain there.
func cycleError(path string, lines map[string]int, cycle []string) error {
	at, where := 0, "built-in rules"
	best := 0
	for i, name := range cycle {
		if l, ok := lines[name]; ok && (best == 0 || l < best) {
			at, best = i, l
		}
	}
	if best > 0 {
		where = fmt.Sprintf("%s:%d", path, best)
	}
	chain := append(slices.Clone(cycle[at:]), cycle[:at]...)
	chain = append(chain, chain[0])
	return fmt.Errorf("%s: rule %q refers to itself: %s", where, chain[0], strings.Join(chain, " -> "))
}

// ruleRefs appends the rule names n refers to.
func ruleRefs(n node, out []string) []string {
	switch v := n.(type) {
	case ruleNode:
		out = append(out, v.name)
	case notNode:
		out = ruleRefs(v.inner, out)
	case andNode:
		for _, x := range v {
			out = ruleRefs(x, out)
		}
	case orNode:
		for _, x := range v {
			out = ruleRefs(x, out)
		}
	}
	return out
}

// Sample renders rule lists as a policy.yaml in which every rule is
// commented out, with its description above it: operators copy it and
// uncomment what they change. Names defined in several lists appear once,
// with the definition NewEnforcer would use.
func Sample(sets ...[]Rule) []byte {
	var b strings.Builder
	b.WriteString(`# Policy file sample: every built-in rule with its default check string.
#
# Copy this file to policy.yaml and uncomment the rules you want to change;
# rules left out keep their defaults, and new names may be defined for use
# with rule:NAME. Check strings use the oslo.policy language:
#   role:NAME                   the token has role NAME
#   project_id:%(project_id)s   a credential equals a value of the target
#   'public':%(visibility)s     a literal equals a value of the target
#   rule:NAME                   another rule
#   @ or ""  always   !  never  combined with not, and, or and parentheses.
# Generated by: go test ./policy -run TestSample -update
`)
	for _, r := range mergeRules(sets) {
		b.WriteString("\n")
		for _, line := range strings.Split(strings.TrimSpace(r.Description), "\n") {
			b.WriteString(strings.TrimRight("# "+line, " ") + "\n")
		}
		fmt.Fprintf(&b, "#%s: %s\n", strconv.Quote(r.Name), strconv.Quote(r.Check))
	}
	return []byte(b.String())
}

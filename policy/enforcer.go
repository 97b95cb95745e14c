package policy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"
)

// ErrForbidden is returned by Authorize when the policy denies the action.
var ErrForbidden = errors.New("policy does not allow this action")

// Rule is one named default rule.
type Rule struct {
	Name, Check, Description string
}

// ruleSet is an immutable, fully parsed set of rules.
type ruleSet struct {
	checks map[string]Check
	source map[string]string
}

// Enforcer evaluates named rules. It is safe for concurrent use; reloads swap
// the whole rule set atomically.
type Enforcer struct {
	path     string
	defaults []Rule
	rules    atomic.Pointer[ruleSet]
	mu       sync.Mutex // serializes reloads
	lastSum  [32]byte
	loaded   bool // whether a file was read at lastSum
}

// NewEnforcer builds an enforcer from the given defaults (later lists win on
// duplicate names) overlaid by the policy file at path, YAML or JSON. "" or a
// missing file means defaults only. A malformed file is an error naming the
// file and line, e.g. `etc/policy.yaml:12: rule "get_image": unexpected ")"`.
func NewEnforcer(path string, defaults ...[]Rule) (*Enforcer, error) {
	e := &Enforcer{path: path}
	for _, d := range defaults {
		e.defaults = append(e.defaults, d...)
	}
	if err := e.Reload(); err != nil {
		return nil, err
	}
	return e, nil
}

// Reload re-reads the policy file. On error the previous rules stay in force.
func (e *Enforcer) Reload() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reloadLocked(false)
}

func (e *Enforcer) reloadLocked(onlyIfChanged bool) error {
	var data []byte
	present := false
	if e.path != "" {
		b, err := os.ReadFile(e.path)
		switch {
		case err == nil:
			data, present = b, true
		case !errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("policy file %s: %w", e.path, err)
		}
	}
	sum := sha256.Sum256(data)
	if onlyIfChanged && e.rules.Load() != nil && sum == e.lastSum && present == e.loaded {
		return nil
	}
	rs, err := build(e.defaults, e.path, data)
	if err != nil {
		return err
	}
	e.rules.Store(rs)
	e.lastSum, e.loaded = sum, present
	return nil
}

// Watch re-reads the file every interval until ctx ends, applying changes. A
// change that does not parse is logged and ignored: the rules in force stay.
func (e *Enforcer) Watch(ctx context.Context, interval time.Duration, log *slog.Logger) {
	if e.path == "" {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.mu.Lock()
			before := e.rules.Load()
			err := e.reloadLocked(true)
			after := e.rules.Load()
			e.mu.Unlock()
			if err != nil {
				log.Error("policy reload failed; keeping the previous rules", "err", err)
			} else if before != after {
				log.Info("policy reloaded", "file", e.path, "rules", len(after.checks))
			}
		}
	}
}

// build parses defaults and the file (if any) into a rule set.
func build(defaults []Rule, path string, data []byte) (*ruleSet, error) {
	rs := &ruleSet{checks: map[string]Check{}, source: map[string]string{}}
	for _, r := range defaults {
		c, err := ParseCheck(r.Check)
		if err != nil {
			return nil, fmt.Errorf("built-in rule %q: %w", r.Name, err)
		}
		rs.checks[r.Name], rs.source[r.Name] = c, r.Check
	}
	lines := map[string]int{}
	if len(bytes.TrimSpace(data)) > 0 {
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("%s", yamlError(path, err))
		}
		if len(doc.Content) > 0 {
			m := doc.Content[0]
			if m.Kind != yaml.MappingNode {
				if m.Kind == yaml.SequenceNode {
					return nil, fmt.Errorf("%s:%d: policy must be a mapping of rule names to check strings (the old list-of-lists format is not supported)", path, m.Line)
				}
				return nil, fmt.Errorf("%s:%d: policy must be a mapping of rule names to check strings", path, m.Line)
			}
			for i := 0; i+1 < len(m.Content); i += 2 {
				k, v := m.Content[i], m.Content[i+1]
				if v.Kind != yaml.ScalarNode || (v.Tag != "!!str" && v.Tag != "!!null") {
					return nil, fmt.Errorf("%s:%d: rule %q: value must be a check string", path, v.Line, k.Value)
				}
				if v.Tag == "!!null" {
					return nil, fmt.Errorf("%s:%d: rule %q: value must be a check string (use \"\" for always allowed)", path, v.Line, k.Value)
				}
				c, err := ParseCheck(v.Value)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: rule %q: %v", path, k.Line, k.Value, err)
				}
				if prev, dup := lines[k.Value]; dup {
					return nil, fmt.Errorf("%s:%d: rule %q is defined twice (first on line %d)", path, k.Line, k.Value, prev)
				}
				rs.checks[k.Value], rs.source[k.Value] = c, v.Value
				lines[k.Value] = k.Line
			}
		}
	}
	if err := rs.checkCycles(path, lines); err != nil {
		return nil, err
	}
	return rs, nil
}

// checkCycles rejects rules that refer back to themselves through rule: chains.
func (rs *ruleSet) checkCycles(path string, lines map[string]int) error {
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var visit func(name string, chain []string) error
	visit = func(name string, chain []string) error {
		switch state[name] {
		case active:
			where := "built-in rules"
			if l, ok := lines[name]; ok {
				where = fmt.Sprintf("%s:%d", path, l)
			}
			return fmt.Errorf("%s: rule %q refers to itself: %s", where, name, strings.Join(append(chain, name), " -> "))
		case done:
			return nil
		}
		state[name] = active
		for _, ref := range ruleRefs(rs.checks[name]) {
			if _, ok := rs.checks[ref]; ok {
				if err := visit(ref, append(chain, name)); err != nil {
					return err
				}
			}
		}
		state[name] = done
		return nil
	}
	names := make([]string, 0, len(rs.checks))
	for n := range rs.checks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return err
		}
	}
	return nil
}

// ruleRefs lists the rule names a check refers to.
func ruleRefs(c Check) []string {
	switch v := c.(type) {
	case ruleCheck:
		return []string{v.name}
	case notCheck:
		return ruleRefs(v.inner)
	case andCheck:
		var out []string
		for _, x := range v {
			out = append(out, ruleRefs(x)...)
		}
		return out
	case orCheck:
		var out []string
		for _, x := range v {
			out = append(out, ruleRefs(x)...)
		}
		return out
	}
	return nil
}

// Enforce reports whether creds may perform rule on target. An undefined rule
// falls back to the rule "default" when that exists, and is denied otherwise.
func (e *Enforcer) Enforce(rule string, target Target, creds Credentials) bool {
	rs := e.rules.Load()
	if !creds.IsAdmin {
		if adm, ok := rs.checks["context_is_admin"]; ok {
			creds.IsAdmin = adm.eval(target, &creds, rs, 0)
		}
	}
	c, ok := rs.checks[rule]
	if !ok {
		c, ok = rs.checks["default"]
		if !ok {
			return false
		}
	}
	return c.eval(target, &creds, rs, 0)
}

// Authorize is Enforce returning ErrForbidden (wrapped with the rule name) on denial.
func (e *Enforcer) Authorize(rule string, target Target, creds Credentials) error {
	if e.Enforce(rule, target, creds) {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrForbidden, rule)
}

// Rules returns the effective check string of every rule.
func (e *Enforcer) Rules() map[string]string {
	rs := e.rules.Load()
	out := make(map[string]string, len(rs.source))
	for k, v := range rs.source {
		out[k] = v
	}
	return out
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlError rewrites "yaml: line N: msg" as "path:N: msg".
func yamlError(path string, err error) string {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return path + ":" + m[1] + ": " + msg[len(m[0]):]
	}
	return path + ": " + strings.TrimPrefix(msg, "yaml: ")
}

package policy

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"imagestack/common/cluster"
)

// ErrForbidden is returned (wrapped with the rule name) by Authorize when the
// policy denies the action; test for it with errors.Is.
var ErrForbidden = errors.New("policy does not allow this action")

// Rule is one named default: a rule name, its check string, and a one-line
// description for the sample policy file.
type Rule struct {
	Name, Check, Description string
}

// Enforcer evaluates named rules: built-in defaults overlaid by an
// operator's policy file. It is safe for concurrent use. A reload builds a
// complete new rule set and swaps it in atomically, so a decision never sees
// half of an old policy and half of a new one.
type Enforcer struct {
	path     string
	defaults []Rule
	rules    atomic.Pointer[ruleSet]

	mu sync.Mutex // serialises reloads and guards the fields below
	// seen is the file as last read, whether or not it loaded, so that a
	// broken file is reported once, not on every poll.
	seen fileState
	// pending is a changed file state seen by one poll; Watch applies it
	// when the next poll sees the same, so that a file caught half-written
	// is not loaded.
	pending *fileState
	// readErr is the last error reading the file, logged once.
	readErr string
}

// fileState identifies a version of the policy file.
type fileState struct {
	exists  bool
	modTime time.Time
	size    int64
	sum     [sha256.Size]byte
}

// NewEnforcer builds an enforcer from the given default rule lists overlaid
// by the policy file at path, YAML or JSON. Where lists define the same name
// the later list wins, as the file wins over all of them. "" or a missing
// file means defaults only; an empty file is fine too. A malformed file (a
// YAML or JSON syntax error, a value that is not a string, a check string
// that does not parse, a rule: cycle) is an error naming the file and the
// line of the offending rule, e.g.
//
//	etc/policy.yaml:12: rule "get_image": unexpected token ")" at column 18
func NewEnforcer(path string, defaults ...[]Rule) (*Enforcer, error) {
	e := &Enforcer{path: path, defaults: mergeRules(defaults)}
	if err := e.Reload(); err != nil {
		return nil, err
	}
	return e, nil
}

// current returns the rule set in force.
func (e *Enforcer) current() *ruleSet { return e.rules.Load() }

// strictPrefixes name the rules of services whose own enforcers deny a rule
// that is not defined: Nova authorizes only registered rules
// (PolicyNotRegistered), and Keystone defines no "default". Glance's
// permissive "default" must not widen them.
var strictPrefixes = []string{"os_compute_api:", "identity:"}

// fallsBack reports whether an undefined rule name takes the rule "default".
func fallsBack(rule string) bool {
	for _, p := range strictPrefixes {
		if strings.HasPrefix(rule, p) {
			return false
		}
	}
	return true
}

// Enforce reports whether creds may perform rule on target. A rule name that
// is not defined is denied when it is a Nova or Keystone name, and otherwise
// (Glance's) falls back to the rule "default" when there is one. Before evaluating, a caller whose IsAdmin is false gets
// IsAdmin from the rule context_is_admin, so `is_admin:True` means what it
// means in Glance and Nova.
func (e *Enforcer) Enforce(rule string, target Target, creds Credentials) bool {
	rs := e.current()
	n, ok := rs.nodes[rule]
	if !ok {
		if !fallsBack(rule) {
			return false
		}
		if n, ok = rs.nodes["default"]; !ok {
			return false
		}
		rule = "default"
	}
	return decide(n, rule, rs.nodes, target, creds)
}

// Authorize is Enforce returning an error wrapping ErrForbidden, and naming
// the rule, when the action is denied.
func (e *Enforcer) Authorize(rule string, target Target, creds Credentials) error {
	if e.Enforce(rule, target, creds) {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrForbidden, rule)
}

// Rules returns the check string in force for every rule, defaults and file
// together. The map is a copy.
func (e *Enforcer) Rules() map[string]string {
	rs := e.current()
	out := make(map[string]string, len(rs.source))
	for k, v := range rs.source {
		out[k] = v
	}
	return out
}

// Reload re-reads the policy file now. On error the rules in force stay as
// they were: a broken edit never widens (or narrows) access. A file that has
// disappeared means defaults only, as at start-up.
func (e *Enforcer) Reload() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, data, err := e.read()
	if err != nil {
		return err
	}
	e.seen, e.pending = st, nil
	return e.apply(data)
}

// apply builds a rule set from the defaults and data and puts it in force.
func (e *Enforcer) apply(data []byte) error {
	rs, err := build(e.defaults, e.path, data)
	if err != nil {
		return err
	}
	e.rules.Store(rs)
	return nil
}

// read returns the file's state and content; a missing file (or no file
// configured) is a state, not an error.
func (e *Enforcer) read() (fileState, []byte, error) {
	if e.path == "" {
		return fileState{}, nil, nil
	}
	f, err := os.Open(e.path)
	if errors.Is(err, os.ErrNotExist) {
		return fileState{}, nil, nil
	}
	if err != nil {
		return fileState{}, nil, fmt.Errorf("policy file %s: %w", e.path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fileState{}, nil, fmt.Errorf("policy file %s: %w", e.path, err)
	}
	if fi.IsDir() {
		return fileState{}, nil, fmt.Errorf("policy file %s is a directory", e.path)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fileState{}, nil, fmt.Errorf("policy file %s: %w", e.path, err)
	}
	return fileState{exists: true, modTime: fi.ModTime(), size: fi.Size(), sum: sha256.Sum256(data)}, data, nil
}

// Watch polls the policy file every interval (one second if interval is not
// positive) until ctx ends, and reloads it when its modification time, size
// or content changes. The content is compared as well because a quick edit
// can keep the size and, on coarse file systems, the modification time.
//
// A change is applied once two consecutive polls agree on it, so an editor
// or a configuration tool caught mid-write does not get a truncated policy
// loaded. A change that does not load is logged, with its file:line, via
// logger (slog.Default() if nil), once per version of the file; the rules in
// force stay.
func (e *Enforcer) Watch(ctx context.Context, interval time.Duration, logger *slog.Logger) {
	if e.path == "" {
		return
	}
	if interval <= 0 {
		interval = time.Second
	}
	if logger == nil {
		logger = slog.Default()
	}
	cluster.Every(ctx, interval, func(context.Context) { e.poll(logger) })
}

// poll is one Watch step.
func (e *Enforcer) poll(logger *slog.Logger) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, data, err := e.read()
	if err != nil {
		// Unreadable (permissions, say): keep the rules, try again.
		if err.Error() != e.readErr {
			e.readErr = err.Error()
			logger.Error("policy file unreadable; keeping the rules in force", "err", err)
		}
		return
	}
	e.readErr = ""
	if st == e.seen {
		e.pending = nil
		return
	}
	if e.pending == nil || *e.pending != st {
		e.pending = &st // wait for the next poll to see the same
		return
	}
	e.seen, e.pending = st, nil
	if err := e.apply(data); err != nil {
		logger.Error("policy reload failed; keeping the rules in force", "err", err)
		return
	}
	if st.exists {
		logger.Info("policy reloaded", "file", e.path, "rules", len(e.current().nodes))
	} else {
		logger.Warn("policy file removed; using the built-in defaults", "file", e.path)
	}
}

package dataplane

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// Every rule the dataplane adds to the host's firewall carries the comment
// "imagestack dataplane <network id>", which is how Delete finds them.
func tag(id string) []string {
	return []string{"-m", "comment", "--comment", "imagestack dataplane " + id}
}

// bridgedFilters are the host firewalls br_netfilter may send bridged
// frames through, with the sysctl that says whether it does.
var bridgedFilters = []struct{ cmd, sysctl string }{
	{"iptables", "/proc/sys/net/bridge/bridge-nf-call-iptables"},
	{"ip6tables", "/proc/sys/net/bridge/bridge-nf-call-ip6tables"},
}

// allowBridged makes sure the host firewall passes frames crossing the
// bridge. The bridge's own nf_call_* flags are off, but the kernel sends
// frames to iptables when either they or the global sysctl is on, and
// Docker turns the sysctl on and sets FORWARD's policy to DROP. So when
// the sysctl is on, an ACCEPT for frames within the bridge (br_netfilter
// shows the bridge as in and out device) goes first in FORWARD. Without
// br_netfilter (no sysctl) there is nothing to do.
func allowBridged(ctx context.Context, n names) error {
	for _, f := range bridgedFilters {
		on, err := os.ReadFile(f.sysctl)
		if err != nil || strings.TrimSpace(string(on)) != "1" {
			continue
		}
		if _, err := exec.LookPath(f.cmd); err != nil {
			return errors.New("br_netfilter sends bridged frames to " + f.cmd + " but there is no " + f.cmd + " to allow them")
		}
		rule := append([]string{"-i", n.bridge, "-o", n.bridge}, tag(n.id)...)
		if err := ensureRule(ctx, []string{f.cmd}, "filter", "FORWARD", true, append(rule, "-j", "ACCEPT")...); err != nil {
			return err
		}
	}
	return nil
}

// ensureRule adds a rule unless it is there: first in the chain (insert)
// or last.
// cmd is iptables' command line, e.g. {"iptables"} or, for a namespace,
// {"ip", "netns", "exec", ns, "iptables"}.
func ensureRule(ctx context.Context, cmd []string, table, chain string, insert bool, rule ...string) error {
	base := append(slices.Clone(cmd[1:]), "-w", "-t", table)
	if _, err := run(ctx, cmd[0], append(append(base, "-C", chain), rule...)...); err == nil {
		return nil
	}
	op := "-A"
	if insert {
		op = "-I"
	}
	_, err := run(ctx, cmd[0], append(append(base, op, chain), rule...)...)
	return err
}

// deleteTagged removes a network's rules from the host's firewalls.
func deleteTagged(ctx context.Context, id string) error {
	var errs []error
	for _, cmd := range []string{"iptables", "ip6tables"} {
		if _, err := exec.LookPath(cmd); err != nil {
			continue
		}
		for _, table := range []string{"filter", "nat"} {
			errs = append(errs, deleteTaggedIn(ctx, cmd, table, id))
		}
	}
	return errors.Join(errs...)
}

// deleteTaggedIn removes a network's rules from one table.
func deleteTaggedIn(ctx context.Context, cmd, table, id string) error {
	out, err := run(ctx, cmd, "-w", "-t", table, "-S")
	if err != nil {
		return nil // no such table here (e.g. ip6tables without nat)
	}
	mark := `--comment "imagestack dataplane ` + id + `"`
	var errs []error
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "-A ") || !strings.Contains(line, mark) {
			continue
		}
		args := append([]string{"-w", "-t", table, "-D"}, splitRule(line)[1:]...)
		if _, err := run(ctx, cmd, args...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// splitRule splits a line of iptables -S into arguments; double quotes
// group words (as iptables prints comments).
func splitRule(line string) []string {
	var args []string
	var cur strings.Builder
	quoted, started := false, false
	for _, c := range line {
		switch {
		case c == '"':
			quoted, started = !quoted, true
		case c == ' ' && !quoted:
			if started {
				args = append(args, cur.String())
			}
			cur.Reset()
			started = false
		default:
			cur.WriteRune(c)
			started = true
		}
	}
	if started {
		args = append(args, cur.String())
	}
	return args
}

package dataplane

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
)

// bridgedFilters are the host firewalls br_netfilter may send bridged
// frames through, with the sysctl that says whether it does.
var bridgedFilters = []struct{ cmd, sysctl string }{
	{"iptables", "/proc/sys/net/bridge/bridge-nf-call-iptables"},
	{"ip6tables", "/proc/sys/net/bridge/bridge-nf-call-ip6tables"},
}

// forwardRule is the FORWARD rule accepting the frames that cross a
// network's bridge (br_netfilter shows the bridge as in and out device).
func forwardRule(n names) []string {
	return []string{"FORWARD", "-i", n.bridge, "-o", n.bridge,
		"-m", "comment", "--comment", "imagestack dataplane " + n.id, "-j", "ACCEPT"}
}

// allowBridged makes sure the host firewall passes frames crossing the
// bridge. The bridge's own nf_call_* flags are off, but the kernel sends
// frames to iptables when either they or the global sysctl is on, and
// Docker turns the sysctl on and sets FORWARD's policy to DROP. Without
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
		rule := forwardRule(n)
		if _, err := run(ctx, f.cmd, append([]string{"-w", "-C"}, rule...)...); err == nil {
			continue
		}
		if _, err := run(ctx, f.cmd, append([]string{"-w", "-I"}, rule...)...); err != nil {
			return err
		}
	}
	return nil
}

// disallowBridged removes what allowBridged added.
func disallowBridged(ctx context.Context, n names) error {
	var errs []error
	for _, f := range bridgedFilters {
		if _, err := exec.LookPath(f.cmd); err != nil {
			continue
		}
		rule := forwardRule(n)
		for {
			if _, err := run(ctx, f.cmd, append([]string{"-w", "-C"}, rule...)...); err != nil {
				break
			}
			if _, err := run(ctx, f.cmd, append([]string{"-w", "-D"}, rule...)...); err != nil {
				errs = append(errs, err)
				break
			}
		}
	}
	return errors.Join(errs...)
}

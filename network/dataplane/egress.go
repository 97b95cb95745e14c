package dataplane

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// Egress (Config.Egress) gives guests a way out through two NATs, a small
// version of a Neutron router with its gateway on the host:
//
//   - the namespace also holds every subnet's gateway address (on the
//     bridge veth), so guests route through it, and forwards;
//   - a second veth pair joins the namespace (qg<id[:11]>) and the root
//     namespace (qe<id[:11]>) with a link-local /30 of 169.254.0.0/16 (one
//     per network, kept in the state file "egress"; 169.254.169.0/24, the
//     metadata service's, is left out); the namespace's default route
//     points at the root end and masquerades what leaves through it, so
//     overlapping subnets of different networks never meet in the root
//     namespace;
//   - the root namespace forwards (net.ipv4.ip_forward=1, a host-wide
//     setting Ensure turns on), masquerades the namespace's link-local
//     address towards any other interface, accepts the forwarded traffic
//     in FORWARD (ahead of a Docker-style DROP policy) and drops whatever
//     the guests send to the host itself through qe (INPUT), so guests do
//     not reach the host's own services.
//
// All root-namespace rules carry the network's comment (see tag) and go
// with Delete. IPv4 only.

// egressSlots is the number of /30s in 169.254.0.0/16.
const egressSlots = 1 << 14

// egressFile keeps a network's /30 slot.
const egressFile = "egress"

// egressLink is a network's egress /30: the root end and the namespace end.
type egressLink struct{ root, inner netip.Addr }

// slotLink is the /30 of a slot.
func slotLink(slot int) egressLink {
	base := netip.AddrFrom4([4]byte{169, 254, byte(slot >> 6), byte(slot&63) << 2})
	return egressLink{root: base.Next(), inner: base.Next().Next()}
}

// usableSlot leaves out 169.254.169.0/24 and the /16's first and last /30.
func usableSlot(slot int) bool { return slot > 0 && slot < egressSlots-1 && slot>>6 != 169 }

// egressSlot returns the network's slot, allocating a free one (starting
// at a hash of the id) on first use.
func (l *Linux) egressSlot(id string) (int, error) {
	l.egressMu.Lock()
	defer l.egressMu.Unlock()
	if data, err := os.ReadFile(l.path(id, egressFile)); err == nil {
		return strconv.Atoi(strings.TrimSpace(string(data)))
	}
	used := map[int]bool{}
	ids, err := l.Networks()
	if err != nil {
		return 0, err
	}
	for _, other := range ids {
		if data, err := os.ReadFile(l.path(other, egressFile)); err == nil {
			if s, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
				used[s] = true
			}
		}
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	start := int(h.Sum32() % egressSlots)
	for i := range egressSlots {
		slot := (start + i) % egressSlots
		if usableSlot(slot) && !used[slot] {
			return slot, writeAtomic(l.path(id, egressFile), []byte(strconv.Itoa(slot)+"\n"))
		}
	}
	return 0, errors.New("no free link-local /30 left for egress")
}

// ensureEgress gives the network's guests a way out through NAT.
func (l *Linux) ensureEgress(ctx context.Context, n names, subnets []subnet) error {
	slot, err := l.egressSlot(n.id)
	if err != nil {
		return err
	}
	link := slotLink(slot)
	rootDev, innerDev := "qe"+short(n.id), "qg"+short(n.id)
	if err := ensureEgressVeth(ctx, n, rootDev, innerDev, link); err != nil {
		return err
	}
	if _, err := run(ctx, "ip", "netns", "exec", n.ns, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"); err != nil {
		return err
	}
	if err := ip(ctx, "-n", n.ns, "route", "replace", "default", "via", link.root.String(), "dev", innerDev); err != nil {
		return err
	}
	inNS := []string{"ip", "netns", "exec", n.ns, "iptables"}
	if err := ensureRule(ctx, inNS, "nat", "POSTROUTING", false, "-o", innerDev, "-j", "MASQUERADE"); err != nil {
		return err
	}
	return egressRootRules(ctx, n.id, rootDev, link)
}

// ensureEgressVeth creates (or recreates) the egress veth pair and
// addresses both ends.
func ensureEgressVeth(ctx context.Context, n names, rootDev, innerDev string, link egressLink) error {
	inner := ip(ctx, "-n", n.ns, "link", "show", innerDev) == nil
	if !inner || !linkExists(rootDev) {
		if linkExists(rootDev) {
			if err := ip(ctx, "link", "del", rootDev); err != nil {
				return err
			}
		}
		if err := ip(ctx, "link", "add", rootDev, "type", "veth", "peer", "name", innerDev, "netns", n.ns); err != nil {
			return err
		}
	}
	if err := writeSysctl("net.ipv6.conf."+rootDev+".disable_ipv6", "1"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := setAddrsRoot(ctx, rootDev, netip.PrefixFrom(link.root, 30).String()); err != nil {
		return err
	}
	if err := ip(ctx, "link", "set", rootDev, "up"); err != nil {
		return err
	}
	if err := setAddrs(ctx, n.ns, innerDev, []string{netip.PrefixFrom(link.inner, 30).String()}); err != nil {
		return err
	}
	return ip(ctx, "-n", n.ns, "link", "set", innerDev, "up")
}

// setAddrsRoot gives a root-namespace device exactly one address.
func setAddrsRoot(ctx context.Context, dev, addr string) error {
	if err := ip(ctx, "addr", "replace", addr, "dev", dev); err != nil {
		return err
	}
	out, err := run(ctx, "ip", "-4", "-o", "addr", "show", "dev", dev)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "inet" && f[i+1] != addr {
				if err := ip(ctx, "addr", "del", f[i+1], "dev", dev); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// egressRootRules sets the root namespace's forwarding, NAT and filter
// rules for a network's egress.
func egressRootRules(ctx context.Context, id, rootDev string, link egressLink) error {
	if err := writeSysctl("net.ipv4.ip_forward", "1"); err != nil {
		return err
	}
	t := tag(id)
	rules := []struct {
		table, chain string
		insert       bool
		rule         []string
	}{
		{"nat", "POSTROUTING", false, append(append([]string{"-s", link.inner.String() + "/32", "!", "-o", rootDev}, t...), "-j", "MASQUERADE")},
		{"filter", "FORWARD", true, append(append([]string{"-i", rootDev}, t...), "-j", "ACCEPT")},
		{"filter", "FORWARD", true, append(append([]string{"-o", rootDev, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED"}, t...), "-j", "ACCEPT")},
		{"filter", "INPUT", true, append(append([]string{"-i", rootDev}, t...), "-j", "DROP")},
	}
	for _, r := range rules {
		if err := ensureRule(ctx, []string{"iptables"}, r.table, r.chain, r.insert, r.rule...); err != nil {
			return err
		}
	}
	return nil
}

// deleteEgress removes the egress veth pair; its rules go with the
// network's other tagged rules, its namespace end with the namespace.
func (l *Linux) deleteEgress(ctx context.Context, n names) error {
	if dev := "qe" + short(n.id); linkExists(dev) {
		if err := ip(ctx, "link", "del", dev); err != nil && linkExists(dev) {
			return fmt.Errorf("egress: %w", err)
		}
	}
	return nil
}

package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"imagestack/network"
)

// names are the devices and the namespace of one network.
type names struct {
	id     string
	bridge string // in the root namespace
	ns     string // the qdhcp namespace
	root   string // veth end in the root namespace, a port of the bridge
	inner  string // veth end in the namespace, dnsmasq's interface
}

func (l *Linux) names(id string) names {
	s := short(id)
	return names{id: id, bridge: BridgeName(id), ns: NamespaceName(id), root: "dh" + s, inner: "ns" + s}
}

// subnet is a DHCP subnet, parsed.
type subnet struct {
	network.DHCPSubnet
	prefix netip.Prefix // masked
	server netip.Addr
	tag    string
}

// dhcpSubnets parses the IPv4 subnets and skips IPv6 ones.
func dhcpSubnets(in []network.DHCPSubnet) ([]subnet, error) {
	var out []subnet
	for i, s := range in {
		p, err := netip.ParsePrefix(s.CIDR)
		if err != nil {
			return nil, fmt.Errorf("dataplane: subnet %s: %w", s.ID, err)
		}
		if !p.Addr().Is4() {
			continue
		}
		ip, err := netip.ParseAddr(s.ServerIP)
		if err != nil || !p.Contains(ip) {
			return nil, fmt.Errorf("dataplane: subnet %s: DHCP server address %q not in %s", s.ID, s.ServerIP, s.CIDR)
		}
		tag := "subnet" + strconv.Itoa(i)
		if s.ID != "" && validID(s.ID) == nil {
			tag = "subnet-" + s.ID
		}
		out = append(out, subnet{DHCPSubnet: s, prefix: p.Masked(), server: ip, tag: tag})
	}
	return out, nil
}

// run runs a command and returns its standard output; its error carries
// the command's standard error.
func run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// ip runs iproute2's ip.
func ip(ctx context.Context, args ...string) error {
	_, err := run(ctx, "ip", args...)
	return err
}

// linkExists tells whether a device exists in the root namespace.
func linkExists(name string) bool {
	_, err := os.Lstat("/sys/class/net/" + name)
	return err == nil
}

// nsPath is where iproute2 keeps a named namespace.
func nsPath(ns string) string { return "/run/netns/" + ns }

// nsExists tells whether a named namespace exists.
func nsExists(ns string) bool {
	_, err := os.Stat(nsPath(ns))
	return err == nil
}

// writeSysctl sets a sysctl under /proc/sys.
func writeSysctl(key, value string) error {
	return os.WriteFile("/proc/sys/"+strings.ReplaceAll(key, ".", "/"), []byte(value), 0o644)
}

// ensureLinks creates or repairs the bridge, the namespace and the veth
// pair, and sets the namespace end's addresses.
func (l *Linux) ensureLinks(ctx context.Context, n names, mtu int, subnets []subnet) error {
	if mtu <= 0 {
		mtu = 1500
	}
	m := strconv.Itoa(mtu)
	if err := ensureBridge(ctx, n.bridge, m); err != nil {
		return err
	}
	if err := allowBridged(ctx, n); err != nil {
		return err
	}
	if err := ensureNamespace(ctx, n.ns); err != nil {
		return err
	}
	if err := ensureVeth(ctx, n, m); err != nil {
		return err
	}
	return setAddrs(ctx, n.ns, n.inner, l.innerAddrs(subnets))
}

// ensureNamespace creates the namespace unless it is there and usable (a
// crash may leave the name without a namespace mounted on it).
func ensureNamespace(ctx context.Context, ns string) error {
	if nsExists(ns) {
		if ip(ctx, "-n", ns, "link", "set", "lo", "up") == nil {
			return nil
		}
		if err := ip(ctx, "netns", "del", ns); err != nil {
			return err
		}
	}
	if err := ip(ctx, "netns", "add", ns); err != nil {
		return err
	}
	return ip(ctx, "-n", ns, "link", "set", "lo", "up")
}

// ensureBridge creates the bridge if needed and (re)applies its settings:
// no netfilter calls, the MTU, no IPv6 (hence no link-local address), up.
func ensureBridge(ctx context.Context, br, mtu string) error {
	if !linkExists(br) {
		err := ip(ctx, "link", "add", br, "type", "bridge", "stp_state", "0", "forward_delay", "0")
		if err != nil && !linkExists(br) {
			return err
		}
	}
	if err := writeSysctl("net.ipv6.conf."+br+".disable_ipv6", "1"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := ip(ctx, "link", "set", br, "type", "bridge",
		"nf_call_iptables", "0", "nf_call_ip6tables", "0", "nf_call_arptables", "0"); err != nil {
		return err
	}
	return ip(ctx, "link", "set", br, "mtu", mtu, "up")
}

// ensureVeth creates the veth pair unless both ends are where they belong
// (the root end may outlive a deleted namespace whose dnsmasq kept the
// other end alive), then plugs the root end into the bridge.
func ensureVeth(ctx context.Context, n names, mtu string) error {
	inner := ip(ctx, "-n", n.ns, "link", "show", n.inner) == nil
	if !inner || !linkExists(n.root) {
		if linkExists(n.root) {
			if err := ip(ctx, "link", "del", n.root); err != nil {
				return err
			}
		}
		if inner {
			if err := ip(ctx, "-n", n.ns, "link", "del", n.inner); err != nil {
				return err
			}
		}
		if err := ip(ctx, "link", "add", n.root, "mtu", mtu, "type", "veth",
			"peer", "name", n.inner, "mtu", mtu, "netns", n.ns); err != nil {
			return err
		}
	}
	if err := writeSysctl("net.ipv6.conf."+n.root+".disable_ipv6", "1"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := ip(ctx, "link", "set", n.root, "master", n.bridge, "mtu", mtu, "up"); err != nil {
		return err
	}
	return ip(ctx, "-n", n.ns, "link", "set", n.inner, "mtu", mtu, "up")
}

// setAddrs gives dev in ns exactly the addresses want (with prefix
// length).
func setAddrs(ctx context.Context, ns, dev string, want []string) error {
	for _, a := range want {
		if err := ip(ctx, "-n", ns, "addr", "replace", a, "dev", dev); err != nil {
			return err
		}
	}
	have, err := addrs(ctx, ns, dev)
	if err != nil {
		return err
	}
	for _, a := range have {
		if !slices.Contains(want, a) {
			if err := ip(ctx, "-n", ns, "addr", "del", a, "dev", dev); err != nil {
				return err
			}
		}
	}
	return nil
}

// innerAddrs are the addresses of the namespace's end of the bridge veth:
// every subnet's DHCP server address and, with egress, its gateway.
func (l *Linux) innerAddrs(subnets []subnet) []string {
	var want []string
	for _, s := range subnets {
		want = append(want, netip.PrefixFrom(s.server, s.prefix.Bits()).String())
	}
	for _, s := range subnets {
		if gw, err := netip.ParseAddr(s.Gateway); l.cfg.Egress && err == nil && gw != s.server && s.prefix.Contains(gw) {
			want = append(want, netip.PrefixFrom(gw, s.prefix.Bits()).String())
		}
	}
	return want
}

// addrs lists the IPv4 addresses (with prefix length) of dev in ns.
func addrs(ctx context.Context, ns, dev string) ([]string, error) {
	out, err := run(ctx, "ip", "-n", ns, "-4", "-o", "addr", "show", "dev", dev)
	if err != nil {
		return nil, err
	}
	var list []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "inet" {
				list = append(list, f[i+1])
			}
		}
	}
	return list, nil
}

// deleteLinks removes the namespace (after killing whatever still runs in
// it), the veth pair, the bridge and the bridge's firewall rules.
func deleteLinks(ctx context.Context, n names) error {
	var errs []error
	if nsExists(n.ns) {
		killNamespace(ctx, n.ns)
		errs = append(errs, ip(ctx, "netns", "del", n.ns))
	}
	for _, dev := range []string{n.root, n.bridge} {
		if linkExists(dev) {
			if err := ip(ctx, "link", "del", dev); err != nil && linkExists(dev) {
				errs = append(errs, err)
			}
		}
	}
	errs = append(errs, deleteTagged(ctx, n.id))
	return errors.Join(errs...)
}

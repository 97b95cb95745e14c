package dataplane

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"imagestack/network"
)

// dhcpRelease is dnsmasq-utils' tool that makes a running dnsmasq forget a
// lease (Neutron's dhcp_release).
const dhcpRelease = "dhcp_release"

// leaseKey is one static lease, as the hosts file has it.
type leaseKey struct{ mac, ip string }

// readLeases parses a hosts file ("mac,ip[,hostname]" lines).
func readLeases(data []byte) []leaseKey {
	var out []leaseKey
	for _, line := range bytes.Split(data, []byte("\n")) {
		f := strings.Split(string(line), ",")
		if len(f) >= 2 {
			out = append(out, leaseKey{mac: f[0], ip: f[1]})
		}
	}
	return out
}

// releaseGone makes dnsmasq forget the leases of the hosts in old that are
// not in hosts (deleted ports). dnsmasq keeps leases in memory and would
// refuse an address still leased to the old MAC to the next port given it
// ("not using configured address ... because it is leased to ..."), so a
// reused address would get no DHCP answer until the old lease expired.
func (l *Linux) releaseGone(ctx context.Context, n names, old []byte, hosts []network.DHCPHost) error {
	keep := map[leaseKey]bool{}
	if now, err := hostsLines(hosts); err == nil {
		for _, k := range readLeases(now) {
			keep[k] = true
		}
	}
	for _, k := range readLeases(old) {
		if keep[k] {
			continue
		}
		out, err := exec.CommandContext(ctx, "ip", "netns", "exec", n.ns, dhcpRelease, n.inner, k.ip, k.mac).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s %s %s: %v: %s", dhcpRelease, k.ip, k.mac, err, bytes.TrimSpace(out))
		}
	}
	return nil
}

// oldHosts is the network's hosts file before a change (nothing if none).
func (l *Linux) oldHosts(id string) []byte {
	data, _ := os.ReadFile(l.path(id, hostsFile))
	return data
}

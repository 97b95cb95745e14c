package dataplane

import (
	"slices"
	"strings"
	"testing"
	"time"

	"imagestack/network"
)

// The hosts file has MAC,IP[,hostname] lines; bad MACs are refused,
// IPv6 leases and names dnsmasq would reject are left out.
func TestHostsLines(t *testing.T) {
	got, err := hostsLines([]network.DHCPHost{
		{MAC: "FA:16:3E:00:00:01", IP: "10.0.0.5", Hostname: "web-1"},
		{MAC: "fa:16:3e:00:00:02", IP: "10.0.0.6", Hostname: "bad name!"},
		{MAC: "fa:16:3e:00:00:03", IP: "fd00::3"},
	})
	want := "fa:16:3e:00:00:01,10.0.0.5,web-1\nfa:16:3e:00:00:02,10.0.0.6\n"
	if err != nil || string(got) != want {
		t.Fatalf("hostsLines = %q, %v; want %q", got, err, want)
	}
	for _, h := range []network.DHCPHost{{MAC: "fa:16:3e:00:01", IP: "10.0.0.5"}, {MAC: "fa:16:3e:00:00:01", IP: "x"}} {
		if _, err := hostsLines([]network.DHCPHost{h}); err == nil {
			t.Errorf("hostsLines accepted %+v", h)
		}
	}
}

// The options file announces each subnet's router (none when it has no
// gateway: an empty option stops dnsmasq announcing itself) and DNS.
func TestOptsLines(t *testing.T) {
	subnets, err := dhcpSubnets([]network.DHCPSubnet{
		{ID: "a", CIDR: "10.0.0.0/24", Gateway: "10.0.0.1", DNS: []string{"192.0.2.1", "2001:db8::1", "192.0.2.2"}, ServerIP: "10.0.0.2"},
		{ID: "b", CIDR: "10.1.0.0/16", ServerIP: "10.1.0.2"},
		{ID: "v6", CIDR: "fd00::/64", ServerIP: "fd00::2"},
	})
	if err != nil || len(subnets) != 2 {
		t.Fatalf("dhcpSubnets = %v, %v; want the two IPv4 subnets", subnets, err)
	}
	want := "tag:subnet-a,option:router,10.0.0.1\ntag:subnet-a,option:dns-server,192.0.2.1,192.0.2.2\ntag:subnet-b,option:router\n"
	if got := string(optsLines(subnets)); got != want {
		t.Fatalf("optsLines = %q, want %q", got, want)
	}
}

// dnsmasq serves static leases only, on the namespace's end, with no DNS,
// no lease file and no configuration but ours.
func TestDnsmasqArgs(t *testing.T) {
	l := &Linux{cfg: Config{StateDir: "/s", Dnsmasq: "/usr/sbin/dnsmasq", DnsmasqUser: "nobody", LeaseTime: time.Hour}}
	id := "0123456789abcdef"
	subnets, _ := dhcpSubnets([]network.DHCPSubnet{{ID: "a", CIDR: "10.1.0.0/16", ServerIP: "10.1.0.2"}})
	got := l.dnsmasqArgs(l.names(id), 1450, subnets)
	for _, want := range []string{"/usr/sbin/dnsmasq", "--conf-file=/dev/null", "--no-hosts", "--no-resolv", "--port=0",
		"--leasefile-ro", "--bind-interfaces", "--interface=ns0123456789a", "--except-interface=lo", "--dhcp-authoritative",
		"--user=nobody", "--pid-file=/s/" + id + "/dnsmasq.pid", "--dhcp-hostsfile=/s/" + id + "/hosts",
		"--dhcp-optsfile=/s/" + id + "/opts", "--dhcp-range=set:subnet-a,10.1.0.0,static,255.255.0.0,3600s",
		"--dhcp-option-force=option:mtu,1450", "--dhcp-lease-max=65536"} {
		if !slices.Contains(got, want) {
			t.Errorf("dnsmasq args lack %s: %s", want, strings.Join(got, " "))
		}
	}
}

// Device names fit IFNAMSIZ.
func TestNames(t *testing.T) {
	n := (&Linux{}).names("0123456789abcdef-0123")
	for _, dev := range []string{n.bridge, n.root, n.inner, "qe" + short(n.id)} {
		if len(dev) > 15 {
			t.Errorf("%s is longer than 15 characters", dev)
		}
	}
	if n.bridge != "brq0123456789a" || n.ns != "qdhcp-0123456789abcdef-0123" {
		t.Errorf("names %+v", n)
	}
}

// iptables -S lines split back into arguments, quoted comments whole.
func TestSplitRule(t *testing.T) {
	got := splitRule(`-A FORWARD -i brqx -m comment --comment "imagestack dataplane n1" -j ACCEPT`)
	want := []string{"-A", "FORWARD", "-i", "brqx", "-m", "comment", "--comment", "imagestack dataplane n1", "-j", "ACCEPT"}
	if !slices.Equal(got, want) {
		t.Fatalf("splitRule = %q", got)
	}
}

// Egress /30s stay inside 169.254.0.0/16 and out of 169.254.169.0/24.
func TestEgressSlots(t *testing.T) {
	seen := map[string]bool{}
	for slot := range egressSlots {
		link := slotLink(slot)
		b := link.root.As4()
		if b[0] != 169 || b[1] != 254 || seen[link.root.String()] {
			t.Fatalf("slot %d: %v", slot, link)
		}
		seen[link.root.String()] = true
		if usableSlot(slot) && b[2] == 169 {
			t.Fatalf("slot %d (%v) is in the metadata /24", slot, link)
		}
		if link.inner != link.root.Next() || b[3]%4 != 1 {
			t.Fatalf("slot %d: %v is no /30 pair", slot, link)
		}
	}
}

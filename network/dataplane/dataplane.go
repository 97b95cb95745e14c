// Package dataplane builds the host side of networks on Linux the way
// Neutron's Linux bridge and DHCP agents do, with iproute2 and dnsmasq:
//
//   - a bridge brq<network id[:11]> without any address in the root
//     namespace (IPv6 is disabled on it, so it has no link-local address
//     either); servers' tap devices are plugged into it by the hypervisor;
//   - a namespace qdhcp-<network id> joined to the bridge by a veth pair:
//     dh<network id[:11]> in the root namespace, a port of the bridge, and
//     ns<network id[:11]> in the namespace, carrying every DHCP subnet's
//     ServerIP;
//   - a dnsmasq inside the namespace handing out static leases only (no
//     dynamic pool, no lease file, DNS disabled), reading its hosts and
//     options files from the state directory and rereading them on SIGHUP.
//
// dnsmasq daemonizes (its own session, its parent is init), so it outlives
// this process as Neutron's dnsmasq outlives the agent: servers keep their
// leases while imagestack restarts, and Ensure at the next start adopts
// the running dnsmasq when its pid file names a live dnsmasq of this
// network, in the network's current namespace, with the wanted command
// line. Under systemd the service needs KillMode=process (as Neutron's
// agents have) or the dnsmasqs die with the service's cgroup.
//
// Hosts with br_netfilter loaded (Docker loads it and sets the FORWARD
// policy to DROP) pass bridged frames through iptables' FORWARD chain
// whatever the bridge's own nf_call_iptables says (the kernel ORs it with
// the global sysctl), so Ensure also inserts an ACCEPT rule for traffic
// within the bridge at the top of FORWARD (iptables and ip6tables) and
// Delete removes it. The rule is inserted by the iptables found in PATH:
// a host whose firewall uses another backend must allow the bridge itself.
//
// IPv6 subnets are skipped: guests get IPv4 by DHCP only.
//
// With Config.Egress guests reach the outside world through NAT; see
// egress.go.
package dataplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"imagestack/network"
)

// Config configures the Linux dataplane.
type Config struct {
	// StateDir holds a directory per network (dnsmasq's pid, hosts, opts
	// and log files); required. The dnsmasq user must be able to search
	// every directory on the way to it, as dnsmasq rereads the hosts file
	// after dropping privileges.
	StateDir string
	// Dnsmasq is the dnsmasq binary; "" is /usr/sbin/dnsmasq.
	Dnsmasq string
	// DnsmasqUser is the user dnsmasq drops its privileges to; "" is
	// nobody.
	DnsmasqUser string
	// LeaseTime is the DHCP lease time; 0 is 24h (Neutron's default).
	LeaseTime time.Duration
	// Egress gives guests a way out through NAT (see egress.go); off by
	// default.
	Egress bool
}

// Linux is the network.Dataplane of a Linux host. Its methods take a lock
// per network, so calls for one network are serialized and calls for
// different networks run concurrently.
type Linux struct {
	cfg Config

	mu    sync.Mutex
	locks map[string]*sync.Mutex
	// egressMu serializes the allocation of egress link-local /30s.
	egressMu sync.Mutex
}

var _ network.Dataplane = (*Linux)(nil)

// New returns the dataplane for cfg. It creates cfg.StateDir if needed
// and checks that ip and dnsmasq are installed and that dnsmasq can reach
// the state directory.
func New(cfg Config) (*Linux, error) {
	l, err := open(cfg)
	if err != nil {
		return nil, err
	}
	for _, bin := range []string{"ip", l.cfg.Dnsmasq, dhcpRelease} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("dataplane: %w", err)
		}
	}
	return l, nil
}

// open is New without the check for programs, enough to tear down.
func open(cfg Config) (*Linux, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("dataplane: no state directory")
	}
	if cfg.Dnsmasq == "" {
		cfg.Dnsmasq = "/usr/sbin/dnsmasq"
	}
	if cfg.DnsmasqUser == "" {
		cfg.DnsmasqUser = "nobody"
	}
	if cfg.LeaseTime <= 0 {
		cfg.LeaseTime = 24 * time.Hour
	}
	dir, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("dataplane: %w", err)
	}
	cfg.StateDir = dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dataplane: %w", err)
	}
	if err := searchable(dir, cfg.DnsmasqUser); err != nil {
		return nil, err
	}
	return &Linux{cfg: cfg, locks: map[string]*sync.Mutex{}}, nil
}

// searchable checks that every directory from / to dir lets others
// search it, unless dnsmasq keeps running as root.
func searchable(dir, user string) error {
	if user == "root" {
		return nil
	}
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("dataplane: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("dataplane: dnsmasq (user %s) cannot reach the state directory %s: %s is mode %v (chmod o+x it)", user, dir, d, fi.Mode().Perm())
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// Bridge implements network.Dataplane: brq and the id's first 11
// characters, as Neutron's Linux bridge agent names it.
func (l *Linux) Bridge(networkID string) string { return BridgeName(networkID) }

// Namespace implements network.Dataplane: qdhcp-<network id>.
func (l *Linux) Namespace(networkID string) string { return NamespaceName(networkID) }

// BridgeName is the bridge of a network.
func BridgeName(networkID string) string { return "brq" + short(networkID) }

// NamespaceName is the DHCP namespace of a network.
func NamespaceName(networkID string) string { return "qdhcp-" + networkID }

// short is the part of a network id that fits into device names.
func short(id string) string { return id[:min(11, len(id))] }

// lock serializes the calls for one network.
func (l *Linux) lock(id string) func() {
	l.mu.Lock()
	m := l.locks[id]
	if m == nil {
		m = &sync.Mutex{}
		l.locks[id] = m
	}
	l.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// dir is a network's state directory.
func (l *Linux) dir(id string) string { return filepath.Join(l.cfg.StateDir, id) }

// validID rejects ids that cannot name a device, a namespace and a
// directory.
func validID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("dataplane: bad network id %q", id)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("dataplane: bad network id %q", id)
		}
	}
	return nil
}

// Ensure implements network.Dataplane.
func (l *Linux) Ensure(ctx context.Context, spec network.HostSpec, hosts []network.DHCPHost) error {
	if err := validID(spec.NetworkID); err != nil {
		return err
	}
	defer l.lock(spec.NetworkID)()
	if err := l.ensure(ctx, spec, hosts); err != nil {
		return fmt.Errorf("dataplane: network %s: %w", spec.NetworkID, err)
	}
	return nil
}

// ensure does Ensure's work under the network's lock.
func (l *Linux) ensure(ctx context.Context, spec network.HostSpec, hosts []network.DHCPHost) error {
	id := spec.NetworkID
	subnets, err := dhcpSubnets(spec.Subnets)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(l.dir(id), 0o755); err != nil {
		return err
	}
	if err := l.saveSpec(spec); err != nil {
		return err
	}
	n := l.names(id)
	if err := l.ensureLinks(ctx, n, spec.MTU, subnets); err != nil {
		return err
	}
	if l.cfg.Egress {
		if err := l.ensureEgress(ctx, n, subnets); err != nil {
			return fmt.Errorf("egress: %w", err)
		}
	}
	if err := l.writeFiles(id, subnets, hosts); err != nil {
		return err
	}
	return l.ensureDnsmasq(ctx, n, spec.MTU, subnets)
}

// SetHosts implements network.Dataplane. When the network's dnsmasq is
// not running (it died, the host rebooted) SetHosts repairs the network
// as Ensure does, with the HostSpec Ensure was last given; a network
// Ensure never set up is an error.
func (l *Linux) SetHosts(ctx context.Context, id string, hosts []network.DHCPHost) error {
	if err := validID(id); err != nil {
		return err
	}
	defer l.lock(id)()
	spec, err := l.loadSpec(id)
	if err != nil {
		return fmt.Errorf("dataplane: network %s has no host side: %w", id, err)
	}
	old := l.oldHosts(id)
	if err := l.writeHosts(id, hosts); err != nil {
		return fmt.Errorf("dataplane: network %s: %w", id, err)
	}
	if l.reload(l.names(id)) == nil {
		if err := l.releaseGone(ctx, l.names(id), old, hosts); err != nil {
			return fmt.Errorf("dataplane: network %s: %w", id, err)
		}
		return nil
	}
	if err := l.ensure(ctx, spec, hosts); err != nil {
		return fmt.Errorf("dataplane: network %s: %w", id, err)
	}
	return nil
}

// saveSpec records the spec Ensure was given.
func (l *Linux) saveSpec(spec network.HostSpec) error {
	data, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	return writeAtomic(l.path(spec.NetworkID, specFile), data)
}

// loadSpec reads the spec Ensure was last given.
func (l *Linux) loadSpec(id string) (network.HostSpec, error) {
	var spec network.HostSpec
	data, err := os.ReadFile(l.path(id, specFile))
	if err != nil {
		return spec, err
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		return spec, err
	}
	if spec.NetworkID != id {
		return spec, fmt.Errorf("%s names network %q", l.path(id, specFile), spec.NetworkID)
	}
	return spec, nil
}

// Delete implements network.Dataplane.
func (l *Linux) Delete(ctx context.Context, id string) error {
	if err := validID(id); err != nil {
		return err
	}
	defer l.lock(id)()
	n := l.names(id)
	var errs []error
	errs = append(errs, l.stopDnsmasq(n))
	errs = append(errs, l.deleteEgress(ctx, n))
	errs = append(errs, deleteLinks(ctx, n))
	if err := os.RemoveAll(l.dir(id)); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dataplane: delete network %s: %w", id, err)
	}
	return nil
}

// Networks lists the ids of the networks with a state directory.
func (l *Linux) Networks() ([]string, error) {
	entries, err := os.ReadDir(l.cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("dataplane: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && validID(e.Name()) == nil {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// RemoveAll deletes every network recorded under stateDir (its dnsmasq,
// namespace, veth pair, bridge, firewall rules and files); test harnesses
// call it at cleanup. A missing stateDir is no error.
func RemoveAll(ctx context.Context, stateDir string) error {
	if _, err := os.Stat(stateDir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	l, err := open(Config{StateDir: stateDir, DnsmasqUser: "root"})
	if err != nil {
		return err
	}
	ids, err := l.Networks()
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		errs = append(errs, l.Delete(ctx, id))
	}
	return errors.Join(errs...)
}

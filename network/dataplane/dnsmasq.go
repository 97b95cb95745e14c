package dataplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"imagestack/network"
)

// Files of a network's state directory.
const (
	pidFile   = "dnsmasq.pid"
	hostsFile = "hosts" // --dhcp-hostsfile: MAC,IP[,hostname] per line
	optsFile  = "opts"  // --dhcp-optsfile: router and DNS per subnet
	logFile   = "dnsmasq.log"
	specFile  = "spec.json" // the last HostSpec, for SetHosts' repairs
)

func (l *Linux) path(id, file string) string { return filepath.Join(l.dir(id), file) }

// dnsmasqArgs is dnsmasq's whole command line for a network: static
// leases only, on the namespace's end of the veth pair, no DNS (--port=0:
// guests get the subnet's DNS servers), no lease file (static leases need
// none), no configuration but ours.
func (l *Linux) dnsmasqArgs(n names, mtu int, subnets []subnet) []string {
	args := []string{l.cfg.Dnsmasq,
		"--conf-file=/dev/null", "--no-hosts", "--no-resolv", "--port=0",
		"--leasefile-ro", "--bind-interfaces", "--interface=" + n.inner, "--except-interface=lo",
		"--dhcp-authoritative", "--user=" + l.cfg.DnsmasqUser,
		"--pid-file=" + l.path(n.id, pidFile),
		"--dhcp-hostsfile=" + l.path(n.id, hostsFile),
		"--dhcp-optsfile=" + l.path(n.id, optsFile),
		"--log-facility=" + l.path(n.id, logFile),
	}
	lease := strconv.Itoa(int(l.cfg.LeaseTime/time.Second)) + "s"
	size := 0
	for _, s := range subnets {
		mask := net.CIDRMask(s.prefix.Bits(), 32)
		args = append(args, fmt.Sprintf("--dhcp-range=set:%s,%s,static,%s,%s",
			s.tag, s.prefix.Addr(), net.IP(mask).String(), lease))
		size += 1 << min(32-s.prefix.Bits(), 24)
	}
	if mtu > 0 {
		args = append(args, "--dhcp-option-force=option:mtu,"+strconv.Itoa(mtu))
	}
	return append(args, "--dhcp-lease-max="+strconv.Itoa(min(size, 1<<24)))
}

// hostsLines renders static leases as dnsmasq's dhcp-hostsfile. IPv6
// addresses are left out (IPv4 DHCP only); hostnames dnsmasq would reject
// too.
func hostsLines(hosts []network.DHCPHost) ([]byte, error) {
	var b bytes.Buffer
	for _, h := range hosts {
		mac, err := net.ParseMAC(h.MAC)
		if err != nil || len(mac) != 6 {
			return nil, fmt.Errorf("static lease: bad MAC %q", h.MAC)
		}
		a, err := netip.ParseAddr(h.IP)
		if err != nil {
			return nil, fmt.Errorf("static lease for %s: bad IP %q", h.MAC, h.IP)
		}
		if !a.Is4() {
			continue
		}
		fmt.Fprintf(&b, "%s,%s", mac, a)
		if validHostname(h.Hostname) {
			fmt.Fprintf(&b, ",%s", h.Hostname)
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// validHostname accepts DNS names of letters, digits and hyphens.
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// optsLines renders the subnets' router and DNS servers as dnsmasq's
// dhcp-optsfile; a subnet without gateway announces no router (an empty
// option:router stops dnsmasq from announcing itself).
func optsLines(subnets []subnet) []byte {
	var b bytes.Buffer
	for _, s := range subnets {
		if s.Gateway == "" {
			fmt.Fprintf(&b, "tag:%s,option:router\n", s.tag)
		} else {
			fmt.Fprintf(&b, "tag:%s,option:router,%s\n", s.tag, s.Gateway)
		}
		var dns []string
		for _, d := range s.DNS {
			if a, err := netip.ParseAddr(d); err == nil && a.Is4() {
				dns = append(dns, a.String())
			}
		}
		if len(dns) > 0 {
			fmt.Fprintf(&b, "tag:%s,option:dns-server,%s\n", s.tag, strings.Join(dns, ","))
		}
	}
	return b.Bytes()
}

// writeAtomic replaces a file by renaming a complete new one over it, so
// dnsmasq never reads half a file.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// writeHosts writes a network's static leases.
func (l *Linux) writeHosts(id string, hosts []network.DHCPHost) error {
	data, err := hostsLines(hosts)
	if err != nil {
		return err
	}
	return writeAtomic(l.path(id, hostsFile), data)
}

// writeFiles writes the hosts and options files.
func (l *Linux) writeFiles(id string, subnets []subnet, hosts []network.DHCPHost) error {
	if err := l.writeHosts(id, hosts); err != nil {
		return err
	}
	return writeAtomic(l.path(id, optsFile), optsLines(subnets))
}

// ensureDnsmasq adopts a running dnsmasq that is the one wanted and makes
// it reread its files, or replaces it; without DHCP subnets it stops it.
func (l *Linux) ensureDnsmasq(ctx context.Context, n names, mtu int, subnets []subnet) error {
	want := l.dnsmasqArgs(n, mtu, subnets)
	if pid := l.dnsmasqPid(n); pid > 0 {
		if inNamespace(pid, n.ns) && slices.Equal(procArgs(pid), want) {
			return syscall.Kill(pid, syscall.SIGHUP)
		}
		if err := stopProcess(pid); err != nil {
			return err
		}
	}
	_ = os.Remove(l.path(n.id, pidFile))
	if len(subnets) == 0 {
		return nil
	}
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.ns}, want...)...)
	// dnsmasq daemonizes into a session of its own, reparented to init,
	// so it outlives us; its parent exits once it is ready, reporting
	// configuration errors on stderr.
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("start dnsmasq: %w: %s", err, strings.TrimSpace(out.String()))
	}
	if l.dnsmasqPid(n) == 0 {
		return fmt.Errorf("dnsmasq started but %s names no running dnsmasq", l.path(n.id, pidFile))
	}
	return nil
}

// reload makes the network's dnsmasq reread its files; it fails when
// that dnsmasq is not running in the network's namespace.
func (l *Linux) reload(n names) error {
	pid := l.dnsmasqPid(n)
	if pid == 0 || !inNamespace(pid, n.ns) {
		return errors.New("dnsmasq is not running")
	}
	return syscall.Kill(pid, syscall.SIGHUP)
}

// dnsmasqPid is the pid in the network's pid file if that process is
// alive and a dnsmasq serving this network (pids are reused after a
// reboot); 0 otherwise.
func (l *Linux) dnsmasqPid(n names) int {
	data, err := os.ReadFile(l.path(n.id, pidFile))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return 0
	}
	args := procArgs(pid)
	if len(args) == 0 || filepath.Base(args[0]) != "dnsmasq" ||
		!slices.Contains(args, "--dhcp-hostsfile="+l.path(n.id, hostsFile)) {
		return 0
	}
	return pid
}

// stopDnsmasq stops the network's dnsmasq, if it runs.
func (l *Linux) stopDnsmasq(n names) error {
	if pid := l.dnsmasqPid(n); pid > 0 {
		if err := stopProcess(pid); err != nil {
			return err
		}
	}
	if err := os.Remove(l.path(n.id, pidFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// procArgs is a live process's command line; nil for a zombie or a
// process that is gone.
func procArgs(pid int) []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
}

// alive tells whether a process exists and is no zombie (our init may
// not reap the dnsmasqs it inherited).
func alive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z' && s[i+2] != 'X'
}

// inNamespace tells whether a process lives in the named namespace (and
// not in an earlier one of the same name, kept alive by the process).
func inNamespace(pid int, ns string) bool {
	var a, b syscall.Stat_t
	if syscall.Stat("/proc/"+strconv.Itoa(pid)+"/ns/net", &a) != nil || syscall.Stat(nsPath(ns), &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// stopProcess sends SIGTERM, then SIGKILL, and waits for the end.
func stopProcess(pid int) error {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		if err := syscall.Kill(pid, sig); err != nil {
			if errors.Is(err, syscall.ESRCH) {
				return nil
			}
			return fmt.Errorf("kill %d: %w", pid, err)
		}
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if !alive(pid) {
				return nil
			}
		}
	}
	return fmt.Errorf("process %d survives SIGKILL", pid)
}

// killNamespace stops every process left in a namespace before it goes.
func killNamespace(ctx context.Context, ns string) {
	out, err := run(ctx, "ip", "netns", "pids", ns)
	if err != nil {
		return
	}
	for _, f := range strings.Fields(out) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
			_ = stopProcess(pid)
		}
	}
}

package main

import (
	"net"
	"os"
	"slices"
	"strings"

	"imagestack/common/cluster"
	"imagestack/common/config"
)

// Roles (configuration key roles): an "api" process serves the identity,
// image, compute and network APIs and runs no VM; a "compute" process runs
// one hypervisor host (libvirt, its image cache and lazy-base endpoint, its
// console proxy) and serves no API. The default runs both in one process.

// apiListeners are the listeners of the api role, by API name.
var apiListeners = []string{"identity", "image", "compute", "network"}

// listenAddrs are the addresses this process listens on, by name: the APIs
// in the api role, the console proxy in the compute role.
func listenAddrs(cfg config.Config) map[string]string {
	addrs := map[string]string{}
	if slices.Contains(cfg.Roles, cluster.RoleAPI) {
		addrs["identity"], addrs["image"], addrs["compute"], addrs["network"] = identityListen(cfg), cfg.Image.Listen, cfg.Compute.Listen, cfg.Network.Listen
	}
	if slices.Contains(cfg.Roles, cluster.RoleCompute) {
		addrs["console"] = cfg.Compute.Console.Listen
	}
	addrs["metrics"] = cfg.Metrics.Listen // every role
	return addrs
}

// newMember is this process in the deployment: cluster.member_name, or by
// default the host and the ports it listens on (no other live process can
// hold them, and a restart listening on the same ports is the same member).
func newMember(cfg config.Config, lns map[string]net.Listener) cluster.Member {
	name := cfg.Cluster.MemberName
	if name == "" {
		host := cfg.Compute.Host
		if host == "" {
			host, _ = os.Hostname()
		}
		var ports []string
		for _, n := range append(slices.Clone(apiListeners), "console") {
			if ln, ok := lns[n]; ok {
				_, port, _ := net.SplitHostPort(ln.Addr().String())
				ports = append(ports, port)
			}
		}
		name = host + ":" + strings.Join(ports, ",")
	}
	return cluster.NewMember(name, cfg.Compute.Host, cfg.Roles)
}

// timing is the deployment's lease and heartbeat timing (cluster.*).
func timing(cfg config.Config) cluster.Timing {
	return cluster.Timing{LeaseTTL: cfg.Cluster.LeaseTTL.Std(), Heartbeat: cfg.Cluster.HeartbeatInterval.Std(),
		ServiceDownTime: cfg.Cluster.ServiceDownTime.Std()}
}

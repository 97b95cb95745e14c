package main

import (
	"fmt"
	"net"
	"os"

	"imagestack/common/cluster"
	"imagestack/common/config"
)

// newMember is this process as a member of the deployment (one per run:
// build it once and hand it to every part that owns work by lease).
func newMember(cfg config.Config) cluster.Member {
	return cluster.NewMember(memberName(cfg), cfg.Compute.Host, cfg.Roles)
}

// memberName is cluster.member_name or, by default, this host's name
// (compute.host, else the machine's) and the image API's port, e.g.
// "myhost:9292": stable across restarts, so that a restarted process
// recovers its former self's work at once, and held by no other live
// process on the host. Without a fixed port (":0") no name is stable: the
// process id makes it unique, and its work is recovered once its leases
// expire.
func memberName(cfg config.Config) string {
	if cfg.Cluster.MemberName != "" {
		return cfg.Cluster.MemberName
	}
	host := cfg.Compute.Host
	if host == "" {
		host, _ = os.Hostname()
	}
	_, port, err := net.SplitHostPort(cfg.Image.Listen)
	if err != nil || port == "" || port == "0" {
		return fmt.Sprintf("%s:pid-%d", host, os.Getpid())
	}
	return net.JoinHostPort(host, port)
}

package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"gorm.io/gorm"

	"imagestack/common/config"
	"imagestack/network"
	"imagestack/network/dataplane"
	netdb "imagestack/network/db"
	networkservice "imagestack/network/service"
)

// newDataplane is the host side of networks the service drives: bridges,
// qdhcp namespaces and dnsmasqs, with their files under $STATE_DIR/network.
// On a host without the tools (ip, dnsmasq, dhcp_release) the APIs still
// start: networks then exist in the API only, and what needs their host
// side (a server's NIC) fails with the reason.
func newDataplane(cfg config.Config, log *slog.Logger) network.Dataplane {
	dp, err := dataplane.New(dataplane.Config{StateDir: filepath.Join(cfg.StateDir, "network"),
		DnsmasqUser: cfg.Network.DnsmasqUser, Egress: cfg.Network.Egress})
	if err != nil {
		log.Warn("networks have no host side on this machine: servers cannot get NICs", "err", err)
		return noHostSide{err}
	}
	return dp
}

// noHostSide is the dataplane of a host that cannot build networks.
type noHostSide struct{ err error }

func (n noHostSide) Bridge(id string) string    { return dataplane.BridgeName(id) }
func (n noHostSide) Namespace(id string) string { return dataplane.NamespaceName(id) }
func (n noHostSide) Ensure(context.Context, network.HostSpec, []network.DHCPHost) error {
	return fmt.Errorf("no network host side: %w", n.err)
}
func (n noHostSide) SetHosts(context.Context, string, []network.DHCPHost) error {
	return fmt.Errorf("no network host side: %w", n.err)
}
func (n noHostSide) Delete(context.Context, string) error { return nil }

// startNetwork builds the network service, rebuilds the host side of every
// network (gone after a host reboot) and, at the first start, makes the
// default shared network, owned by the admin project.
func startNetwork(ctx context.Context, cfg config.Config, gdb *gorm.DB, authz networkservice.Authorizer,
	identity adminProject, log *slog.Logger) (*networkservice.Service, error) {
	repo, err := netdb.New(gdb)
	if err != nil {
		return nil, err
	}
	svc := networkservice.New(networkservice.Deps{Repo: repo, Dataplane: newDataplane(cfg, log), Policy: authz, Log: log})
	if err := svc.Restore(ctx); err != nil {
		log.Error("the host side of some networks could not be restored", "err", err)
	}
	return svc, ensureDefaultNetwork(ctx, cfg, svc, identity, log)
}

func ensureDefaultNetwork(ctx context.Context, cfg config.Config, svc *networkservice.Service, identity adminProject, log *slog.Logger) error {
	d := cfg.Network.DefaultNetwork
	if d.Name == "" {
		return nil
	}
	owner, err := identity.AdminProjectID(ctx)
	if err != nil {
		log.Warn("the admin project could not be looked up: the default network has no owner", "err", err)
	}
	made, err := svc.EnsureDefaultNetwork(ctx, networkservice.DefaultNetwork{Name: d.Name, SubnetName: d.SubnetName, CIDR: d.CIDR,
		DNSNameservers: d.DNSNameservers, ProjectID: owner})
	if err != nil {
		return fmt.Errorf("default network: %w", err)
	}
	if made {
		log.Info("default network created", "name", d.Name, "cidr", d.CIDR)
	}
	return nil
}

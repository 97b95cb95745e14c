package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"

	"gorm.io/gorm"

	"imagestack/common/cluster"
	"imagestack/common/config"
	"imagestack/compute"
	"imagestack/compute/hostrpc"
	computelibvirt "imagestack/compute/libvirt"
	computeservice "imagestack/compute/service"
	"imagestack/policy"
	"imagestack/storage"
)

// hostCredentials are what a compute host reads images with when it
// resolves a call's image reference: the user's token does not travel
// with the call, and the API replica that queued it already checked that
// the user may boot the image.
var hostCredentials = policy.Credentials{UserID: "imagestack-compute-host", Roles: []string{"admin", "service"}, IsAdmin: true}

// remoteParts are what the api role reaches compute hosts with.
type remoteParts struct {
	gdb      *gorm.DB
	servers  compute.ServerRepository
	liveness hostrpc.HostLiveness
	blobs    storage.Store
}

// remoteHypervisor is the api role's hypervisor: every call becomes a
// row of host_calls that the server's host runs (compute/hostrpc), and
// images travel as references the host resolves with its own cache.
func remoteHypervisor(p remoteParts, log *slog.Logger) (compute.Hypervisor, computeservice.ImageCache, error) {
	hv, err := hostrpc.New(hostrpc.Config{DB: p.gdb, Hosts: hostrpc.FromServers(p.servers, ""), Liveness: p.liveness,
		Blobs: p.blobs, DomainName: libvirtDomainName, Log: log})
	if err != nil {
		return nil, nil, err
	}
	return hv, hostrpc.DeferredCache{}, nil
}

// startAgent serves the calls API replicas queue for this host, with its
// own hypervisor and image cache, until ctx ends; wait returns once the
// calls it was running have ended.
func startAgent(ctx context.Context, cfg config.Config, gdb *gorm.DB, member cluster.Member, deps computeservice.Deps,
	blobs storage.Store, log *slog.Logger) (wait func(), err error) {
	images := deps.Images
	download := func(ctx context.Context, imageID string, w io.Writer) error {
		return images.Download(ctx, hostCredentials, imageID, w)
	}
	agent, err := hostrpc.NewAgent(hostrpc.AgentConfig{DB: gdb, Member: member, Hypervisor: deps.Hypervisor,
		Resolve: hostrpc.CacheResolver(deps.Cache, download), Blobs: blobs,
		Dir: filepath.Join(cfg.StateDir, "compute", "calls"), LeaseTTL: cfg.Cluster.LeaseTTL.Std(), Log: log})
	if err != nil {
		return func() {}, err
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = agent.Run(ctx) }()
	return func() { <-done }, nil
}

// libvirtDomainName names a server's domain as the hosts' libvirt driver
// does (the name depends on nothing else).
func libvirtDomainName(serverID string) string {
	return (*computelibvirt.Driver)(nil).DomainName(serverID)
}

package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"

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

// serviceLiveness is hostrpc's view of which hosts are up: the compute
// service's (heartbeats against cluster.service_down_time, forced down),
// once the service exists.
type serviceLiveness struct {
	svc atomic.Pointer[computeservice.Service]
}

// Up implements hostrpc.HostLiveness.
func (l *serviceLiveness) Up(ctx context.Context, host string) (bool, error) {
	svc := l.svc.Load()
	if svc == nil {
		return false, errors.New("the compute service is starting")
	}
	return svc.HostUp(ctx, host), nil
}

// remoteHosts reaches one named host's hypervisor through host calls
// (the source of a move, a host cleaning up after an evacuation).
type remoteHosts struct{ cfg hostrpc.Config }

// OnHost implements compute.HostHypervisors.
func (r remoteHosts) OnHost(_ context.Context, host string) (compute.Hypervisor, error) {
	cfg := r.cfg
	cfg.Hosts = hostrpc.OneHost(host)
	return hostrpc.New(cfg)
}

// useRemoteHosts makes deps reach the servers' hosts through host calls
// (the api role without the compute role): every hypervisor call becomes a
// row of host_calls that the server's host runs, and images travel as
// references each host resolves with its own cache. started hands the
// compute service over once it exists, for the hosts' liveness.
func useRemoteHosts(gdb *gorm.DB, blobs storage.Store, deps *computeservice.Deps, log *slog.Logger) (started func(*computeservice.Service), err error) {
	live := &serviceLiveness{}
	cfg := hostrpc.Config{DB: gdb, Hosts: hostrpc.FromServers(deps.Servers, ""), Liveness: live, Blobs: blobs,
		DomainName: libvirtDomainName, Log: log}
	hv, err := hostrpc.New(cfg)
	if err != nil {
		return nil, err
	}
	deps.Hypervisor, deps.Cache, deps.LazyBases, deps.HostHypervisors = hv, hostrpc.DeferredCache{}, nil, remoteHosts{cfg}
	deps.Precacher = remotePrecacher{hv: hv, images: deps.Images}
	return func(svc *computeservice.Service) { live.svc.Store(svc) }, nil
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

// startHostWithAgent opens this host (startHost) and serves the calls API
// replicas queue for it; stop ends the agent (once its running calls
// ended), then closes the host.
func startHostWithAgent(ctx context.Context, cfg config.Config, gdb *gorm.DB, deps *computeservice.Deps, blobs storage.Store,
	log *slog.Logger) (stop func(), err error) {
	closeHost, err := startHost(cfg, deps, log)
	if err != nil || deps.Hypervisor == nil {
		return closeHost, err
	}
	agentCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	wait, err := startAgent(agentCtx, cfg, gdb, deps.Member, *deps, blobs, log)
	if err != nil {
		cancel()
		return closeHost, err
	}
	return func() { cancel(); wait(); closeHost() }, nil
}

// remotePrecacher has compute hosts fetch images into their caches through
// host calls (os-aggregates' images action).
type remotePrecacher struct {
	hv     *hostrpc.Hypervisor
	images compute.Images
}

// Precache implements compute.ImagePrecacher.
func (p remotePrecacher) Precache(ctx context.Context, user policy.Credentials, host, imageID string) error {
	im, err := p.images.Get(ctx, user, imageID)
	if err != nil {
		return err
	}
	return p.hv.Precache(ctx, host, hostrpc.Ref(im.ID, im.Checksum))
}

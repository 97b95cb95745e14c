package service

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"imagestack/compute"
)

// SchedulerConfig tunes placement (configuration compute.scheduler).
type SchedulerConfig struct {
	// Allocation ratios this host registers with: it takes up to its
	// capacity x ratio of each resource. 0: Nova's defaults (4.0, 1.0, 1.0).
	CPUAllocationRatio, RAMAllocationRatio, DiskAllocationRatio float64
	// RAMWeightMultiplier weighs hosts by free RAM (Nova's
	// ram_weight_multiplier): positive spreads servers (and batches) over
	// the hosts with most room, negative packs them onto the fullest
	// hosts that still fit, 0 leaves hosts in name order.
	RAMWeightMultiplier float64
	// HostSubsetSize is how many of the best hosts a placement picks from
	// at random (Nova's host_subset_size; 0 or 1: always the best). More
	// than one makes API replicas placing at once race less for one host.
	HostSubsetSize int
}

// Nova's default allocation ratios.
const (
	defaultCPURatio  = 4.0
	defaultRAMRatio  = 1.0
	defaultDiskRatio = 1.0
)

// HostZones tells the availability zone of each compute host (host
// aggregates with an availability_zone); nil: every host is in the zone it
// registered in (the default zone).
type HostZones interface {
	// HostZones returns the zone of every host that is not in the default
	// zone; the hosts it leaves out are in the default zone.
	HostZones(ctx context.Context) (map[string]string, error)
}

// hostState is a compute node as the scheduler sees it at one reading.
type hostState struct {
	compute.ComputeNode
	used        compute.NodeUsage
	zone        string
	up, enabled bool
}

// placementRequest is what a server asks of a host.
type placementRequest struct {
	alloc        compute.Allocation // without Host
	zone         string             // "" any
	hvType, arch string             // from the image; "" any
	group        *compute.ServerGroup
	// exclude are hosts never chosen and only, when set, the one host
	// that may be (moves of a server between hosts).
	exclude []string
	only    string
}

// hostFilter is one of Nova's scheduler filters: pass says whether host h
// may take request r.
type hostFilter struct {
	name string
	pass func(h hostState, r placementRequest) bool
}

// hostFilters decide which hosts may take a request; all must pass.
var hostFilters = []hostFilter{
	{"ComputeFilter", func(h hostState, _ placementRequest) bool { return h.up && h.enabled }},
	{"ResourcesFilter", func(h hostState, r placementRequest) bool { return h.Fits(h.used, r.alloc) }},
	{"AvailabilityZoneFilter", func(h hostState, r placementRequest) bool { return r.zone == "" || r.zone == h.zone }},
	{"ImagePropertiesFilter", func(h hostState, r placementRequest) bool {
		return hvTypeMatches(r.hvType, h.HypervisorType) && (r.arch == "" || canonicalArch(r.arch) == h.Architecture)
	}},
}

// hvTypeMatches: libvirt's QEMU driver runs both qemu and kvm guests.
func hvTypeMatches(want, host string) bool {
	want, host = strings.ToLower(want), strings.ToLower(host)
	return want == "" || want == host || (host == "qemu" && want == "kvm")
}

// canonicalArch names an architecture as Nova does (x86_64, aarch64,
// i686, ...), whatever alias an image or Go uses.
func canonicalArch(a string) string {
	switch a = strings.ToLower(a); a {
	case "amd64", "x86-64", "x64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "386", "i386", "i486", "i586", "x86":
		return "i686"
	case "ppc64le":
		return "ppc64le"
	}
	return a
}

// candidates are the hosts that pass every filter, best first: weighed by
// free RAM (x the multiplier), then ordered by the server group's policy.
func (s *Service) candidates(hosts []hostState, r placementRequest) ([]hostState, error) {
	var pass []hostState
	for _, h := range hosts {
		if slices.Contains(r.exclude, h.Host) || (r.only != "" && h.Host != r.only) {
			continue
		}
		if !slices.ContainsFunc(hostFilters, func(f hostFilter) bool { return !f.pass(h, r) }) {
			pass = append(pass, h)
		}
	}
	m := s.Scheduler.RAMWeightMultiplier
	slices.SortStableFunc(pass, func(a, b hostState) int {
		return cmp.Or(cmp.Compare(m*b.FreeRAM(b.used), m*a.FreeRAM(a.used)), strings.Compare(a.Host, b.Host))
	})
	names := make([]string, len(pass))
	byName := make(map[string]hostState, len(pass))
	for i, h := range pass {
		names[i], byName[h.Host] = h.Host, h
	}
	ordered, err := groupOrder(names, r.group, r.alloc.ServerID)
	if err != nil {
		return nil, err
	}
	out := make([]hostState, len(ordered))
	for i, n := range ordered {
		out[i] = byName[n]
	}
	return out, nil
}

// Decision is one placement: the server, the host it got ("" none),
// how long reading, choosing and claiming took, how many claims were
// tried (more than one: other schedulers won races or filled hosts), and
// the error (errNoValidHost's message when no host fits).
type Decision struct {
	ServerID, Host string
	Took           time.Duration
	Claims         int
	Err            error
}

// claimRounds bounds how often a placement reads the hosts again after
// its claims lost races to other schedulers.
const claimRounds = 8

// claim places r: it claims r's resources on the best candidate, the next
// one when another scheduler changed that host meanwhile or filled it,
// and reads the hosts again when every try lost a race.
func (s *Service) claim(ctx context.Context, r placementRequest) (compute.ComputeNode, error) {
	d := Decision{ServerID: r.alloc.ServerID}
	start := time.Now()
	n, err := s.tryClaims(ctx, r, &d.Claims)
	if s.OnDecision != nil {
		d.Host, d.Took, d.Err = n.Host, time.Since(start), err
		s.OnDecision(d)
	}
	return n, err
}

// tryClaims is claim, counting the claims it tries in *claims.
func (s *Service) tryClaims(ctx context.Context, r placementRequest, claims *int) (compute.ComputeNode, error) {
	if s.Nodes == nil {
		return compute.ComputeNode{}, errNoValidHost
	}
	for round := range claimRounds {
		hosts, err := s.hostStates(ctx)
		if err != nil {
			return compute.ComputeNode{}, err
		}
		cands, err := s.candidates(hosts, r)
		if err != nil {
			return compute.ComputeNode{}, err
		}
		if n := min(s.Scheduler.HostSubsetSize, len(cands)); n > 1 {
			rand.Shuffle(n, func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
		}
		raced := false
		for _, h := range cands {
			a := r.alloc
			a.Host = h.Host
			*claims++
			err := s.Nodes.Claim(ctx, a, h.Generation)
			switch {
			case err == nil:
				return h.ComputeNode, nil
			case errors.Is(err, compute.ErrGenerationChanged):
				raced = true
			case !errors.Is(err, compute.ErrNoRoom):
				return compute.ComputeNode{}, err
			}
		}
		if !raced {
			break
		}
		select { // apart, so that the schedulers that raced do not meet again in step
		case <-time.After(time.Duration(rand.N(1+round)+1) * 5 * time.Millisecond):
		case <-ctx.Done():
			return compute.ComputeNode{}, ctx.Err()
		}
	}
	return compute.ComputeNode{}, errNoValidHost
}

// hostStates reads every compute node with what is allocated on it, its
// zone and its nova-compute service's state. Nodes are read before the
// allocations: a claim committed in between moved a node's generation,
// so a claim from this reading fails rather than overcommit.
func (s *Service) hostStates(ctx context.Context) ([]hostState, error) {
	nodes, usage, err := s.nodesAndUsage(ctx)
	if err != nil {
		return nil, err
	}
	services, err := s.computeServices(ctx)
	if err != nil {
		return nil, err
	}
	zones, err := s.hostZones(ctx)
	if err != nil {
		return nil, err
	}
	var out []hostState
	for _, n := range nodes {
		sv, ok := services[n.Host]
		if !ok {
			continue // its compute service was deleted: Nova skips the node
		}
		h := hostState{ComputeNode: n, used: usage[n.Host], zone: s.zoneOf(zones, n.Host, n.Zone),
			up: s.alive(n) && !sv.ForcedDown, enabled: !sv.Disabled}
		out = append(out, h)
	}
	return out, nil
}

// nodesAndUsage reads the compute nodes, then what is allocated on each.
func (s *Service) nodesAndUsage(ctx context.Context) ([]compute.ComputeNode, map[string]compute.NodeUsage, error) {
	nodes, err := s.Nodes.ListNodes(ctx)
	if err != nil {
		return nil, nil, err
	}
	usage, err := s.Nodes.NodeUsage(ctx)
	return nodes, usage, err
}

// computeServices returns the nova-compute services by host.
func (s *Service) computeServices(ctx context.Context) (map[string]compute.HostService, error) {
	out := map[string]compute.HostService{}
	if s.HostServices == nil {
		for _, n := range []string{s.host()} {
			out[n] = compute.HostService{Host: n, Binary: compute.BinaryCompute}
		}
		return out, nil
	}
	list, err := s.HostServices.ListHostServices(ctx)
	for _, hs := range list {
		if hs.Binary == compute.BinaryCompute {
			out[hs.Host] = hs
		}
	}
	return out, err
}

// requestFor is what sv asks of a host: its flavor's resources, its zone,
// its image's hypervisor type and architecture (its group is read when
// it is placed).
func (s *Service) requestFor(ctx context.Context, c Caller, sv *compute.Server) (placementRequest, error) {
	r := placementRequest{alloc: compute.Allocation{ServerID: sv.ID, VCPUs: sv.VCPUs, MemoryMB: sv.RAM, DiskGB: sv.Disk}}
	r.zone, _, _ = strings.Cut(sv.AvailabilityZone, ":")
	imageID := sv.ImageID
	if id := sv.SystemMetadata[compute.SysShelvedImageID]; id != "" && sv.VMState == compute.VMShelvedOffloaded {
		imageID = id
	}
	if im, err := s.Images.Get(ctx, c.Creds, imageID); err == nil {
		r.hvType = cmp.Or(im.Properties["img_hv_type"], im.Properties["hypervisor_type"])
		r.arch = cmp.Or(im.Properties["hw_architecture"], im.Properties["architecture"])
	}
	return r, nil
}

package service

import (
	"context"
	"errors"
	"fmt"
	"os"

	"imagestack/common/cluster"
	"imagestack/compute"
	"imagestack/policy"
)

// HostOf is the compute host of member m: its Host, or the machine's name.
func HostOf(m cluster.Member) string {
	if m.Host != "" {
		return m.Host
	}
	name, _ := os.Hostname()
	return name
}

// BasesInUse returns the ids of the images whose bases this host's cache
// must keep (see BasesInUseOn). It is the image cache's InUse.
func (s *Service) BasesInUse(ctx context.Context) (map[string]bool, error) {
	return BasesInUseOn(ctx, s.Servers, s.host())
}

// BasesInUseOn returns the ids of the images whose bases host's cache must
// keep: the image, kernel and ramdisk of every live server placed on host
// (or on no host yet: a single-host deployment), but those offloaded and
// not being unshelved (they have no overlay there). It reads the servers'
// records, so it holds across restarts; a record names its images before
// its boot asks the cache for them. A compute-role process without a
// compute service wires its cache's InUse with it.
func BasesInUseOn(ctx context.Context, repo compute.ServerRepository, host string) (map[string]bool, error) {
	servers, err := repo.ListServers(ctx, compute.ServerFilter{})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, sv := range servers {
		if sv.Host != "" && sv.Host != host {
			continue
		}
		if sv.VMState == compute.VMShelvedOffloaded && sv.TaskState == compute.TaskNone {
			continue
		}
		for _, id := range []string{sv.ImageID, sv.KernelID, sv.RamdiskID} {
			if id != "" {
				out[id] = true
			}
		}
	}
	return out, nil
}

// CacheAggregateImages asks every host of aggregate id to cache images
// (Nova's 2.81 os-aggregates images action, admins by default): each must
// be an image the caller sees (400 otherwise), listed once. The hosts
// fetch them in the background through Precacher (this host's own cache
// when none is wired), one image at a time per host; failures are logged.
func (s *Service) CacheAggregateImages(ctx context.Context, c Caller, id int, images []string) error {
	if err := s.authorize(c, "compute:aggregates:images", nil); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, im := range images {
		if seen[im] {
			return compute.Errorf(compute.ErrBadRequest, "Duplicate images in request")
		}
		seen[im] = true
	}
	repo, err := s.aggregateRepo()
	if err != nil {
		return err
	}
	agg, err := repo.GetAggregate(ctx, id)
	if errors.Is(err, compute.ErrNotFound) {
		return aggregateNotFound(id)
	} else if err != nil {
		return err
	}
	for _, im := range images {
		if _, err := s.Images.Get(ctx, c.Creds, im); errors.Is(err, compute.ErrNotFound) {
			return compute.Errorf(compute.ErrBadRequest, "Image %s could not be found.", im)
		} else if err != nil {
			return err
		}
	}
	for _, host := range agg.Hosts {
		s.precacheOn(c.Creds, host, images)
	}
	return nil
}

// precacheOn fetches images into host's cache in the background, until
// done or the service shuts down.
func (s *Service) precacheOn(user policy.Credentials, host string, images []string) {
	p := s.Precacher
	if p == nil {
		p = LocalPrecacher{Service: s}
	}
	s.tasks.Add(1)
	go func() {
		defer s.tasks.Done()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-s.quit:
				cancel()
			case <-ctx.Done():
			}
		}()
		for _, im := range images {
			start := s.now()
			if err := p.Precache(ctx, user, host, im); err != nil {
				s.log.Error("could not cache an image on a host", "host", host, "image", im, "err", err)
				continue
			}
			s.log.Info("image cached on a host", "host", host, "image", im, "duration_ms", s.now().Sub(start).Milliseconds())
		}
	}()
}

// LocalPrecacher caches images on this host only, through the cache's
// single-flight download that boots use: the precacher of a single-host
// deployment. Other hosts are ErrUnavailable (a deployment of several
// wires one that reaches them).
type LocalPrecacher struct{ Service *Service }

// Precache implements compute.ImagePrecacher.
func (l LocalPrecacher) Precache(ctx context.Context, user policy.Credentials, host, imageID string) error {
	s := l.Service
	if host != s.host() {
		return fmt.Errorf("host %s is not this one (%s): %w", host, s.host(), compute.ErrUnavailable)
	}
	if s.Cache == nil {
		return fmt.Errorf("this host has no image cache: %w", compute.ErrUnavailable)
	}
	im, err := s.Images.Get(ctx, user, imageID)
	if err != nil {
		return err
	}
	_, err = s.cachedImage(ctx, Caller{Creds: user}, im)
	return err
}

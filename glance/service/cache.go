package service

import (
	"context"
	"errors"
	"io"
	"time"

	"imagestack/glance"
	"imagestack/glance/cache"
	"imagestack/policy"
)

// The image cache (Glance's image_cache_dir): downloads of active images
// go through it when one is configured, and /v2/cache manages it. Without
// one the API still answers, with empty lists, as the issue asks (Glance
// answers 404 there).

// CacheState is GET /v2/cache: the cached images and the queue.
type CacheState struct {
	Cached []cache.Entry
	Queued []string
}

// CacheCleared is what DELETE /v2/cache removed, per target.
type CacheCleared struct {
	Cached, Queued int
}

// cacheImage is what the cache needs of an image with data.
func cacheImage(im *glance.Image) cache.Image {
	return cache.Image{ID: im.ID, Size: deref(im.Size), MD5: deref(im.Checksum), SHA512: sha512Of(im)}
}

func sha512Of(im *glance.Image) string {
	if deref(im.OSHashAlgo) != "sha512" {
		return ""
	}
	return deref(im.OSHashValue)
}

// opener reads im's data from its stores, for the cache.
func (s *Service) opener(im *glance.Image) cache.Opener {
	return func(ctx context.Context, offset, length int64) (io.ReadCloser, error) {
		return s.openData(ctx, im, im.ActiveStores(), offset, length)
	}
}

// readThrough opens im's data through the cache when there is one and the
// image is active (a deactivated image's data is never cached).
func (s *Service) readThrough(ctx context.Context, im *glance.Image, offset, length int64) (io.ReadCloser, error) {
	if s.cache == nil || im.Status != glance.StatusActive {
		return s.openData(ctx, im, im.ActiveStores(), offset, length)
	}
	return s.cache.Read(ctx, cacheImage(im), offset, length, s.opener(im))
}

// uncache drops an image that was deleted or deactivated from the cache.
func (s *Service) uncache(id string) {
	if s.cache != nil {
		s.cache.Drop(id)
	}
}

// StartCache removes entries of images deleted, deactivated or changed
// while the service was stopped, then caches queued images in the
// background until ctx ends. Nothing without a cache.
func (s *Service) StartCache(ctx context.Context) error {
	if s.cache == nil {
		return nil
	}
	for _, e := range s.cache.List() {
		im, err := s.repo.Get(ctx, e.ImageID)
		if errors.Is(err, glance.ErrNotFound) || (err == nil && (im.Status != glance.StatusActive || deref(im.Size) != e.Size)) {
			s.cache.Drop(e.ImageID)
			s.log.Info("image cache: entry of an image deleted or changed meanwhile removed", "image", e.ImageID)
		} else if err != nil {
			return err
		}
	}
	go s.cache.Run(ctx, s.prefetch)
	return nil
}

// prefetch caches a queued image, if it is still active with data.
func (s *Service) prefetch(ctx context.Context, id string) error {
	im, err := s.repo.Get(ctx, id)
	if errors.Is(err, glance.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if im.Status != glance.StatusActive || !HasData(im) {
		return nil
	}
	start := time.Now()
	if err := s.cache.Prefetch(ctx, cacheImage(im), s.opener(im)); err != nil {
		return err
	}
	s.log.Info("image cache: queued image cached", "image", id, "duration_ms", time.Since(start).Milliseconds())
	return nil
}

// CacheState lists the cache and its queue (policy cache_list).
func (s *Service) CacheState(c Caller) (CacheState, error) {
	if err := s.authorizeCache(c, "cache_list", policy.Target{}); err != nil {
		return CacheState{}, err
	}
	st := CacheState{Cached: []cache.Entry{}, Queued: []string{}}
	if s.cache != nil {
		st.Cached, st.Queued = s.cache.List(), s.cache.Queued()
	}
	return st, nil
}

// QueueCache queues an active image for caching (PUT /v2/cache/{id},
// policy cache_image). Without a cache: 404, as Glance.
func (s *Service) QueueCache(ctx context.Context, c Caller, id string) error {
	im, err := s.load(ctx, c, id)
	if errors.Is(err, glance.ErrNotFound) {
		return glance.Errorf(glance.ErrNotFound, "Image %s not found.", id)
	}
	if err != nil {
		return err
	}
	if err := s.authorizeCache(c, "cache_image", im.target(c)); err != nil {
		return err
	}
	if s.cache == nil {
		return glance.Errorf(glance.ErrNotFound, "Caching via API is not supported at this site.")
	}
	if im.Status != glance.StatusActive {
		return glance.Errorf(glance.ErrBadRequest, "Only images with status active can be targeted for queueing")
	}
	_, err = s.cache.Queue(id)
	return err
}

// DeleteCached removes an image from the cache and the queue (DELETE
// /v2/cache/{id}, policy cache_delete). An image that does not exist (or
// that the caller may not see) is 404 unless it is still cached or queued.
func (s *Service) DeleteCached(ctx context.Context, c Caller, id string) error {
	target := policy.Target{}
	im, err := s.load(ctx, c, id)
	switch {
	case err == nil:
		target = im.target(c)
	case !errors.Is(err, glance.ErrNotFound):
		return err
	case s.cache == nil || !(s.cache.Has(id) || s.cache.IsQueued(id)):
		return glance.Errorf(glance.ErrNotFound, "Image %s not found.", id)
	}
	if err := s.authorizeCache(c, "cache_delete", target); err != nil {
		return err
	}
	s.uncache(id)
	return nil
}

// ClearCache empties the cache, the queue or both (DELETE /v2/cache with
// x-image-cache-clear-target "cache", "queue" or empty; policy cache_delete).
func (s *Service) ClearCache(c Caller, target string) (CacheCleared, error) {
	if err := s.authorizeCache(c, "cache_delete", policy.Target{}); err != nil {
		return CacheCleared{}, err
	}
	if target != "" && target != "cache" && target != "queue" {
		return CacheCleared{}, glance.Errorf(glance.ErrBadRequest, "If provided 'x-image-cache-clear-target' must be 'cache', 'queue' or empty string.")
	}
	var out CacheCleared
	if s.cache == nil {
		return out, nil
	}
	if target != "queue" {
		out.Cached = s.cache.Clear()
	}
	if target != "cache" {
		out.Queued = s.cache.ClearQueue()
	}
	return out, nil
}

// authorizeCache checks a cache rule; denial is Glance's bare 403.
func (s *Service) authorizeCache(c Caller, rule string, t policy.Target) error {
	if s.authz.Enforce(rule, t, c.Creds) {
		return nil
	}
	return glance.Errorf(glance.ErrForbidden, "Access was denied to this resource.")
}

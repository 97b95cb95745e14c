package service

import (
	"context"
	"errors"
	"time"

	"imagestack/glance"
	"imagestack/storage"
)

// Clean-up that an engine outage must not turn into lasting damage: the
// image of a failed upload has to go back to queued and its partial data
// has to go, even when the database or the store is out of reach at that
// moment. Such work is retried in the background while it fails for an
// outage, with pauses growing from retryFirst to retryMax, for at most
// retryPatience; a restart in between repairs the rest (RecoverInterrupted).
var (
	retryFirst    = time.Second
	retryMax      = 30 * time.Second
	retryPatience = time.Hour
)

// storesReachable refuses (503) to delete an image while a store holding
// its data is out of reach: the row would go and the data stay behind.
func (s *Service) storesReachable(ctx context.Context, im *glance.Image) error {
	for _, l := range im.Locations {
		st, ok := s.stores.byID[l.Store]
		if !ok || im.BlobKey == "" {
			continue
		}
		if _, err := st.Stat(ctx, im.BlobKey); errors.Is(err, storage.ErrUnavailable) {
			return glance.Errorf(glance.ErrUnavailable, "The image store is unavailable; try again later.")
		}
	}
	return nil
}

// isOutage reports an error of the database or a store being out of reach.
func isOutage(err error) bool {
	return errors.Is(err, glance.ErrUnavailable) || errors.Is(err, storage.ErrUnavailable)
}

// untilReachable runs work now and, while it fails for an outage, again in
// the background until it succeeds. Other failures are logged once.
func (s *Service) untilReachable(ctx context.Context, what string, work func(context.Context) error) {
	ctx = context.WithoutCancel(ctx)
	err := work(ctx)
	if err == nil {
		return
	}
	if !isOutage(err) {
		s.log.Error("could not "+what, "err", err)
		return
	}
	s.log.Warn("could not "+what+" now; retrying until the engine is back", "err", err)
	go func() {
		pause := retryFirst
		for deadline := time.Now().Add(retryPatience); time.Now().Before(deadline); {
			time.Sleep(pause)
			pause = min(2*pause, retryMax)
			if err = work(ctx); err == nil || !isOutage(err) {
				break
			}
		}
		if err != nil {
			s.log.Error("gave up: could not "+what, "err", err)
		} else {
			s.log.Info("done after the engine came back: " + what)
		}
	}()
}

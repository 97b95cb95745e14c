package service

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"imagestack/common/metrics"
	"imagestack/common/reqid"
	"imagestack/compute"
)

// A server's life after the request that changed it: background work, one
// operation per server at a time, and the rule that a delete wins. Once a
// server is being deleted (task_state deleting) or deleted, no boot, action
// or snapshot step may change it any more, neither to ACTIVE nor to ERROR:
// the delete alone decides how it ends.

// errGone tells a background step that its server is deleted or being
// deleted, so the step leaves it alone.
var errGone = errors.New("the server is deleted or being deleted")

// gone reports whether a delete has claimed sv.
func gone(sv *compute.Server) bool {
	return sv.VMState == compute.VMDeleted || sv.TaskState == compute.TaskDeleting
}

// background runs work for a server after the request req returns, one
// operation per server at a time, under this member's lease on the
// server's task (tasklease.go): work waits while another member's live
// lease holds the server, and its context ends if the lease is lost.
func (s *Service) background(req context.Context, serverID string, work func(ctx context.Context)) {
	s.tasks.Add(1)
	lease, first := s.leases.enter(serverID)
	ids := reqid.FromContext(req) // the work logs, and sends to hosts, the request's ids
	go func() {
		defer s.tasks.Done()
		defer metrics.ServerTaskRunning()()
		defer s.leases.leave(serverID)
		ctx, ok := s.leases.await(serverID, lease, first, s.quit)
		if !ok {
			return
		}
		ctx = reqid.WithIDs(ctx, ids)
		mu, _ := s.locks.LoadOrStore(serverID, &sync.Mutex{})
		mu.(*sync.Mutex).Lock()
		defer mu.(*sync.Mutex).Unlock()
		work(ctx)
		s.finishPending(context.Background(), serverID)
	}()
}

// update loads a server, applies change and saves it, holding the server's
// row lock so that concurrent updates (an API call during a background
// boot, say) never overwrite each other.
func (s *Service) update(ctx context.Context, id string, change func(*compute.Server)) (*compute.Server, error) {
	return s.updateIf(ctx, id, func(sv *compute.Server) error { change(sv); return nil })
}

// updateIf is update whose change may refuse (its error is returned and
// nothing is saved): check-and-set of a server's state in one step.
func (s *Service) updateIf(ctx context.Context, id string, change func(*compute.Server) error) (*compute.Server, error) {
	mu, _ := s.rows.LoadOrStore(id, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	sv, err := s.Servers.GetServer(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := change(sv); err != nil {
		return nil, err
	}
	sv.UpdatedAt = s.now().UTC()
	return sv, s.Servers.UpdateServer(ctx, sv)
}

// progress is update for the steps of background work: it changes nothing
// of a server a delete has claimed, and says so with errGone.
func (s *Service) progress(ctx context.Context, id string, change func(*compute.Server)) (*compute.Server, error) {
	return s.updateIf(ctx, id, func(sv *compute.Server) error {
		if err := s.leases.fence(sv); err != nil {
			return err
		}
		if gone(sv) {
			return errGone
		}
		change(sv)
		return nil
	})
}

// Retry pauses of settle: the outcome of background work that met an
// unreachable database is recorded once it answers again, with pauses from
// settleFirst growing to settleMax, for at most settlePatience (a restart
// in between turns what is left into ERROR, see Reconcile).
var (
	settleFirst    = time.Second
	settleMax      = 30 * time.Second
	settlePatience = time.Hour
)

// settle is progress for the outcome of background work (ACTIVE, ERROR,
// deleted): while the database is out of reach it is retried, so that a
// server does not stay in BUILD or deleting after the database is back.
// Shutdown ends the retries.
func (s *Service) settle(ctx context.Context, id string, change func(*compute.Server) error) (*compute.Server, error) {
	pause, deadline := settleFirst, time.Now().Add(settlePatience)
	fenced := func(sv *compute.Server) error {
		if err := s.leases.fence(sv); err != nil {
			return err
		}
		return change(sv)
	}
	for {
		sv, err := s.updateIf(ctx, id, fenced)
		if !errors.Is(err, compute.ErrUnavailable) || time.Now().After(deadline) {
			return sv, err
		}
		s.log.Warn("could not record a server's state now; retrying until the database is back", "server", id, "err", err)
		select {
		case <-time.After(pause):
		case <-s.quit:
			return sv, err
		}
		pause = min(2*pause, settleMax)
	}
}

// unlessGone wraps change so that it leaves a server a delete has claimed
// alone, saying so with errGone (progress for settle).
func unlessGone(change func(*compute.Server)) func(*compute.Server) error {
	return func(sv *compute.Server) error {
		if gone(sv) {
			return errGone
		}
		change(sv)
		return nil
	}
}

// maxFaultLen bounds a fault message (qemu-img and libvirt can say a lot).
const maxFaultLen = 1024

func faultMessage(err error) string {
	msg := err.Error()
	if utf8.RuneCountInString(msg) > maxFaultLen {
		msg = string([]rune(msg)[:maxFaultLen]) + "..."
	}
	return msg
}

// failServer puts a server into ERROR with a fault message, unless a
// delete has claimed it (the failure of a step the delete made pointless).
func (s *Service) failServer(ctx context.Context, id string, cause error) {
	_, err := s.settle(ctx, id, unlessGone(func(sv *compute.Server) {
		sv.VMState, sv.TaskState, sv.Fault = compute.VMError, compute.TaskNone, faultMessage(cause)
	}))
	switch {
	case errors.Is(err, errGone):
		s.log.Info("server operation ended by a delete", "server", id, "err", cause)
	case err != nil:
		s.log.Error("could not record server failure", "server", id, "cause", cause, "err", err)
	default:
		s.log.Error("server operation failed", "server", id, "err", cause)
	}
}

// boot brings a new server up: base image (cached), disk, domain.
func (s *Service) boot(ctx context.Context, c Caller, id, adminPass string) {
	sv, err := s.progress(ctx, id, func(sv *compute.Server) { sv.TaskState = compute.TaskSpawning })
	if err != nil {
		if !errors.Is(err, errGone) {
			s.log.Error("boot: server vanished", "server", id, "err", err)
		}
		return
	}
	if err := s.schedule(ctx, c, id); err != nil {
		s.failServer(ctx, id, err)
		return
	}
	s.provision(ctx, c, id, sv.ImageID, adminPass, s.Hypervisor.Spawn)
}

// provision readies the server's base image (downloaded once into the host
// cache), its kernel and ramdisk if the image names them, and its config
// drive, and hands place (Spawn or Rebuild) the server's spec; the server
// ends ACTIVE and running, or in ERROR with the cause, unless a delete
// claims it meanwhile.
func (s *Service) provision(ctx context.Context, c Caller, id, imageRef, adminPass string, place func(context.Context, compute.SpawnSpec) error) {
	start := time.Now()
	spec, arriving, err := s.spawnSpec(ctx, c, id, imageRef, adminPass, true)
	if errors.Is(err, errGone) {
		return
	}
	prepared := time.Now()
	if err == nil {
		err = place(ctx, spec)
	}
	if arriving != nil {
		arriving.Booted()
	}
	if err != nil {
		s.failServer(ctx, id, err)
		return
	}
	s.log.Info("server's VM started", "server", id, "image", imageRef, "base_arriving", spec.LazyBase != nil,
		"prepare_ms", prepared.Sub(start).Milliseconds(), "spawn_ms", time.Since(prepared).Milliseconds())
	if arriving != nil {
		go s.watchBase(id, imageRef, arriving)
	}
	now := s.now().UTC()
	if _, err := s.settle(ctx, id, unlessGone(func(sv *compute.Server) {
		sv.VMState, sv.TaskState, sv.PowerState, sv.LaunchedAt = compute.VMActive, compute.TaskNone, compute.PowerRunning, &now
	})); err != nil && !errors.Is(err, errGone) {
		s.log.Error("could not record the active server", "server", id, "err", err)
	}
}

// spawnSpec gathers what the hypervisor needs to boot a server: its base
// image (an ami image is raw), kernel and ramdisk, NICs and config drive.
// When the base is still arriving (only if lazyOK), it is returned too.
func (s *Service) spawnSpec(ctx context.Context, c Caller, id, imageRef, adminPass string, lazyOK bool) (compute.SpawnSpec, compute.ArrivingBase, error) {
	im, err := s.Images.Get(ctx, c.Creds, imageRef)
	if err != nil {
		return compute.SpawnSpec{}, nil, fmt.Errorf("image %s: %w", imageRef, err)
	}
	base, lazy, arriving, err := s.rootBase(ctx, c, im, lazyOK)
	if err != nil {
		return compute.SpawnSpec{}, nil, err
	}
	sv, err := s.Servers.GetServer(ctx, id)
	if err != nil || gone(sv) {
		return compute.SpawnSpec{}, nil, errGone
	}
	spec := compute.SpawnSpec{ServerID: id, Name: sv.Name, MemoryMiB: sv.RAM, VCPUs: sv.VCPUs, RootGB: sv.Disk,
		BaseImage: base, BaseFormat: im.DiskFormat, LazyBase: lazy}
	if spec.BaseFormat == "ami" {
		spec.BaseFormat = "raw"
	}
	for _, n := range sv.NICs {
		spec.NICs = append(spec.NICs, n.VIF())
	}
	if err := s.bootFiles(ctx, c, im, &spec); err != nil {
		return spec, nil, err
	}
	spec.ConfigDrive, err = s.buildConfigDrive(ctx, sv, adminPass)
	return spec, arriving, err
}

// Delete removes a server: its domain and disks go, the record is marked
// deleted. It wins over whatever else the server is doing: the operation
// in progress finishes (or is skipped if it has not started) without
// changing the server, then the delete runs. Deleting a server already
// being deleted changes nothing.
func (s *Service) Delete(ctx context.Context, c Caller, id string) error {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return err
	}
	if !s.authz.Enforce("os_compute_api:servers:delete", serverTarget(sv), c.Creds) {
		return compute.Errorf(compute.ErrForbidden, "Policy doesn't allow os_compute_api:servers:delete to be performed.")
	}
	if err := checkLock(c, sv); err != nil {
		return err
	}
	if s.softDeletes(sv) {
		return s.softDelete(ctx, c, id)
	}
	return s.deleteNow(ctx, c, id)
}

// deleteNow claims a server for a delete and deletes it in the background.
func (s *Service) deleteNow(ctx context.Context, c Caller, id string) error {
	return s.claimDelete(ctx, c, id, compute.TaskDeleting, s.finishDelete)
}

// claimDelete marks a server with a delete's task and runs finish in the
// background; a server already being deleted that way is left as it is.
func (s *Service) claimDelete(ctx context.Context, c Caller, id, task string, finish func(context.Context, string)) error {
	sv, err := s.updateIf(ctx, id, func(sv *compute.Server) error {
		if gone(sv) || sv.TaskState == task {
			return errGone
		}
		sv.TaskState = task
		return nil
	})
	if errors.Is(err, errGone) {
		return nil
	}
	if err != nil {
		return err
	}
	s.record(ctx, c, id, compute.ActionDelete)
	s.deleteShelvedImage(ctx, c, sv)
	s.background(ctx, id, func(ctx context.Context) { finish(ctx, id) })
	return nil
}

// finishDelete destroys a server's domain and files, releases its ports
// and marks it deleted; if the hypervisor or the network service fails,
// the server goes to ERROR (as in Nova) and can be deleted again.
func (s *Service) finishDelete(ctx context.Context, id string) {
	if s.Hypervisor != nil {
		if err := s.dropMoveSource(ctx, id); err != nil {
			s.failDelete(ctx, id, err)
			return
		}
		if err := s.Hypervisor.Destroy(ctx, id); err != nil {
			s.failDelete(ctx, id, err)
			return
		}
	}
	s.removeConfigDrive(id)
	if err := s.releaseNetworks(ctx, id); err != nil {
		s.failDelete(ctx, id, fmt.Errorf("ports: %w", err))
		return
	}
	if _, err := s.settle(ctx, id, func(sv *compute.Server) error {
		sv.VMState, sv.TaskState, sv.PowerState = compute.VMDeleted, compute.TaskNone, compute.PowerNoState
		return nil
	}); err != nil {
		s.log.Error("could not record deleted server", "server", id, "err", err)
	}
	s.release(ctx, id)
	s.leaveGroup(ctx, id)
	if s.Consoles != nil {
		s.Consoles.Revoke(ctx, id)
	}
	s.locks.Delete(id)
	s.rows.Delete(id)
}

// failDelete records a delete that could not finish: the server is in
// ERROR with the cause.
func (s *Service) failDelete(ctx context.Context, id string, cause error) {
	s.log.Error("delete failed", "server", id, "err", cause)
	if _, err := s.settle(ctx, id, func(sv *compute.Server) error {
		sv.VMState, sv.TaskState, sv.Fault = compute.VMError, compute.TaskNone, faultMessage(fmt.Errorf("delete: %w", cause))
		return nil
	}); err != nil {
		s.log.Error("could not record the failed delete", "server", id, "err", err)
	}
}

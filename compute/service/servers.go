package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/google/uuid"

	"imagestack/compute"
	"imagestack/policy"
)

// CreateRequest is a parsed POST /servers body.
type CreateRequest struct {
	Name                string
	ImageRef, FlavorRef string
	MinCount, MaxCount  int
	Metadata            map[string]string
	KeyName             string
}

// CreateResult is what POST /servers answers.
type CreateResult struct {
	Servers       []*compute.Server
	ReservationID string
	AdminPass     string
}

// serverTarget is Nova's policy target for a server.
func serverTarget(sv *compute.Server) policy.Target {
	return policy.Target{"project_id": sv.ProjectID, "user_id": sv.UserID}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// checkImageFits refuses an image that is not usable with flavor, as Nova does (400).
func (s *Service) checkImageFits(ctx context.Context, c Caller, imageRef string, f compute.Flavor) (compute.ImageInfo, error) {
	im, err := s.Images.Get(ctx, c.Creds, imageRef)
	if errors.Is(err, compute.ErrNotFound) {
		return im, compute.Errorf(compute.ErrBadRequest, "Image %s could not be found.", imageRef)
	}
	if err != nil {
		return im, err
	}
	if im.Status != "active" {
		return im, compute.Errorf(compute.ErrBadRequest, "Image %s is not active.", imageRef)
	}
	if im.DiskFormat != "raw" && im.DiskFormat != "qcow2" {
		return im, compute.Errorf(compute.ErrBadRequest, "Image %s has disk format %q; only raw and qcow2 images can boot here.", imageRef, im.DiskFormat)
	}
	if f.RAM < im.MinRAM {
		return im, compute.Errorf(compute.ErrBadRequest, "Flavor's memory is too small for requested image.")
	}
	if f.Disk > 0 {
		gib := int64(1) << 30
		if int64(f.Disk) < int64(im.MinDisk) || int64(f.Disk)*gib < im.Size || int64(f.Disk)*gib < im.VirtualSize {
			return im, compute.Errorf(compute.ErrBadRequest, "Flavor's disk is too small for requested image. Flavor disk is %d GiB; the image needs %d GiB (min_disk) and %d bytes.", f.Disk, im.MinDisk, max(im.Size, im.VirtualSize))
		}
	}
	return im, nil
}

// Create validates a request, reserves quota and starts booting
// MaxCount servers (or as many as quota allows, at least MinCount).
func (s *Service) Create(ctx context.Context, c Caller, req CreateRequest) (*CreateResult, error) {
	if err := s.authorize(c, "os_compute_api:servers:create", nil); err != nil {
		return nil, err
	}
	if req.Name == "" || utf8.RuneCountInString(req.Name) > 255 {
		return nil, compute.Errorf(compute.ErrBadRequest, "Invalid input for field/attribute name: it must be 1 to 255 characters long.")
	}
	if req.MinCount < 1 || req.MaxCount < req.MinCount {
		return nil, compute.Errorf(compute.ErrBadRequest, "min_count must be >= 1 and max_count >= min_count.")
	}
	f, err := s.flavors.GetFlavor(ctx, req.FlavorRef)
	if errors.Is(err, compute.ErrNotFound) {
		return nil, compute.Errorf(compute.ErrBadRequest, "Flavor %s could not be found.", req.FlavorRef)
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.checkImageFits(ctx, c, req.ImageRef, f); err != nil {
		return nil, err
	}
	if req.KeyName != "" {
		if _, err := s.KeyPairs.GetKeyPair(ctx, c.Creds.UserID, req.KeyName); err != nil {
			if errors.Is(err, compute.ErrNotFound) {
				return nil, compute.Errorf(compute.ErrBadRequest, "Invalid key_name provided.")
			}
			return nil, err
		}
	}
	if s.Hypervisor == nil {
		return nil, compute.Errorf(compute.ErrUnavailable, "No hypervisor is available on this host.")
	}
	count, err := s.fitQuota(ctx, c.Creds.ProjectID, f, req.MinCount, req.MaxCount)
	if err != nil {
		return nil, err
	}
	res := &CreateResult{ReservationID: "r-" + randomHex(4), AdminPass: randomHex(6)}
	now := s.now().UTC()
	for i := 0; i < count; i++ {
		name := req.Name
		if count > 1 {
			name = fmt.Sprintf("%s-%d", req.Name, i+1)
		}
		md := map[string]string{}
		for k, v := range req.Metadata {
			md[k] = v
		}
		res.Servers = append(res.Servers, &compute.Server{
			ID: uuid.NewString(), Name: name, ProjectID: c.Creds.ProjectID, UserID: c.Creds.UserID,
			ImageID: req.ImageRef, FlavorID: f.ID, RAM: f.RAM, VCPUs: f.VCPUs, Disk: f.Disk,
			VMState: compute.VMBuilding, TaskState: compute.TaskScheduling, ReservationID: res.ReservationID,
			KeyName: req.KeyName, Metadata: md, CreatedAt: now, UpdatedAt: now,
		})
	}
	if err := s.Servers.CreateServers(ctx, res.Servers); err != nil {
		return nil, err
	}
	for _, sv := range res.Servers {
		s.background(sv.ID, func(ctx context.Context) { s.boot(ctx, c, sv.ID) })
	}
	return res, nil
}

// fitQuota returns how many of [min, max] servers the project may still create.
func (s *Service) fitQuota(ctx context.Context, project string, f compute.Flavor, minCount, maxCount int) (int, error) {
	n, cores, ram, err := s.Servers.CountUsage(ctx, project)
	if err != nil {
		return 0, err
	}
	q := s.Quotas
	fits := maxCount
	fits = min(fits, q.Instances-n)
	if f.VCPUs > 0 {
		fits = min(fits, (q.Cores-cores)/f.VCPUs)
	}
	if f.RAM > 0 {
		fits = min(fits, (q.RAM-ram)/f.RAM)
	}
	if fits < minCount {
		switch {
		case n+minCount > q.Instances:
			return 0, compute.Errorf(compute.ErrOverQuota, "Quota exceeded for instances: Requested %d, but already used %d of %d instances", minCount, n, q.Instances)
		case cores+minCount*f.VCPUs > q.Cores:
			return 0, compute.Errorf(compute.ErrOverQuota, "Quota exceeded for cores: Requested %d, but already used %d of %d cores", minCount*f.VCPUs, cores, q.Cores)
		default:
			return 0, compute.Errorf(compute.ErrOverQuota, "Quota exceeded for ram: Requested %d, but already used %d of %d ram", minCount*f.RAM, ram, q.RAM)
		}
	}
	return fits, nil
}

// background runs work for a server after the request returns, one
// operation per server at a time.
func (s *Service) background(serverID string, work func(ctx context.Context)) {
	s.tasks.Add(1)
	go func() {
		defer s.tasks.Done()
		mu, _ := s.locks.LoadOrStore(serverID, &sync.Mutex{})
		mu.(*sync.Mutex).Lock()
		defer mu.(*sync.Mutex).Unlock()
		work(context.Background())
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

// fail puts a server into ERROR with a fault message.
func (s *Service) failServer(ctx context.Context, id string, cause error) {
	s.log.Error("server operation failed", "server", id, "err", cause)
	if _, err := s.update(ctx, id, func(sv *compute.Server) {
		sv.VMState, sv.TaskState, sv.Fault = compute.VMError, compute.TaskNone, cause.Error()
	}); err != nil {
		s.log.Error("could not record server failure", "server", id, "err", err)
	}
}

// boot brings a new server up: base image (cached), disk, domain.
func (s *Service) boot(ctx context.Context, c Caller, id string) {
	sv, err := s.update(ctx, id, func(sv *compute.Server) { sv.TaskState = compute.TaskSpawning })
	if err != nil {
		s.log.Error("boot: server vanished", "server", id, "err", err)
		return
	}
	if sv.VMState == compute.VMDeleted {
		return
	}
	s.provision(ctx, c, id, sv.ImageID, s.Hypervisor.Spawn)
}

// provision readies the server's base image (downloaded once into the host
// cache) and hands place (Spawn or Rebuild) the server's spec; the server
// ends ACTIVE and running, or in ERROR with the cause.
func (s *Service) provision(ctx context.Context, c Caller, id, imageRef string, place func(context.Context, compute.SpawnSpec) error) {
	im, err := s.Images.Get(ctx, c.Creds, imageRef)
	if err != nil {
		s.failServer(ctx, id, fmt.Errorf("image %s: %w", imageRef, err))
		return
	}
	base, err := s.Cache.Get(ctx, im.ID, im.Checksum, func(ctx context.Context, w io.Writer) error {
		return s.Images.Download(ctx, c.Creds, im.ID, w)
	})
	if err != nil {
		s.failServer(ctx, id, err)
		return
	}
	sv, err := s.Servers.GetServer(ctx, id)
	if err != nil {
		return
	}
	spec := compute.SpawnSpec{ServerID: id, Name: sv.Name, MemoryMiB: sv.RAM, VCPUs: sv.VCPUs, RootGB: sv.Disk,
		BaseImage: base, BaseFormat: im.DiskFormat}
	if err := place(ctx, spec); err != nil {
		s.failServer(ctx, id, err)
		return
	}
	now := s.now().UTC()
	if _, err := s.update(ctx, id, func(sv *compute.Server) {
		sv.VMState, sv.TaskState, sv.PowerState, sv.LaunchedAt = compute.VMActive, compute.TaskNone, compute.PowerRunning, &now
	}); err != nil {
		s.log.Error("could not record the active server", "server", id, "err", err)
	}
}

// Get returns a server the caller may see; others' servers are 404.
func (s *Service) Get(ctx context.Context, c Caller, id string) (*compute.Server, error) {
	sv, err := s.Servers.GetServer(ctx, id)
	notFound := compute.Errorf(compute.ErrNotFound, "Instance %s could not be found.", id)
	if errors.Is(err, compute.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if sv.VMState == compute.VMDeleted || !s.authz.Enforce("os_compute_api:servers:show", serverTarget(sv), c.Creds) {
		return nil, notFound
	}
	return sv, nil
}

// List returns the caller's servers (admins: all projects with allTenants).
func (s *Service) List(ctx context.Context, c Caller, f compute.ServerFilter, allTenants bool) ([]*compute.Server, error) {
	if err := s.authorize(c, "os_compute_api:servers:index", nil); err != nil {
		return nil, err
	}
	f.ProjectID = c.Creds.ProjectID
	if allTenants {
		if err := s.authorize(c, "os_compute_api:servers:index:get_all_tenants", nil); err != nil {
			return nil, err
		}
		f.ProjectID = ""
	}
	list, err := s.Servers.ListServers(ctx, f)
	if errors.Is(err, compute.ErrNotFound) {
		return nil, compute.Errorf(compute.ErrBadRequest, "marker [%s] not found", f.Marker)
	}
	return list, err
}

// act loads a server for an action: 404 if invisible, 403 if the rule
// denies, 409 if check refuses its state; then marks the task and runs work
// in the background.
func (s *Service) act(ctx context.Context, c Caller, id, rule, action, task string, allowed func(*compute.Server) bool, work func(ctx context.Context, sv *compute.Server) error, done func(*compute.Server)) error {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return err
	}
	if !s.authz.Enforce(rule, serverTarget(sv), c.Creds) {
		return compute.Errorf(compute.ErrForbidden, "Policy doesn't allow %s to be performed.", rule)
	}
	if _, err := s.updateIf(ctx, id, func(sv *compute.Server) error {
		if sv.TaskState != compute.TaskNone || !allowed(sv) {
			return compute.Errorf(compute.ErrConflict, "Cannot '%s' instance %s while it is in vm_state %s", action, id, sv.VMState)
		}
		sv.TaskState = task
		return nil
	}); err != nil {
		return err
	}
	s.background(id, func(ctx context.Context) {
		cur, err := s.Servers.GetServer(ctx, id)
		if err != nil {
			return
		}
		if err := work(ctx, cur); err != nil {
			s.failServer(ctx, id, err)
			return
		}
		if _, err := s.update(ctx, id, func(sv *compute.Server) { sv.TaskState = compute.TaskNone; done(sv) }); err != nil {
			s.log.Error("could not record action result", "server", id, "action", action, "err", err)
		}
	})
	return nil
}

// Start boots a stopped server.
func (s *Service) Start(ctx context.Context, c Caller, id string) error {
	return s.act(ctx, c, id, "os_compute_api:servers:start", "start", compute.TaskPoweringOn,
		func(sv *compute.Server) bool { return sv.VMState == compute.VMStopped },
		func(ctx context.Context, sv *compute.Server) error { return s.Hypervisor.Start(ctx, sv.ID) },
		func(sv *compute.Server) { sv.VMState, sv.PowerState = compute.VMActive, compute.PowerRunning })
}

// Stop powers a server off.
func (s *Service) Stop(ctx context.Context, c Caller, id string) error {
	return s.act(ctx, c, id, "os_compute_api:servers:stop", "stop", compute.TaskPoweringOff,
		func(sv *compute.Server) bool { return sv.VMState == compute.VMActive || sv.VMState == compute.VMError },
		func(ctx context.Context, sv *compute.Server) error { return s.Hypervisor.Stop(ctx, sv.ID) },
		func(sv *compute.Server) { sv.VMState, sv.PowerState = compute.VMStopped, compute.PowerShutdown })
}

// Reboot restarts a running server.
func (s *Service) Reboot(ctx context.Context, c Caller, id string, hard bool) error {
	task := compute.TaskRebooting
	if hard {
		task = compute.TaskRebootingHard
	}
	return s.act(ctx, c, id, "os_compute_api:servers:reboot", "reboot", task,
		func(sv *compute.Server) bool {
			return sv.VMState == compute.VMActive || (hard && sv.VMState == compute.VMStopped)
		},
		func(ctx context.Context, sv *compute.Server) error {
			if sv.VMState == compute.VMStopped {
				return s.Hypervisor.Start(ctx, sv.ID)
			}
			return s.Hypervisor.Reboot(ctx, sv.ID, hard)
		},
		func(sv *compute.Server) { sv.VMState, sv.PowerState = compute.VMActive, compute.PowerRunning })
}

// Delete removes a server: its domain and disks go, the record is marked deleted.
func (s *Service) Delete(ctx context.Context, c Caller, id string) error {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return err
	}
	if !s.authz.Enforce("os_compute_api:servers:delete", serverTarget(sv), c.Creds) {
		return compute.Errorf(compute.ErrForbidden, "Policy doesn't allow os_compute_api:servers:delete to be performed.")
	}
	if _, err := s.update(ctx, id, func(sv *compute.Server) { sv.TaskState = compute.TaskDeleting }); err != nil {
		return err
	}
	s.background(id, func(ctx context.Context) {
		if s.Hypervisor != nil {
			if err := s.Hypervisor.Destroy(ctx, id); err != nil {
				s.failServer(ctx, id, fmt.Errorf("delete: %w", err))
				return
			}
		}
		if _, err := s.update(ctx, id, func(sv *compute.Server) {
			sv.VMState, sv.TaskState, sv.PowerState = compute.VMDeleted, compute.TaskNone, compute.PowerNoState
		}); err != nil {
			s.log.Error("could not record deleted server", "server", id, "err", err)
		}
		s.locks.Delete(id)
		s.rows.Delete(id)
	})
	return nil
}

// ConsoleOutput returns the tail of a server's serial console.
func (s *Service) ConsoleOutput(ctx context.Context, c Caller, id string, lines int) (string, error) {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return "", err
	}
	if !s.authz.Enforce("os_compute_api:os-console-output", serverTarget(sv), c.Creds) {
		return "", compute.Errorf(compute.ErrForbidden, "Policy doesn't allow os_compute_api:os-console-output to be performed.")
	}
	if s.Hypervisor == nil {
		return "", compute.Errorf(compute.ErrUnavailable, "No hypervisor is available on this host.")
	}
	return s.Hypervisor.ConsoleOutput(ctx, id, lines)
}

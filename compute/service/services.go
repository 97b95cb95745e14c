package service

import (
	"context"
	"os"
	"time"
)

// ComputeService is one service of the deployment as os-services lists
// it: here the one nova-compute of this host.
type ComputeService struct {
	ID      int
	Binary  string // nova-compute
	Host    string
	Zone    string
	Enabled bool
	Up      bool // the host's hypervisor is reachable
	Updated time.Time
}

// Services lists the compute services (admins by Nova's default policy)
// matching host and binary ("" any): this host's nova-compute, up when
// libvirt was reachable at start-up.
func (s *Service) Services(_ context.Context, c Caller, host, binary string) ([]ComputeService, error) {
	if err := s.authorize(c, "os_compute_api:os-services:list", nil); err != nil {
		return nil, err
	}
	name, _ := os.Hostname()
	sv := ComputeService{ID: 1, Binary: "nova-compute", Host: name, Zone: ZoneName, Enabled: true,
		Up: s.Hypervisor != nil, Updated: s.now().UTC()}
	if (host != "" && host != sv.Host) || (binary != "" && binary != sv.Binary) {
		return []ComputeService{}, nil
	}
	return []ComputeService{sv}, nil
}

// Aggregates returns the names of the host aggregates (admins): none, since
// aggregates are not supported, but the policy is Nova's all the same.
func (s *Service) Aggregates(_ context.Context, c Caller) ([]string, error) {
	if err := s.authorize(c, "os_compute_api:os-aggregates:index", nil); err != nil {
		return nil, err
	}
	return []string{}, nil
}

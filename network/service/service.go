// Package service is the Neutron-compatible network service: the rules
// of networks, subnets, ports, security groups and quotas, Neutron's
// policy (what a caller may not see is not found), address allocation
// through the repository, and keeping the host side (network.Dataplane)
// in step with the ports. It also serves compute as its compute.Networks.
//
// Security group rules are stored and shown but not enforced: no packet
// filter is programmed from them.
package service

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"imagestack/network"
	"imagestack/policy"
)

// Authorizer is the policy engine as the service needs it.
type Authorizer interface {
	// Enforce reports whether creds may perform rule on target.
	Enforce(rule string, target policy.Target, creds policy.Credentials) bool
}

// Deps are what the service runs on.
type Deps struct {
	Repo      network.Repository
	Dataplane network.Dataplane
	Policy    Authorizer
	Log       *slog.Logger // nil: slog.Default()
	// Quotas are the default limits (nil: network.DefaultQuotas).
	Quotas map[string]int
}

// Service is the network service.
type Service struct {
	repo   network.Repository
	dp     network.Dataplane
	authz  Authorizer
	log    *slog.Logger
	quotas map[string]int
	now    func() time.Time
	hostMu sync.Map // network id -> *sync.Mutex: one host update at a time per network
}

// New returns the service.
func New(d Deps) *Service {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Quotas == nil {
		d.Quotas = network.DefaultQuotas
	}
	return &Service{repo: d.Repo, dp: d.Dataplane, authz: d.Policy, log: d.Log, quotas: d.Quotas, now: time.Now}
}

// Dataplane is the host side the service drives.
func (s *Service) Dataplane() network.Dataplane { return s.dp }

func newID() string { return uuid.NewString() }

// stamp is the standard attributes of a new resource.
func (s *Service) stamp(description string) network.Standard {
	now := s.now().UTC().Truncate(time.Second)
	return network.Standard{Description: description, CreatedAt: now, UpdatedAt: now, RevisionNumber: 0}
}

// touch moves a changed resource's standard attributes on.
func (s *Service) touch(st *network.Standard) {
	st.UpdatedAt = s.now().UTC().Truncate(time.Second)
	st.RevisionNumber++
}

// may reports whether c may do rule on target.
func (s *Service) may(c policy.Credentials, rule string, target policy.Target) bool {
	return s.authz.Enforce(rule, target, c)
}

// visible keeps, in order, the items the caller may see by may (an empty
// list, not nil, when none).
func visible[T any](items []T, may func(T) bool) []T {
	out := []T{}
	for _, x := range items {
		if may(x) {
			out = append(out, x)
		}
	}
	return out
}

// authorize is may as an error: Neutron's 403 PolicyNotAuthorized.
func (s *Service) authorize(c policy.Credentials, rule string, target policy.Target) error {
	if s.may(c, rule, target) {
		return nil
	}
	return network.Errorf(network.ErrForbidden, "PolicyNotAuthorized", "(rule:%s) is disallowed by policy", rule)
}

// isAdmin reports whether c is an administrator.
func (s *Service) isAdmin(c policy.Credentials) bool {
	return s.may(c, "context_is_admin", policy.Target{})
}

func boolStr(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// target is the policy target of a resource of project on net.
func target(project string, net network.Network) policy.Target {
	return policy.Target{"project_id": project, "tenant_id": project, "network:project_id": net.ProjectID,
		"network:tenant_id": net.ProjectID, "shared": boolStr(net.Shared)}
}

// projectOf is the project a create is for: the one asked for, or the
// caller's.
func projectOf(c policy.Credentials, asked string) string {
	if asked != "" {
		return asked
	}
	return c.ProjectID
}

func isNotFound(err error) bool { return errors.Is(err, network.ErrNotFound) }

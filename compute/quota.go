package compute

import (
	"context"
	"time"
)

// Quota resources, as Nova names them in os-quota-sets.
const (
	QuotaInstances                = "instances"
	QuotaCores                    = "cores"
	QuotaRAM                      = "ram"
	QuotaKeyPairs                 = "key_pairs"
	QuotaMetadataItems            = "metadata_items"
	QuotaServerGroups             = "server_groups"
	QuotaServerGroupMembers       = "server_group_members"
	QuotaInjectedFiles            = "injected_files"
	QuotaInjectedFileContentBytes = "injected_file_content_bytes"
	QuotaInjectedFilePathBytes    = "injected_file_path_bytes"
	QuotaFixedIPs                 = "fixed_ips"
	QuotaFloatingIPs              = "floating_ips"
	QuotaSecurityGroups           = "security_groups"
	QuotaSecurityGroupRules       = "security_group_rules"
)

// Unlimited is the limit -1: no limit.
const Unlimited = -1

// QuotaResources are every quota resource, in the order Nova lists them.
var QuotaResources = []string{QuotaCores, QuotaInjectedFiles, QuotaInjectedFileContentBytes, QuotaInjectedFilePathBytes,
	QuotaInstances, QuotaKeyPairs, QuotaMetadataItems, QuotaRAM, QuotaServerGroups, QuotaServerGroupMembers,
	QuotaFixedIPs, QuotaFloatingIPs, QuotaSecurityGroups, QuotaSecurityGroupRules}

// DefaultQuotaLimits are Nova's default limits (its [quota] options).
var DefaultQuotaLimits = map[string]int{
	QuotaInstances: 10, QuotaCores: 20, QuotaRAM: 51200, QuotaKeyPairs: 100, QuotaMetadataItems: 128,
	QuotaServerGroups: 10, QuotaServerGroupMembers: 10, QuotaInjectedFiles: 5, QuotaInjectedFileContentBytes: 10240,
	QuotaInjectedFilePathBytes: 255, QuotaFixedIPs: Unlimited, QuotaFloatingIPs: 10, QuotaSecurityGroups: 10,
	QuotaSecurityGroupRules: 20,
}

// DefaultQuotaClass is the quota class whose limits are every project's
// defaults (the only class Nova consults).
const DefaultQuotaClass = "default"

// QuotaScope names whose limits a QuotaRepository call reads or writes: a
// project (UserID ""), one user within a project, or a quota class
// (Class set, the others "").
type QuotaScope struct {
	ProjectID, UserID, Class string
}

// QuotaRepository persists the limits set explicitly (by os-quota-sets and
// os-quota-class-sets); whatever is not set falls back to the next scope
// (user -> project -> default class -> configuration).
type QuotaRepository interface {
	// QuotaLimits returns the limits set for exactly scope, by resource
	// (empty when none is set).
	QuotaLimits(ctx context.Context, scope QuotaScope) (map[string]int, error)
	// SetQuotaLimits sets (creates or overwrites) the given limits of scope,
	// leaving its other resources as they were.
	SetQuotaLimits(ctx context.Context, scope QuotaScope, limits map[string]int) error
	// DeleteQuotaLimits removes every limit of scope; for a project scope
	// (UserID "") its users' limits go too, as Nova's
	// destroy_all_by_project.
	DeleteQuotaLimits(ctx context.Context, scope QuotaScope) error
}

// Server group policies (Nova's; the soft ones from microversion 2.15).
const (
	PolicyAffinity         = "affinity"
	PolicyAntiAffinity     = "anti-affinity"
	PolicySoftAffinity     = "soft-affinity"
	PolicySoftAntiAffinity = "soft-anti-affinity"
)

// ServerGroup is a set of servers placed together or apart by its policy.
type ServerGroup struct {
	ID, Name          string
	ProjectID, UserID string
	Policy            string
	// MaxServerPerHost is the anti-affinity rule max_server_per_host; 0:
	// no rule (one member per host).
	MaxServerPerHost int
	Members          []GroupMember // in the order they joined
	CreatedAt        time.Time
}

// GroupMember is a server of a group and the host the placement step chose
// for it ("" until placed, and for servers no host could take).
type GroupMember struct {
	ServerID, Host string
}

// ServerGroupRepository persists server groups and their members. A server
// belongs to one group at most.
type ServerGroupRepository interface {
	// CreateServerGroup stores g unless its project already has limit
	// groups or more (limit < 0: no limit), then ErrOverQuota; the count
	// and the insert are one step per project.
	CreateServerGroup(ctx context.Context, g ServerGroup, limit int) error
	// GetServerGroup returns a group with its members, or ErrNotFound.
	GetServerGroup(ctx context.Context, id string) (ServerGroup, error)
	// ListServerGroups returns a project's groups ("" every project's),
	// oldest first, with their members.
	ListServerGroups(ctx context.Context, projectID string) ([]ServerGroup, error)
	// CountServerGroups returns how many groups a project has.
	CountServerGroups(ctx context.Context, projectID string) (int, error)
	// DeleteServerGroup removes a group and its memberships, or ErrNotFound.
	DeleteServerGroup(ctx context.Context, id string) error
	// AddGroupMembers adds servers to a group unless it would then have
	// more than limit members (limit < 0: no limit), then ErrOverQuota and
	// none is added; ErrNotFound when the group is gone. The count and
	// the insert are one step per group.
	AddGroupMembers(ctx context.Context, groupID string, serverIDs []string, limit int) error
	// RemoveGroupMember takes a server out of its group (none: no error).
	RemoveGroupMember(ctx context.Context, serverID string) error
	// GroupOfServer returns the group a server belongs to, or ErrNotFound.
	GroupOfServer(ctx context.Context, serverID string) (ServerGroup, error)
	// SetMemberHost records the host placement chose for a member.
	SetMemberHost(ctx context.Context, serverID, host string) error
}

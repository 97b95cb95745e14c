package db

import (
	"time"

	"gorm.io/gorm"

	commondb "imagestack/common/db"
)

// Component is the name under which compute migrations are recorded.
const Component = "compute"

// Migrations is the compute schema history; each step uses structs frozen at
// its version.
var Migrations = []commondb.Migration{
	{Version: 1, Name: "flavors and extra specs", Up: migrate1},
	{Version: 2, Name: "servers and metadata", Up: migrate2},
	{Version: 3, Name: "key pairs", Up: migrate3},
	{Version: 4, Name: "flavor access", Up: migrate4},
	{Version: 5, Name: "quota locks", Up: migrate5},
	{Version: 6, Name: "guest settings and NICs of servers", Up: migrate6},
	{Version: 7, Name: "instance actions", Up: migrate7},
	{Version: 8, Name: "server locks", Up: migrate8},
	{Version: 9, Name: "resize and soft delete of servers", Up: migrate9},
	{Version: 10, Name: "server system metadata", Up: migrate10},
	{Version: 11, Name: "quotas and server groups", Up: migrate11},
	{Version: 12, Name: "flavor descriptions, compute services, action events", Up: migrate12},
	{Version: 13, Name: "server tags", Up: migrate13},
	{Version: 14, Name: "server description, flavor copy, kernel and ramdisk", Up: migrate14},
	{Version: 15, Name: "host and node of servers", Up: migrate15},
	{Version: 16, Name: "compute nodes and allocations", Up: migrate16},
	{Version: 17, Name: "calls from API replicas to compute hosts", Up: migrate17},
	{Version: 18, Name: "leases on server tasks", Up: migrate18},
	{Version: 19, Name: "host aggregates", Up: migrate19},
	{Version: 20, Name: "migrations of servers between hosts", Up: migrate20},
}

// Tables lists the compute tables, for schema comparisons.
var Tables = []string{"flavors", "flavor_extra_specs", "servers", "server_metadata", "key_pairs", "flavor_projects", "quota_locks", "instance_actions",
	"compute_services", "instance_actions_events", "quotas", "server_groups", "server_group_members", "server_tags",
	"compute_nodes", "allocations", "host_calls", "migrations", "aggregates", "aggregate_hosts", "aggregate_metadata", "aggregate_serial"}

type v1Flavor struct {
	ID         string    `gorm:"primaryKey;size:255"`
	Name       string    `gorm:"size:255;not null;uniqueIndex:uq_flavors_name"`
	RAM        int       `gorm:"column:memory_mb;not null"`
	VCPUs      int       `gorm:"column:vcpus;not null"`
	Disk       int       `gorm:"column:root_gb;not null"`
	Swap       int       `gorm:"not null"`
	Ephemeral  int       `gorm:"column:ephemeral_gb;not null"`
	RxTxFactor float64   `gorm:"not null"`
	IsPublic   bool      `gorm:"not null"`
	Disabled   bool      `gorm:"not null"`
	CreatedAt  time.Time `gorm:"not null"`
}

func (v1Flavor) TableName() string { return "flavors" }

type v1ExtraSpec struct {
	FlavorID string `gorm:"primaryKey;size:255"`
	Key      string `gorm:"primaryKey;column:spec_key;size:255"`
	Value    string `gorm:"size:255;not null"`
}

func (v1ExtraSpec) TableName() string { return "flavor_extra_specs" }

func migrate1(tx *gorm.DB) error {
	return tx.Migrator().AutoMigrate(&v1Flavor{}, &v1ExtraSpec{})
}

type v2Server struct {
	ID            string     `gorm:"primaryKey;size:36"`
	Name          string     `gorm:"size:255;not null"`
	ProjectID     string     `gorm:"size:255;not null;index:ix_servers_project"`
	UserID        string     `gorm:"size:255;not null"`
	ImageID       string     `gorm:"size:36;not null"`
	FlavorID      string     `gorm:"size:255;not null"`
	RAM           int        `gorm:"column:memory_mb;not null"`
	VCPUs         int        `gorm:"column:vcpus;not null"`
	Disk          int        `gorm:"column:root_gb;not null"`
	VMState       string     `gorm:"size:30;not null;index:ix_servers_vm_state"`
	TaskState     string     `gorm:"size:30;not null"`
	PowerState    int        `gorm:"not null"`
	ReservationID string     `gorm:"size:32;not null;index:ix_servers_reservation"`
	KeyName       string     `gorm:"size:255;not null"`
	Fault         string     `gorm:"type:text"`
	CreatedAt     time.Time  `gorm:"not null;index:ix_servers_created_at"`
	UpdatedAt     time.Time  `gorm:"not null;index:ix_servers_updated_at"`
	LaunchedAt    *time.Time ``
}

func (v2Server) TableName() string { return "servers" }

type v2Metadata struct {
	ServerID string `gorm:"primaryKey;size:36"`
	Key      string `gorm:"primaryKey;column:meta_key;size:255"`
	Value    string `gorm:"size:255;not null"`
}

func (v2Metadata) TableName() string { return "server_metadata" }

func migrate2(tx *gorm.DB) error {
	return tx.Migrator().AutoMigrate(&v2Server{}, &v2Metadata{})
}

type v3KeyPair struct {
	UserID      string    `gorm:"primaryKey;size:255"`
	Name        string    `gorm:"primaryKey;size:255"`
	PublicKey   string    `gorm:"type:text;not null"`
	Fingerprint string    `gorm:"size:255;not null"`
	Type        string    `gorm:"size:10;not null"`
	CreatedAt   time.Time `gorm:"not null"`
}

func (v3KeyPair) TableName() string { return "key_pairs" }

func migrate3(tx *gorm.DB) error { return tx.Migrator().AutoMigrate(&v3KeyPair{}) }

// v4FlavorProject is one project's access to a private flavor (Nova's
// flavor_projects).
type v4FlavorProject struct {
	FlavorID  string `gorm:"primaryKey;size:255"`
	ProjectID string `gorm:"primaryKey;size:255;index:ix_flavor_projects_project"`
}

func (v4FlavorProject) TableName() string { return "flavor_projects" }

func migrate4(tx *gorm.DB) error { return tx.Migrator().AutoMigrate(&v4FlavorProject{}) }

// v5QuotaLock is one row per project, locked while a server create checks
// the project's quota and inserts its servers.
type v5QuotaLock struct {
	ProjectID string `gorm:"primaryKey;size:255"`
}

func (v5QuotaLock) TableName() string { return "quota_locks" }

func migrate5(tx *gorm.DB) error { return tx.Migrator().AutoMigrate(&v5QuotaLock{}) }

// v6Server adds what the guest gets (access IPs, zone, config drive, user
// data, key, hostname, launch index) and the network info cache.
type v6Server struct {
	AccessIPv4  string `gorm:"column:access_ip_v4;size:39;not null;default:''"`
	AccessIPv6  string `gorm:"column:access_ip_v6;size:39;not null;default:''"`
	Zone        string `gorm:"column:availability_zone;size:255;not null;default:''"`
	ConfigDrive bool   `gorm:"not null;default:false"`
	UserData    []byte `gorm:"type:blob"`
	KeyData     string `gorm:"type:text"`
	Hostname    string `gorm:"size:255;not null;default:''"`
	LaunchIndex int    `gorm:"not null;default:0"`
	NICs        string `gorm:"column:nics;type:text"`
}

func (v6Server) TableName() string { return "servers" }

func migrate6(tx *gorm.DB) error {
	for _, col := range []string{"AccessIPv4", "AccessIPv6", "Zone", "ConfigDrive", "UserData", "KeyData", "Hostname", "LaunchIndex", "NICs"} {
		if err := tx.Migrator().AddColumn(&v6Server{}, col); err != nil {
			return err
		}
	}
	return nil
}

// v7Action is one request made on a server (Nova's instance_actions); ID
// orders actions recorded within the same millisecond.
type v7Action struct {
	ID        uint64    `gorm:"primaryKey;autoIncrement"`
	ServerID  string    `gorm:"size:36;not null;index:ix_instance_actions_server"`
	Action    string    `gorm:"size:255;not null"`
	RequestID string    `gorm:"size:255;not null"`
	UserID    string    `gorm:"size:255;not null"`
	ProjectID string    `gorm:"size:255;not null"`
	StartTime time.Time `gorm:"not null"`
}

func (v7Action) TableName() string { return "instance_actions" }

func migrate7(tx *gorm.DB) error { return tx.Migrator().AutoMigrate(&v7Action{}) }

// v8Server adds the lock (Nova's locked, locked_by, locked_reason).
type v8Server struct {
	Locked       bool   `gorm:"not null;default:false"`
	LockedBy     string `gorm:"size:16;not null;default:''"`
	LockedReason string `gorm:"size:255;not null;default:''"`
}

func (v8Server) TableName() string { return "servers" }

func migrate8(tx *gorm.DB) error {
	for _, col := range []string{"Locked", "LockedBy", "LockedReason"} {
		if err := tx.Migrator().AddColumn(&v8Server{}, col); err != nil {
			return err
		}
	}
	return nil
}

// v9Server adds the flavor a resize started from (Nova's old_flavor), the
// vm_state it returns to, and when a server was soft-deleted.
type v9Server struct {
	OldFlavorID   string     `gorm:"size:255;not null;default:''"`
	OldRAM        int        `gorm:"column:old_memory_mb;not null;default:0"`
	OldVCPUs      int        `gorm:"column:old_vcpus;not null;default:0"`
	OldDisk       int        `gorm:"column:old_root_gb;not null;default:0"`
	OldFlavorInfo string     `gorm:"type:text"`
	OldVMState    string     `gorm:"size:30;not null;default:''"`
	DeletedAt     *time.Time `gorm:"column:soft_deleted_at"`
}

func (v9Server) TableName() string { return "servers" }

func migrate9(tx *gorm.DB) error {
	for _, col := range []string{"OldFlavorID", "OldRAM", "OldVCPUs", "OldDisk", "OldFlavorInfo", "OldVMState", "DeletedAt"} {
		if err := tx.Migrator().AddColumn(&v9Server{}, col); err != nil {
			return err
		}
	}
	return nil
}

// v10Server adds the server's system metadata (Nova's
// instance_system_metadata: shelved_at, shelved_image_id, ...), as JSON.
type v10Server struct {
	SystemMetadata string `gorm:"column:system_metadata;type:text"`
}

func (v10Server) TableName() string { return "servers" }

func migrate10(tx *gorm.DB) error { return tx.Migrator().AddColumn(&v10Server{}, "SystemMetadata") }

// v11Quota is a limit set for a project, a user within it, or a quota class
// (class_name set, project_id and user_id "").
type v11Quota struct {
	ClassName string `gorm:"primaryKey;size:255"`
	ProjectID string `gorm:"primaryKey;size:64"` // Keystone ids are at most 64
	UserID    string `gorm:"primaryKey;size:64"`
	Resource  string `gorm:"primaryKey;size:64"`
	HardLimit int    `gorm:"not null"`
}

func (v11Quota) TableName() string { return "quotas" }

// v11ServerGroup is Nova's instance group with its one policy.
type v11ServerGroup struct {
	ID               string    `gorm:"primaryKey;size:36"`
	Name             string    `gorm:"size:255;not null"`
	ProjectID        string    `gorm:"size:255;not null;index:ix_server_groups_project"`
	UserID           string    `gorm:"size:255;not null"`
	Policy           string    `gorm:"size:255;not null"`
	MaxServerPerHost int       `gorm:"not null;default:0"`
	CreatedAt        time.Time `gorm:"not null"`
}

func (v11ServerGroup) TableName() string { return "server_groups" }

// v11GroupMember is a server in a group (one group per server) and the
// host placement chose for it.
type v11GroupMember struct {
	ServerID string    `gorm:"primaryKey;size:36"`
	GroupID  string    `gorm:"size:36;not null;index:ix_server_group_members_group"`
	Host     string    `gorm:"size:255;not null;default:''"`
	JoinedAt time.Time `gorm:"not null"`
}

func (v11GroupMember) TableName() string { return "server_group_members" }

func migrate11(tx *gorm.DB) error {
	return tx.Migrator().AutoMigrate(&v11Quota{}, &v11ServerGroup{}, &v11GroupMember{})
}

// v12Flavor adds Nova's flavor description (microversion 2.55; TEXT, null
// when none).
type v12Flavor struct {
	Description *string `gorm:"type:text"`
}

func (v12Flavor) TableName() string { return "flavors" }

// v12Service is a service of the deployment as os-services manages it
// (Nova's services): the state an admin sets is kept here.
type v12Service struct {
	ID             uint64    `gorm:"primaryKey;autoIncrement"`
	UUID           string    `gorm:"column:uuid;size:36;not null;uniqueIndex:uq_compute_services_uuid"`
	Host           string    `gorm:"size:255;not null;uniqueIndex:uq_compute_services_host_binary"`
	Binary         string    `gorm:"size:255;not null;uniqueIndex:uq_compute_services_host_binary"`
	Disabled       bool      `gorm:"not null;default:false"`
	DisabledReason *string   `gorm:"size:255"`
	ForcedDown     bool      `gorm:"not null;default:false"`
	CreatedAt      time.Time `gorm:"not null"`
	UpdatedAt      time.Time `gorm:"not null"`
}

func (v12Service) TableName() string { return "compute_services" }

// v12Action adds when an action last changed (2.58's updated_at) and its
// message ("Error" once an event failed).
type v12Action struct {
	UpdatedAt *time.Time
	Message   *string `gorm:"size:255"`
}

func (v12Action) TableName() string { return "instance_actions" }

// v12Event is one step of a server action (Nova's
// instance_actions_events): started, then finished with a result.
type v12Event struct {
	ID         uint64     `gorm:"primaryKey;autoIncrement"`
	ActionID   uint64     `gorm:"not null;index:ix_instance_actions_events_action"`
	Event      string     `gorm:"size:255;not null"`
	StartTime  time.Time  `gorm:"not null"`
	FinishTime *time.Time ``
	Result     string     `gorm:"size:255;not null;default:''"`
	Traceback  string     `gorm:"type:text"`
	Host       string     `gorm:"size:255;not null;default:''"`
	Details    string     `gorm:"type:text"`
}

func (v12Event) TableName() string { return "instance_actions_events" }

func migrate12(tx *gorm.DB) error {
	if err := tx.Migrator().AddColumn(&v12Flavor{}, "Description"); err != nil {
		return err
	}
	for _, col := range []string{"UpdatedAt", "Message"} {
		if err := tx.Migrator().AddColumn(&v12Action{}, col); err != nil {
			return err
		}
	}
	return tx.Migrator().AutoMigrate(&v12Service{}, &v12Event{})
}

// v13Tag is one tag of a server (Nova's tags table, resource_id a server's).
type v13Tag struct {
	ServerID string `gorm:"primaryKey;size:36"`
	Tag      string `gorm:"primaryKey;size:60;index:ix_server_tags_tag"`
}

func (v13Tag) TableName() string { return "server_tags" }

func migrate13(tx *gorm.DB) error { return tx.Migrator().AutoMigrate(&v13Tag{}) }

// v14Server adds the description (nullable), the copy of the flavor
// (JSON) and the kernel and ramdisk images of a server.
type v14Server struct {
	Description *string `gorm:"size:255"`
	FlavorInfo  string  `gorm:"type:text"`
	KernelID    string  `gorm:"size:36;not null;default:''"`
	RamdiskID   string  `gorm:"size:36;not null;default:''"`
}

func (v14Server) TableName() string { return "servers" }

func migrate14(tx *gorm.DB) error {
	for _, col := range []string{"Description", "FlavorInfo", "KernelID", "RamdiskID"} {
		if err := tx.Migrator().AddColumn(&v14Server{}, col); err != nil {
			return err
		}
	}
	return nil
}

// v15Server adds the compute host a server was placed on and its node.
type v15Server struct {
	Host string `gorm:"size:255;not null;default:'';index:ix_servers_host"`
	Node string `gorm:"size:255;not null;default:''"`
}

func (v15Server) TableName() string { return "servers" }

func migrate15(tx *gorm.DB) error {
	for _, col := range []string{"Host", "Node"} {
		if err := tx.Migrator().AddColumn(&v15Server{}, col); err != nil {
			return err
		}
	}
	return tx.Migrator().CreateIndex(&v15Server{}, "ix_servers_host")
}

// v16Node is a compute host as it registered (Nova's compute_nodes): its
// capacity and ratios, its hypervisor, its heartbeat (updated_at) and the
// generation every claim on it moves by one.
type v16Node struct {
	ID                  uint64    `gorm:"primaryKey;autoIncrement"`
	Host                string    `gorm:"size:255;not null;uniqueIndex:uq_compute_nodes_host"`
	HypervisorHostname  string    `gorm:"size:255;not null"`
	Zone                string    `gorm:"size:255;not null;default:''"`
	VCPUs               int       `gorm:"column:vcpus;not null"`
	MemoryMB            int       `gorm:"not null"`
	LocalGB             int       `gorm:"not null"`
	CPUAllocationRatio  float64   `gorm:"column:cpu_allocation_ratio;not null"`
	RAMAllocationRatio  float64   `gorm:"column:ram_allocation_ratio;not null"`
	DiskAllocationRatio float64   `gorm:"not null"`
	HypervisorType      string    `gorm:"size:255;not null;default:''"`
	HypervisorVersion   int       `gorm:"not null;default:0"`
	Architecture        string    `gorm:"size:32;not null;default:''"`
	Generation          int64     `gorm:"not null;default:0"`
	CreatedAt           time.Time `gorm:"not null"`
	UpdatedAt           time.Time `gorm:"not null"`
}

func (v16Node) TableName() string { return "compute_nodes" }

// v16Allocation is what one server takes of one host (placement's
// allocations): one row per server and host, two while a move holds both
// its source and its destination.
type v16Allocation struct {
	ServerID string `gorm:"primaryKey;size:36"`
	Host     string `gorm:"primaryKey;size:255;index:ix_allocations_host"`
	VCPUs    int    `gorm:"column:vcpus;not null"`
	MemoryMB int    `gorm:"not null"`
	DiskGB   int    `gorm:"not null"`
}

func (v16Allocation) TableName() string { return "allocations" }

func migrate16(tx *gorm.DB) error { return tx.Migrator().AutoMigrate(&v16Node{}, &v16Allocation{}) }

// v17HostCall is one hypervisor call an API replica asks of a compute host
// (compute/hostrpc): queued by the caller, claimed and leased by the host's
// agent, then done or failed with its result or error. Keys are uuids and
// nothing relies on insertion order (Galera); Args and Result are JSON,
// large enough for a config drive or a console log.
type v17HostCall struct {
	ID           string     `gorm:"primaryKey;size:36"`
	Host         string     `gorm:"size:255;not null;index:ix_host_calls_claim,priority:1"`
	State        string     `gorm:"size:16;not null;index:ix_host_calls_claim,priority:2;index:ix_host_calls_lease,priority:1"`
	CreatedAt    time.Time  `gorm:"not null;index:ix_host_calls_claim,priority:3"`
	ServerID     string     `gorm:"size:36;not null"`
	Method       string     `gorm:"size:32;not null"`
	Args         string     `gorm:"type:mediumtext;not null"`
	Owner        string     `gorm:"size:255;not null"`
	LeaseUntil   *time.Time `gorm:"index:ix_host_calls_lease,priority:2"`
	Result       string     `gorm:"type:mediumtext;not null"`
	ErrorKind    string     `gorm:"size:32;not null"`
	ErrorMessage string     `gorm:"type:text;not null"`
	ErrorDetail  string     `gorm:"type:text;not null"`
	RequestID    string     `gorm:"size:64;not null"`
	UpdatedAt    time.Time  `gorm:"not null"`
}

func (v17HostCall) TableName() string { return "host_calls" }

func migrate17(tx *gorm.DB) error { return tx.Migrator().AutoMigrate(&v17HostCall{}) }

// v18Server adds the lease on a server's background task: the member
// running it and when its lease expires (see compute.TaskLeaseRepository).
// The indexes find leases to recover and tasks without one.
type v18Server struct {
	TaskOwner      string     `gorm:"size:255;not null;default:''"`
	TaskLeaseUntil *time.Time `gorm:"index:ix_servers_task_lease_until"`
	TaskState      string     `gorm:"size:30;not null;index:ix_servers_task_state"`
}

func (v18Server) TableName() string { return "servers" }

func migrate18(tx *gorm.DB) error {
	for _, col := range []string{"TaskOwner", "TaskLeaseUntil"} {
		if !tx.Migrator().HasColumn(&v18Server{}, col) {
			if err := tx.Migrator().AddColumn(&v18Server{}, col); err != nil {
				return err
			}
		}
	}
	for _, ix := range []string{"ix_servers_task_lease_until", "ix_servers_task_state"} {
		if !tx.Migrator().HasIndex(&v18Server{}, ix) {
			if err := tx.Migrator().CreateIndex(&v18Server{}, ix); err != nil {
				return err
			}
		}
	}
	return nil
}

// v20Migration is one move of a server between hosts (Nova's migrations):
// an integer id for display, a uuid for everything else.
type v20Migration struct {
	ID            int64     `gorm:"primaryKey;autoIncrement"`
	UUID          string    `gorm:"column:uuid;size:36;not null;uniqueIndex:uq_migrations_uuid"`
	ServerID      string    `gorm:"column:instance_uuid;size:36;not null;index:ix_migrations_instance_uuid"`
	Type          string    `gorm:"column:migration_type;size:20;not null"`
	Status        string    `gorm:"size:30;not null"`
	SourceCompute string    `gorm:"size:255;not null;default:'';index:ix_migrations_source_compute"`
	SourceNode    string    `gorm:"size:255;not null;default:''"`
	DestCompute   string    `gorm:"size:255;not null;default:'';index:ix_migrations_dest_compute"`
	DestNode      string    `gorm:"size:255;not null;default:''"`
	DestHost      string    `gorm:"size:255;not null;default:''"`
	OldFlavorID   string    `gorm:"size:255;not null;default:''"`
	NewFlavorID   string    `gorm:"size:255;not null;default:''"`
	ProjectID     string    `gorm:"size:255;not null;default:''"`
	UserID        string    `gorm:"size:255;not null;default:''"`
	CreatedAt     time.Time `gorm:"not null;index:ix_migrations_created_at"`
	UpdatedAt     time.Time `gorm:"not null"`
}

func (v20Migration) TableName() string { return "migrations" }

func migrate20(tx *gorm.DB) error { return tx.Migrator().AutoMigrate(&v20Migration{}) }

// v19Aggregate is a host aggregate (Nova's aggregates table); its hosts
// and metadata are rows of their own.
type v19Aggregate struct {
	ID        int       `gorm:"primaryKey;autoIncrement"`
	UUID      string    `gorm:"column:uuid;size:36;not null;uniqueIndex:uq_aggregates_uuid"`
	Name      string    `gorm:"size:255;not null;uniqueIndex:uq_aggregates_name"`
	CreatedAt time.Time `gorm:"not null"`
	UpdatedAt *time.Time
}

func (v19Aggregate) TableName() string { return "aggregates" }

type v19AggregateHost struct {
	AggregateID int       `gorm:"primaryKey;autoIncrement:false"`
	Host        string    `gorm:"primaryKey;size:255;index:ix_aggregate_hosts_host"`
	CreatedAt   time.Time `gorm:"not null"` // the order hosts were added in
}

func (v19AggregateHost) TableName() string { return "aggregate_hosts" }

type v19AggregateMetadata struct {
	AggregateID int    `gorm:"primaryKey;autoIncrement:false"`
	Key         string `gorm:"primaryKey;column:meta_key;size:255"`
	Value       string `gorm:"column:meta_value;size:255;not null"`
}

func (v19AggregateMetadata) TableName() string { return "aggregate_metadata" }

// v19Serial is one row every change of aggregates writes first: changes
// run one after the other on one server (its row lock) and across a
// Galera cluster (two nodes writing it concurrently fail certification,
// and the loser is retried), so a host's zone is always checked against
// the other aggregates as they are.
type v19Serial struct {
	ID      int `gorm:"primaryKey;autoIncrement:false"`
	Version int64
}

func (v19Serial) TableName() string { return "aggregate_serial" }

func migrate19(tx *gorm.DB) error {
	if err := tx.Migrator().AutoMigrate(&v19Aggregate{}, &v19AggregateHost{}, &v19AggregateMetadata{}, &v19Serial{}); err != nil {
		return err
	}
	return tx.Create(&v19Serial{ID: 1}).Error
}

package db

import (
	"time"

	"gorm.io/gorm"

	commondb "imagestack/common/db"
)

// Component is the name under which network migrations are recorded.
const Component = "network"

// Migrations is the network schema history; each step uses structs frozen
// at its version.
var Migrations = []commondb.Migration{
	{Version: 1, Name: "networks, subnets, ports, addresses, security groups, quotas", Up: migrate1},
}

// Tables lists the network tables, for schema comparisons.
var Tables = []string{"networks", "subnets", "ports", "ip_allocations", "security_groups", "security_group_rules", "network_quotas",
	"network_bootstrap"}

// v1Std are Neutron's standard attributes, as stored at version 1.
type v1Std struct {
	Description    string    `gorm:"size:255;not null"`
	CreatedAt      time.Time `gorm:"not null;autoCreateTime:false"`
	UpdatedAt      time.Time `gorm:"not null;autoUpdateTime:false"`
	RevisionNumber int       `gorm:"not null"`
}

type v1Network struct {
	ID                  string `gorm:"primaryKey;size:36"`
	Name                string `gorm:"size:255;not null"`
	ProjectID           string `gorm:"size:255;not null;index:ix_networks_project"`
	Shared              bool   `gorm:"not null"`
	AdminStateUp        bool   `gorm:"not null"`
	PortSecurityEnabled bool   `gorm:"not null"`
	MTU                 int    `gorm:"column:mtu;not null"`
	Status              string `gorm:"size:16;not null"`
	Std                 v1Std  `gorm:"embedded"`
}

func (v1Network) TableName() string { return "networks" }

type v1Subnet struct {
	ID              string `gorm:"primaryKey;size:36"`
	NetworkID       string `gorm:"size:36;not null;index:ix_subnets_network"`
	ProjectID       string `gorm:"size:255;not null"`
	Name            string `gorm:"size:255;not null"`
	IPVersion       int    `gorm:"column:ip_version;not null"`
	CIDR            string `gorm:"column:cidr;size:64;not null"`
	GatewayIP       string `gorm:"column:gateway_ip;size:64;not null"`
	AllocationPools string `gorm:"type:text;not null"` // JSON
	EnableDHCP      bool   `gorm:"column:enable_dhcp;not null"`
	DNSNameservers  string `gorm:"column:dns_nameservers;type:text;not null"` // JSON
	HostRoutes      string `gorm:"type:text;not null"`                        // JSON
	Std             v1Std  `gorm:"embedded"`
}

func (v1Subnet) TableName() string { return "subnets" }

type v1Port struct {
	ID                  string `gorm:"primaryKey;size:36"`
	NetworkID           string `gorm:"size:36;not null;uniqueIndex:uq_ports_network_mac,priority:1"`
	ProjectID           string `gorm:"size:255;not null;index:ix_ports_project"`
	Name                string `gorm:"size:255;not null"`
	MAC                 string `gorm:"column:mac_address;size:32;not null;uniqueIndex:uq_ports_network_mac,priority:2"`
	AdminStateUp        bool   `gorm:"not null"`
	Status              string `gorm:"size:16;not null"`
	DeviceID            string `gorm:"size:255;not null;index:ix_ports_device"`
	DeviceOwner         string `gorm:"size:255;not null"`
	HostID              string `gorm:"size:255;not null"`
	DNSName             string `gorm:"column:dns_name;size:255;not null"`
	SecurityGroups      string `gorm:"type:text;not null"` // JSON list of ids
	PortSecurityEnabled bool   `gorm:"not null"`
	AutoDelete          bool   `gorm:"not null"`
	Std                 v1Std  `gorm:"embedded"`
}

func (v1Port) TableName() string { return "ports" }

// v1Allocation is one address held by a port; the unique index is what
// keeps an address from being given to two ports.
type v1Allocation struct {
	NetworkID string `gorm:"primaryKey;size:36"`
	IPAddress string `gorm:"primaryKey;column:ip_address;size:64"`
	SubnetID  string `gorm:"size:36;not null;index:ix_ip_allocations_subnet"`
	PortID    string `gorm:"size:36;not null;index:ix_ip_allocations_port"`
	Position  int    `gorm:"not null"`
}

func (v1Allocation) TableName() string { return "ip_allocations" }

type v1SecurityGroup struct {
	ID        string `gorm:"primaryKey;size:36"`
	ProjectID string `gorm:"size:255;not null;index:ix_security_groups_project"`
	Name      string `gorm:"size:255;not null"`
	Stateful  bool   `gorm:"not null"`
	// DefaultFor is the project id for a project's default group and NULL
	// otherwise: the unique index allows one default group per project.
	DefaultFor *string `gorm:"size:255;uniqueIndex:uq_security_groups_default"`
	Std        v1Std   `gorm:"embedded"`
}

func (v1SecurityGroup) TableName() string { return "security_groups" }

type v1Rule struct {
	ID              string `gorm:"primaryKey;size:36"`
	SecurityGroupID string `gorm:"size:36;not null;index:ix_security_group_rules_group"`
	ProjectID       string `gorm:"size:255;not null"`
	Direction       string `gorm:"size:16;not null"`
	EtherType       string `gorm:"column:ethertype;size:16;not null"`
	Protocol        string `gorm:"size:40;not null"`
	PortRangeMin    *int
	PortRangeMax    *int
	RemoteIPPrefix  string `gorm:"column:remote_ip_prefix;size:64;not null"`
	RemoteGroupID   string `gorm:"size:36;not null"`
	Std             v1Std  `gorm:"embedded"`
}

func (v1Rule) TableName() string { return "security_group_rules" }

type v1Quota struct {
	ProjectID string `gorm:"primaryKey;size:255"`
	Resource  string `gorm:"primaryKey;size:64"`
	HardLimit int    `gorm:"not null"`
}

func (v1Quota) TableName() string { return "network_quotas" }

// v1Bootstrap records the one-time start-up steps done.
type v1Bootstrap struct {
	Step   string    `gorm:"primaryKey;size:64"`
	DoneAt time.Time `gorm:"not null"`
}

func (v1Bootstrap) TableName() string { return "network_bootstrap" }

func migrate1(tx *gorm.DB) error {
	return tx.Migrator().AutoMigrate(&v1Network{}, &v1Subnet{}, &v1Port{}, &v1Allocation{}, &v1SecurityGroup{},
		&v1Rule{}, &v1Quota{}, &v1Bootstrap{})
}

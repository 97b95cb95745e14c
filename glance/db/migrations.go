package db

import (
	"time"

	"gorm.io/gorm"

	commondb "imagestack/common/db"
)

// Component is the name under which image migrations are recorded.
const Component = "image"

// Migrations is the image schema history; each step uses structs frozen at
// its version.
var Migrations = []commondb.Migration{
	{Version: 1, Name: "images, properties, tags, members", Up: migrate1},
	{Version: 2, Name: "import tasks", Up: migrate2},
	{Version: 3, Name: "image locations (several stores)", Up: migrate3},
	{Version: 4, Name: "image version (compare-and-set, ETag)", Up: migrate4},
	{Version: 5, Name: "metadata definitions (metadefs)", Up: migrate5},
	{Version: 6, Name: "task expiry index", Up: migrate6},
	{Version: 7, Name: "image location metadata", Up: migrate7},
	{Version: 8, Name: "image list index (deleted, os_hidden, created_at, id)", Up: migrate8},
	{Version: 9, Name: "leases on work in flight (uploads, imports, copies, tasks)", Up: migrate9},
}

// Tables lists the image tables, for schema comparisons.
var Tables = []string{"images", "image_properties", "image_tags", "image_members", "tasks", "image_locations",
	"metadef_namespaces", "metadef_resource_types", "metadef_namespace_resource_types", "metadef_entries", "image_leases"}

type v1Image struct {
	ID              string     `gorm:"primaryKey;size:36"`
	Name            *string    `gorm:"size:255;index:ix_images_name"`
	Status          string     `gorm:"size:30;not null;index:ix_images_status"`
	Visibility      string     `gorm:"size:20;not null;index:ix_images_visibility_deleted,priority:1"`
	Deleted         bool       `gorm:"not null;index:ix_images_visibility_deleted,priority:2"`
	Protected       bool       `gorm:"not null"`
	OSHidden        bool       `gorm:"column:os_hidden;not null"`
	Owner           *string    `gorm:"size:255;index:ix_images_owner"`
	ContainerFormat *string    `gorm:"size:20"`
	DiskFormat      *string    `gorm:"size:20"`
	MinRAM          int        `gorm:"column:min_ram;not null"`
	MinDisk         int        `gorm:"not null"`
	Size            *int64     `gorm:"index:ix_images_size"`
	VirtualSize     *int64     `gorm:"column:virtual_size"`
	Checksum        *string    `gorm:"size:32;index:ix_images_checksum"`
	OSHashAlgo      *string    `gorm:"column:os_hash_algo;size:64"`
	OSHashValue     *string    `gorm:"column:os_hash_value;size:128;index:ix_images_os_hash_value"`
	BlobKey         string     `gorm:"size:255;not null"`
	CreatedAt       time.Time  `gorm:"not null;index:ix_images_created_at"`
	UpdatedAt       time.Time  `gorm:"not null;index:ix_images_updated_at"`
	DeletedAt       *time.Time `gorm:"column:deleted_at"`
}

func (v1Image) TableName() string { return "images" }

type v1Property struct {
	ImageID string `gorm:"primaryKey;size:36"`
	Name    string `gorm:"primaryKey;size:255;index:ix_image_properties_name"`
	Value   string `gorm:"type:text;not null"`
}

func (v1Property) TableName() string { return "image_properties" }

type v1Tag struct {
	ImageID string `gorm:"primaryKey;size:36"`
	Value   string `gorm:"primaryKey;size:255;index:ix_image_tags_value"`
}

func (v1Tag) TableName() string { return "image_tags" }

type v1Member struct {
	ImageID   string    `gorm:"primaryKey;size:36"`
	Member    string    `gorm:"primaryKey;size:255;index:ix_image_members_member"`
	Status    string    `gorm:"size:20;not null"`
	CreatedAt time.Time `gorm:"not null"`
	UpdatedAt time.Time `gorm:"not null"`
}

func (v1Member) TableName() string { return "image_members" }

func migrate1(tx *gorm.DB) error {
	return tx.Migrator().AutoMigrate(&v1Image{}, &v1Property{}, &v1Tag{}, &v1Member{})
}

type v2Task struct {
	ID        string     `gorm:"primaryKey;size:36"`
	Type      string     `gorm:"size:30;not null"`
	Status    string     `gorm:"size:30;not null"`
	Owner     string     `gorm:"size:255;not null;index:ix_tasks_owner"`
	UserID    string     `gorm:"size:255;not null"`
	ImageID   string     `gorm:"size:36;not null;index:ix_tasks_image"`
	RequestID string     `gorm:"size:64;not null"`
	Input     string     `gorm:"type:text;not null"`
	Result    string     `gorm:"type:text;not null"`
	Message   string     `gorm:"type:text;not null"`
	CreatedAt time.Time  `gorm:"not null"`
	UpdatedAt time.Time  `gorm:"not null"`
	ExpiresAt *time.Time ``
}

func (v2Task) TableName() string { return "tasks" }

func migrate2(tx *gorm.DB) error { return tx.Migrator().AutoMigrate(&v2Task{}) }

type v3Location struct {
	ImageID   string    `gorm:"primaryKey;size:36"`
	Store     string    `gorm:"primaryKey;size:255"`
	Status    string    `gorm:"size:20;not null;index:ix_image_locations_status"`
	CreatedAt time.Time `gorm:"not null"`
}

func (v3Location) TableName() string { return "image_locations" }

func migrate3(tx *gorm.DB) error { return tx.Migrator().AutoMigrate(&v3Location{}) }

type v4Image struct {
	Version int64 `gorm:"not null;default:0"`
}

func (v4Image) TableName() string { return "images" }

func migrate4(tx *gorm.DB) error { return tx.Migrator().AddColumn(&v4Image{}, "Version") }

type v5Namespace struct {
	ID          int64     `gorm:"primaryKey;autoIncrement"`
	Namespace   string    `gorm:"size:80;not null;uniqueIndex:ux_metadef_namespaces_namespace"`
	DisplayName *string   `gorm:"size:80"`
	Description *string   `gorm:"type:text"`
	Visibility  string    `gorm:"size:32;not null"`
	Protected   bool      `gorm:"not null"`
	Owner       string    `gorm:"size:255;not null;index:ix_metadef_namespaces_owner"`
	CreatedAt   time.Time `gorm:"not null"`
	UpdatedAt   time.Time `gorm:"not null"`
}

func (v5Namespace) TableName() string { return "metadef_namespaces" }

type v5ResourceType struct {
	ID        int64     `gorm:"primaryKey;autoIncrement"`
	Name      string    `gorm:"size:80;not null;uniqueIndex:ux_metadef_resource_types_name"`
	Protected bool      `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
	UpdatedAt time.Time `gorm:"not null"`
}

func (v5ResourceType) TableName() string { return "metadef_resource_types" }

type v5Association struct {
	NamespaceID      int64     `gorm:"primaryKey;autoIncrement:false"`
	ResourceTypeID   int64     `gorm:"primaryKey;autoIncrement:false;index:ix_metadef_ns_res_types_res_type"`
	Prefix           string    `gorm:"size:80;not null"`
	PropertiesTarget string    `gorm:"size:80;not null"`
	CreatedAt        time.Time `gorm:"not null"`
	UpdatedAt        time.Time `gorm:"not null"`
}

func (v5Association) TableName() string { return "metadef_namespace_resource_types" }

// v5Entry holds properties, objects and tags alike: they share one shape
// (a name unique within the namespace and kind, a JSON definition) and the
// same rules. NameKey is the name, lower-cased for tags, whose names are
// case-insensitive.
type v5Entry struct {
	ID          int64     `gorm:"primaryKey;autoIncrement"`
	NamespaceID int64     `gorm:"not null;uniqueIndex:ux_metadef_entries_name,priority:1"`
	Kind        string    `gorm:"size:10;not null;uniqueIndex:ux_metadef_entries_name,priority:2"`
	NameKey     string    `gorm:"size:255;not null;uniqueIndex:ux_metadef_entries_name,priority:3"`
	Name        string    `gorm:"size:255;not null"`
	Body        string    `gorm:"type:text;not null"`
	CreatedAt   time.Time `gorm:"not null"`
	UpdatedAt   time.Time `gorm:"not null"`
}

func (v5Entry) TableName() string { return "metadef_entries" }

func migrate5(tx *gorm.DB) error {
	return tx.Migrator().AutoMigrate(&v5Namespace{}, &v5ResourceType{}, &v5Association{}, &v5Entry{})
}

// v6Task indexes expires_at: the periodic cleanup deletes expired tasks
// and every task list leaves them out.
type v6Task struct {
	ExpiresAt *time.Time `gorm:"index:ix_tasks_expires_at"`
}

func (v6Task) TableName() string { return "tasks" }

func migrate6(tx *gorm.DB) error { return tx.Migrator().CreateIndex(&v6Task{}, "ix_tasks_expires_at") }

type v7Location struct {
	Metadata *string `gorm:"type:text"`
}

func (v7Location) TableName() string { return "image_locations" }

func migrate7(tx *gorm.DB) error { return tx.Migrator().AddColumn(&v7Location{}, "Metadata") }

// v8Image indexes what every image list filters on by equality (deleted,
// os_hidden) followed by its default order (created_at, id; id named, as
// SQLite would append its rowid instead): a page is then read in order and
// stops at its limit, where the planner could otherwise choose another
// index, read every row and sort them (MariaDB did so at 10,000 images).
type v8Image struct {
	Deleted   bool      `gorm:"index:ix_images_list,priority:1"`
	OSHidden  bool      `gorm:"column:os_hidden;index:ix_images_list,priority:2"`
	CreatedAt time.Time `gorm:"index:ix_images_list,priority:3"`
	ID        string    `gorm:"index:ix_images_list,priority:4"`
}

func (v8Image) TableName() string { return "images" }

func migrate8(tx *gorm.DB) error {
	if tx.Migrator().HasIndex(&v8Image{}, "ix_images_list") {
		return nil // a step interrupted after creating it
	}
	return tx.Migrator().CreateIndex(&v8Image{}, "ix_images_list")
}

// v9Lease is a lease on work in flight (glance.Lease): which member owns an
// upload, import, copy or task, and until when, so that any live member
// can recover it once its owner stops renewing. Indexed by owner (renewal
// and release) and by lease_until (finding expired ones).
type v9Lease struct {
	Kind       string    `gorm:"primaryKey;size:16"`
	ID         string    `gorm:"primaryKey;size:300"`
	Owner      string    `gorm:"size:255;not null;index:ix_image_leases_owner"`
	LeaseUntil time.Time `gorm:"not null;index:ix_image_leases_until"`
	Detail     string    `gorm:"size:255;not null"`
}

func (v9Lease) TableName() string { return "image_leases" }

func migrate9(tx *gorm.DB) error { return tx.Migrator().AutoMigrate(&v9Lease{}) }

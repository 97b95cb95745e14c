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
	{Version: 6, Name: "task expiry index", Up: migrate6},
	{Version: 7, Name: "image location metadata", Up: migrate7},
}

// Tables lists the image tables, for schema comparisons.
var Tables = []string{"images", "image_properties", "image_tags", "image_members", "tasks", "image_locations"}

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

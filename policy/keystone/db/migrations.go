package db

import (
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	commondb "imagestack/common/db"
)

// Component is the name under which identity migrations are recorded.
const Component = "identity"

// Migrations is the identity schema history. Each step uses structs frozen at
// its version, never the live models, so that replaying history on an old
// database yields exactly the schema a fresh one gets.
var Migrations = []commondb.Migration{
	{Version: 1, Name: "domains projects users roles assignments", Up: migrate1},
	{Version: 2, Name: "persisted tokens", Up: migrate2},
	{Version: 3, Name: "user email and description", Up: migrate3},
	{Version: 4, Name: "failed-login lockout counters", Up: migrate4},
	{Version: 5, Name: "bootstrap marker", Up: migrate5},
	{Version: 6, Name: "unified limits", Up: migrate6},
}

type v1Domain struct {
	ID          string `gorm:"primaryKey;size:64"`
	Name        string `gorm:"size:255;not null;uniqueIndex:uq_identity_domains_name"`
	Description string `gorm:"type:text"`
	Enabled     bool   `gorm:"not null"`
}

func (v1Domain) TableName() string { return "identity_domains" }

type v1Project struct {
	ID          string    `gorm:"primaryKey;size:64"`
	Name        string    `gorm:"size:255;not null;uniqueIndex:uq_identity_projects_domain_name,priority:2"`
	DomainID    string    `gorm:"size:64;not null;uniqueIndex:uq_identity_projects_domain_name,priority:1"`
	Description string    `gorm:"type:text"`
	Enabled     bool      `gorm:"not null"`
	CreatedAt   time.Time `gorm:"not null"`
}

func (v1Project) TableName() string { return "identity_projects" }

type v1User struct {
	ID               string    `gorm:"primaryKey;size:64"`
	Name             string    `gorm:"size:255;not null;uniqueIndex:uq_identity_users_domain_name,priority:2"`
	DomainID         string    `gorm:"size:64;not null;uniqueIndex:uq_identity_users_domain_name,priority:1"`
	DefaultProjectID string    `gorm:"size:64"`
	Enabled          bool      `gorm:"not null"`
	PasswordHash     string    `gorm:"size:255"`
	CreatedAt        time.Time `gorm:"not null"`
}

func (v1User) TableName() string { return "identity_users" }

type v1Role struct {
	ID          string `gorm:"primaryKey;size:64"`
	Name        string `gorm:"size:255;not null;uniqueIndex:uq_identity_roles_name"`
	Description string `gorm:"type:text"`
}

func (v1Role) TableName() string { return "identity_roles" }

type v1Assignment struct {
	UserID     string `gorm:"primaryKey;size:64"`
	TargetType string `gorm:"primaryKey;size:16"`
	TargetID   string `gorm:"primaryKey;size:64;index:ix_identity_assignments_target,priority:1"`
	RoleID     string `gorm:"primaryKey;size:64;index:ix_identity_assignments_role"`
}

func (v1Assignment) TableName() string { return "identity_assignments" }

func migrate1(tx *gorm.DB) error {
	return tx.Migrator().AutoMigrate(&v1Domain{}, &v1Project{}, &v1User{}, &v1Role{}, &v1Assignment{})
}

type v2Token struct {
	Hash      string    `gorm:"primaryKey;size:64"`
	UserID    string    `gorm:"size:64;not null;index:ix_identity_tokens_user"`
	ProjectID string    `gorm:"size:64"`
	DomainID  string    `gorm:"size:64"`
	Methods   string    `gorm:"size:255;not null"`
	AuditIDs  string    `gorm:"size:255;not null"`
	IssuedAt  time.Time `gorm:"not null"`
	ExpiresAt time.Time `gorm:"not null;index:ix_identity_tokens_expires"`
}

func (v2Token) TableName() string { return "identity_tokens" }

func migrate2(tx *gorm.DB) error { return tx.Migrator().AutoMigrate(&v2Token{}) }

type v3User struct {
	Email       string `gorm:"size:255"`
	Description string `gorm:"type:text"`
}

func (v3User) TableName() string { return "identity_users" }

func migrate3(tx *gorm.DB) error { return addMissingColumns(tx, &v3User{}, "Email", "Description") }

// addMissingColumns adds the named fields of model that the table lacks
// (re-runnable: MySQL commits each ALTER on its own).
func addMissingColumns(tx *gorm.DB, model any, fields ...string) error {
	m := tx.Migrator()
	for _, f := range fields {
		if !m.HasColumn(model, f) {
			if err := m.AddColumn(model, f); err != nil {
				return err
			}
		}
	}
	return nil
}

type v4User struct {
	FailedAuthCount int `gorm:"not null;default:0"`
	FailedAuthAt    *time.Time
}

func (v4User) TableName() string { return "identity_users" }

func migrate4(tx *gorm.DB) error {
	return addMissingColumns(tx, &v4User{}, "FailedAuthCount", "FailedAuthAt")
}

type v5Bootstrap struct {
	ID             string    `gorm:"primaryKey;size:64"`
	BootstrappedAt time.Time `gorm:"not null"`
}

func (v5Bootstrap) TableName() string { return "identity_bootstrap" }

// migrate5 adds the bootstrap marker. A database that already holds users was
// bootstrapped by an older version, which kept no marker: it is marked now, so
// that upgrading does not bring back default accounts an operator deleted.
func migrate5(tx *gorm.DB) error {
	if err := tx.Migrator().AutoMigrate(&v5Bootstrap{}); err != nil {
		return err
	}
	var users int64
	if err := tx.Table("identity_users").Count(&users).Error; err != nil {
		return err
	}
	if users == 0 {
		return nil
	}
	return tx.Clauses(clause.OnConflict{DoNothing: true}).
		Create(&v5Bootstrap{ID: bootstrapMarkerID, BootstrappedAt: time.Now().UTC()}).Error
}

// Tables lists the identity tables, for schema comparisons.
var Tables = []string{"identity_domains", "identity_projects", "identity_users", "identity_roles", "identity_assignments", "identity_tokens", "identity_bootstrap",
	"identity_registered_limits", "identity_limits"}

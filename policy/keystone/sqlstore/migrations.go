package sqlstore

import (
	"time"

	"gorm.io/gorm"

	"imagestack/common/db"
)

// Component is the name under which identity migrations are recorded.
const Component = "identity"

// Migrations is the identity schema history. Each step uses structs frozen at
// its version, never the live models, so that replaying history on an old
// database yields exactly the schema a fresh one gets.
var Migrations = []db.Migration{
	{Version: 1, Name: "domains projects users roles assignments", Up: migrate1},
	{Version: 2, Name: "persisted tokens", Up: migrate2},
	{Version: 3, Name: "user email and description", Up: migrate3},
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

func migrate3(tx *gorm.DB) error {
	m := tx.Migrator()
	for _, col := range []string{"Email", "Description"} {
		if !m.HasColumn(&v3User{}, col) {
			if err := m.AddColumn(&v3User{}, col); err != nil {
				return err
			}
		}
	}
	return nil
}

// Tables lists the identity tables, for schema comparisons.
var Tables = []string{"identity_domains", "identity_projects", "identity_users", "identity_roles", "identity_assignments", "identity_tokens"}

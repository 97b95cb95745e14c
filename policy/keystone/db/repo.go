// Package db keeps identity data in the metadata database (SQLite or
// MySQL) through gorm. It converts driver errors into keystone.ErrNotFound and
// keystone.ErrConflict at its boundary.
package db

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	commondb "imagestack/common/db"
	"imagestack/policy/keystone"
)

type domainRow struct {
	ID          string `gorm:"primaryKey"`
	Name        string
	Description string
	Enabled     bool
}

func (domainRow) TableName() string { return "identity_domains" }

type projectRow struct {
	ID          string `gorm:"primaryKey"`
	Name        string
	DomainID    string
	Description string
	Enabled     bool
	CreatedAt   time.Time
}

func (projectRow) TableName() string { return "identity_projects" }

type userRow struct {
	ID               string `gorm:"primaryKey"`
	Name             string
	DomainID         string
	DefaultProjectID string
	Email            string
	Description      string
	Enabled          bool
	PasswordHash     string
	CreatedAt        time.Time
	// The failed-login state is read here but written only by
	// RecordFailedAuth/ResetFailedAuth, never by a whole-row create or update.
	FailedAuthCount int        `gorm:"->"`
	FailedAuthAt    *time.Time `gorm:"->"`
}

func (userRow) TableName() string { return "identity_users" }

func userToRow(u keystone.User) userRow {
	return userRow{ID: u.ID, Name: u.Name, DomainID: u.DomainID, DefaultProjectID: u.DefaultProjectID, Email: u.Email,
		Description: u.Description, Enabled: u.Enabled, PasswordHash: u.PasswordHash, CreatedAt: u.CreatedAt}
}

func (r userRow) user() keystone.User {
	u := keystone.User{ID: r.ID, Name: r.Name, DomainID: r.DomainID, DefaultProjectID: r.DefaultProjectID, Email: r.Email,
		Description: r.Description, Enabled: r.Enabled, PasswordHash: r.PasswordHash, CreatedAt: r.CreatedAt,
		FailedAuthCount: r.FailedAuthCount}
	if r.FailedAuthAt != nil {
		u.FailedAuthAt = r.FailedAuthAt.UTC()
	}
	return u
}

// bootstrapRow is the marker that the identity database has been bootstrapped.
type bootstrapRow struct {
	ID             string `gorm:"primaryKey"`
	BootstrappedAt time.Time
}

func (bootstrapRow) TableName() string { return "identity_bootstrap" }

// bootstrapMarkerID is the id of the one bootstrap marker row.
const bootstrapMarkerID = "default"

type roleRow struct {
	ID          string `gorm:"primaryKey"`
	Name        string
	Description string
}

func (roleRow) TableName() string { return "identity_roles" }

type assignmentRow struct {
	UserID     string `gorm:"primaryKey"`
	TargetType string `gorm:"primaryKey"`
	TargetID   string `gorm:"primaryKey"`
	RoleID     string `gorm:"primaryKey"`
}

func (assignmentRow) TableName() string { return "identity_assignments" }

type tokenRow struct {
	Hash      string `gorm:"primaryKey"`
	UserID    string
	ProjectID string
	DomainID  string
	Methods   string
	AuditIDs  string `gorm:"column:audit_ids"`
	IssuedAt  time.Time
	ExpiresAt time.Time
}

func (tokenRow) TableName() string { return "identity_tokens" }

// Repo implements keystone.Repository on gorm.
type Repo struct{ db *gorm.DB }

// New migrates the identity schema to the newest version and returns the store.
func New(gdb *gorm.DB) (*Repo, error) {
	if err := commondb.Migrate(gdb, Component, Migrations); err != nil {
		return nil, err
	}
	return &Repo{db: gdb}, nil
}

var _ keystone.Repository = (*Repo)(nil)

// classify turns gorm/driver errors into keystone error kinds.
func classify(err error, what string) error { return errorKinds.Classify(err, what) }

var errorKinds = commondb.Kinds{NotFound: keystone.ErrNotFound, Conflict: keystone.ErrConflict, Unavailable: keystone.ErrUnavailable}

func (s *Repo) first(ctx context.Context, dst any, what string, query string, args ...any) error {
	return classify(s.db.WithContext(ctx).Where(query, args...).Take(dst).Error, what)
}

// deleteOne deletes by primary key and reports ErrNotFound when nothing matched.
func deleteOne(tx *gorm.DB, model any, what, id string) error {
	res := tx.Where("id = ?", id).Delete(model)
	if res.Error != nil {
		return classify(res.Error, what)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%s: %w", what, keystone.ErrNotFound)
	}
	return nil
}

// --- domains

func (s *Repo) CreateDomain(ctx context.Context, d keystone.Domain) error {
	return classify(s.db.WithContext(ctx).Create(&domainRow{ID: d.ID, Name: d.Name, Description: d.Description, Enabled: d.Enabled}).Error, "create domain")
}

func (s *Repo) GetDomain(ctx context.Context, id string) (keystone.Domain, error) {
	var r domainRow
	err := s.first(ctx, &r, "domain "+id, "id = ?", id)
	return keystone.Domain(r), err
}

func (s *Repo) FindDomain(ctx context.Context, name string) (keystone.Domain, error) {
	var r domainRow
	err := s.first(ctx, &r, "domain "+name, "name = ?", name)
	return keystone.Domain(r), err
}

func (s *Repo) ListDomains(ctx context.Context, name string) ([]keystone.Domain, error) {
	q := s.db.WithContext(ctx).Order("name, id")
	if name != "" {
		q = q.Where("name = ?", name)
	}
	return findAll(q, "list domains", func(r domainRow) keystone.Domain { return keystone.Domain(r) })
}

// findAll runs q and converts its rows with conv (what names the list in
// errors).
func findAll[R, T any](q *gorm.DB, what string, conv func(R) T) ([]T, error) {
	var rows []R
	if err := q.Find(&rows).Error; err != nil {
		return nil, classify(err, what)
	}
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = conv(r)
	}
	return out, nil
}

// --- projects

func (s *Repo) CreateProject(ctx context.Context, p keystone.Project) error {
	return classify(s.db.WithContext(ctx).Create(&projectRow{ID: p.ID, Name: p.Name, DomainID: p.DomainID,
		Description: p.Description, Enabled: p.Enabled, CreatedAt: p.CreatedAt}).Error, "create project")
}

func (s *Repo) GetProject(ctx context.Context, id string) (keystone.Project, error) {
	var r projectRow
	err := s.first(ctx, &r, "project "+id, "id = ?", id)
	return keystone.Project(r), err
}

func (s *Repo) FindProject(ctx context.Context, domainID, name string) (keystone.Project, error) {
	var r projectRow
	err := s.first(ctx, &r, "project "+name, "domain_id = ? AND name = ?", domainID, name)
	return keystone.Project(r), err
}

func (s *Repo) ListProjects(ctx context.Context, f keystone.ProjectFilter) ([]keystone.Project, error) {
	q := s.db.WithContext(ctx).Order("name, id")
	if f.Name != "" {
		q = q.Where("name = ?", f.Name)
	}
	if f.DomainID != "" {
		q = q.Where("domain_id = ?", f.DomainID)
	}
	if f.Enabled != nil {
		q = q.Where("enabled = ?", *f.Enabled)
	}
	if f.IDs != nil {
		if len(f.IDs) == 0 {
			return nil, nil
		}
		q = q.Where("id IN ?", f.IDs)
	}
	return findAll(q, "list projects", func(r projectRow) keystone.Project { return keystone.Project(r) })
}

func (s *Repo) UpdateProject(ctx context.Context, p keystone.Project) error {
	res := s.db.WithContext(ctx).Model(&projectRow{}).Where("id = ?", p.ID).
		Updates(map[string]any{"name": p.Name, "description": p.Description, "enabled": p.Enabled})
	if res.Error != nil {
		return classify(res.Error, "update project")
	}
	return s.existsAfterUpdate(ctx, res, &projectRow{}, "project "+p.ID, p.ID)
}

// existsAfterUpdate distinguishes "no such row" from "row unchanged": MySQL
// reports zero affected rows for an update that changes nothing.
func (s *Repo) existsAfterUpdate(ctx context.Context, res *gorm.DB, model any, what, id string) error {
	if res.RowsAffected > 0 {
		return nil
	}
	var n int64
	if err := s.db.WithContext(ctx).Model(model).Where("id = ?", id).Count(&n).Error; err != nil {
		return classify(err, what)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, keystone.ErrNotFound)
	}
	return nil
}

func (s *Repo) DeleteProject(ctx context.Context, id string) error {
	return classify(commondb.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := deleteOne(tx, &projectRow{}, "project "+id, id); err != nil {
			return err
		}
		if err := tx.Where("target_type = ? AND target_id = ?", keystone.TargetProject, id).Delete(&assignmentRow{}).Error; err != nil {
			return classify(err, "delete project assignments")
		}
		if err := tx.Where("project_id = ?", id).Delete(&limitRow{}).Error; err != nil {
			return classify(err, "delete project limits")
		}
		return classify(tx.Where("project_id = ?", id).Delete(&tokenRow{}).Error, "delete project tokens")
	}), "delete project")
}

// --- users

func (s *Repo) CreateUser(ctx context.Context, u keystone.User) error {
	r := userToRow(u)
	return classify(s.db.WithContext(ctx).Create(&r).Error, "create user")
}

func (s *Repo) GetUser(ctx context.Context, id string) (keystone.User, error) {
	var r userRow
	err := s.first(ctx, &r, "user "+id, "id = ?", id)
	return r.user(), err
}

func (s *Repo) FindUser(ctx context.Context, domainID, name string) (keystone.User, error) {
	var r userRow
	err := s.first(ctx, &r, "user "+name, "domain_id = ? AND name = ?", domainID, name)
	return r.user(), err
}

func (s *Repo) ListUsers(ctx context.Context, f keystone.UserFilter) ([]keystone.User, error) {
	q := s.db.WithContext(ctx).Order("name, id")
	if f.Name != "" {
		q = q.Where("name = ?", f.Name)
	}
	if f.DomainID != "" {
		q = q.Where("domain_id = ?", f.DomainID)
	}
	if f.Enabled != nil {
		q = q.Where("enabled = ?", *f.Enabled)
	}
	return findAll(q, "list users", userRow.user)
}

func (s *Repo) UpdateUser(ctx context.Context, u keystone.User) error {
	res := s.db.WithContext(ctx).Model(&userRow{}).Where("id = ?", u.ID).Updates(map[string]any{
		"name": u.Name, "default_project_id": u.DefaultProjectID, "email": u.Email,
		"description": u.Description, "enabled": u.Enabled, "password_hash": u.PasswordHash,
	})
	if res.Error != nil {
		return classify(res.Error, "update user")
	}
	return s.existsAfterUpdate(ctx, res, &userRow{}, "user "+u.ID, u.ID)
}

func (s *Repo) RecordFailedAuth(ctx context.Context, userID string, at time.Time) error {
	return s.setFailedAuth(ctx, userID, map[string]any{"failed_auth_count": gorm.Expr("failed_auth_count + 1"), "failed_auth_at": at.UTC()})
}

func (s *Repo) ResetFailedAuth(ctx context.Context, userID string) error {
	return s.setFailedAuth(ctx, userID, map[string]any{"failed_auth_count": 0, "failed_auth_at": nil})
}

func (s *Repo) setFailedAuth(ctx context.Context, userID string, cols map[string]any) error {
	// By table name: the model's columns are read-only to gorm.
	res := s.db.WithContext(ctx).Table(userRow{}.TableName()).Where("id = ?", userID).Updates(cols)
	if res.Error != nil {
		return classify(res.Error, "failed logins of user "+userID)
	}
	return s.existsAfterUpdate(ctx, res, &userRow{}, "user "+userID, userID)
}

func (s *Repo) DeleteUser(ctx context.Context, id string) error {
	return classify(commondb.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := deleteOne(tx, &userRow{}, "user "+id, id); err != nil {
			return err
		}
		if err := tx.Where("user_id = ?", id).Delete(&assignmentRow{}).Error; err != nil {
			return classify(err, "delete user assignments")
		}
		return classify(tx.Where("user_id = ?", id).Delete(&tokenRow{}).Error, "delete user tokens")
	}), "delete user")
}

// --- roles

func (s *Repo) CreateRole(ctx context.Context, r keystone.Role) error {
	return classify(s.db.WithContext(ctx).Create(&roleRow{ID: r.ID, Name: r.Name, Description: r.Description}).Error, "create role")
}

func (s *Repo) GetRole(ctx context.Context, id string) (keystone.Role, error) {
	var r roleRow
	err := s.first(ctx, &r, "role "+id, "id = ?", id)
	return keystone.Role(r), err
}

func (s *Repo) FindRole(ctx context.Context, name string) (keystone.Role, error) {
	var r roleRow
	err := s.first(ctx, &r, "role "+name, "name = ?", name)
	return keystone.Role(r), err
}

func (s *Repo) ListRoles(ctx context.Context, name string) ([]keystone.Role, error) {
	q := s.db.WithContext(ctx).Order("name, id")
	if name != "" {
		q = q.Where("name = ?", name)
	}
	return findAll(q, "list roles", func(r roleRow) keystone.Role { return keystone.Role(r) })
}

func (s *Repo) UpdateRole(ctx context.Context, r keystone.Role) error {
	res := s.db.WithContext(ctx).Model(&roleRow{}).Where("id = ?", r.ID).
		Updates(map[string]any{"name": r.Name, "description": r.Description})
	if res.Error != nil {
		return classify(res.Error, "update role")
	}
	return s.existsAfterUpdate(ctx, res, &roleRow{}, "role "+r.ID, r.ID)
}

func (s *Repo) DeleteRole(ctx context.Context, id string) error {
	return classify(commondb.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := deleteOne(tx, &roleRow{}, "role "+id, id); err != nil {
			return err
		}
		return classify(tx.Where("role_id = ?", id).Delete(&assignmentRow{}).Error, "delete role assignments")
	}), "delete role")
}

// --- assignments

func (s *Repo) AddAssignment(ctx context.Context, a keystone.Assignment) error {
	row := assignmentRow(a)
	err := s.db.WithContext(ctx).Create(&row).Error
	if commondb.IsDuplicate(err) {
		return nil // granting twice is not an error in Keystone
	}
	return classify(err, "add assignment")
}

func (s *Repo) RemoveAssignment(ctx context.Context, a keystone.Assignment) error {
	res := s.db.WithContext(ctx).Where("user_id = ? AND target_type = ? AND target_id = ? AND role_id = ?",
		a.UserID, a.TargetType, a.TargetID, a.RoleID).Delete(&assignmentRow{})
	if res.Error != nil {
		return classify(res.Error, "remove assignment")
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("assignment: %w", keystone.ErrNotFound)
	}
	return nil
}

func (s *Repo) ListAssignments(ctx context.Context, f keystone.AssignmentFilter) ([]keystone.Assignment, error) {
	q := s.db.WithContext(ctx).Order("user_id, target_type, target_id, role_id")
	for col, v := range map[string]string{"user_id": f.UserID, "target_type": f.TargetType, "target_id": f.TargetID, "role_id": f.RoleID} {
		if v != "" {
			q = q.Where(col+" = ?", v)
		}
	}
	return findAll(q, "list assignments", func(r assignmentRow) keystone.Assignment { return keystone.Assignment(r) })
}

// --- tokens

func (s *Repo) CreateToken(ctx context.Context, t keystone.TokenRecord) error {
	row := tokenRow{Hash: t.Hash, UserID: t.UserID, ProjectID: t.ProjectID, DomainID: t.DomainID,
		Methods: strings.Join(t.Methods, " "), AuditIDs: strings.Join(t.AuditIDs, " "),
		IssuedAt: t.IssuedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC()}
	return classify(s.db.WithContext(ctx).Create(&row).Error, "create token")
}

func (s *Repo) GetToken(ctx context.Context, hash string) (keystone.TokenRecord, error) {
	var r tokenRow
	if err := s.first(ctx, &r, "token", "hash = ?", hash); err != nil {
		return keystone.TokenRecord{}, err
	}
	return keystone.TokenRecord{Hash: r.Hash, UserID: r.UserID, ProjectID: r.ProjectID, DomainID: r.DomainID,
		Methods: strings.Fields(r.Methods), AuditIDs: strings.Fields(r.AuditIDs),
		IssuedAt: r.IssuedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC()}, nil
}

func (s *Repo) DeleteToken(ctx context.Context, hash string) error {
	res := s.db.WithContext(ctx).Where("hash = ?", hash).Delete(&tokenRow{})
	if res.Error != nil {
		return classify(res.Error, "delete token")
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("token: %w", keystone.ErrNotFound)
	}
	return nil
}

func (s *Repo) DeleteUserTokens(ctx context.Context, userID string) error {
	return classify(s.db.WithContext(ctx).Where("user_id = ?", userID).Delete(&tokenRow{}).Error, "delete user tokens")
}

// Bootstrap claims the marker row first: on MySQL the insert holds the row's
// lock until commit, so a second process blocks there and then finds the row;
// SQLite's immediate transactions serialize writers anyway.
func (s *Repo) Bootstrap(ctx context.Context, force bool, fn func(tx keystone.Repository) error) (bool, error) {
	ran := false
	err := commondb.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&bootstrapRow{ID: bootstrapMarkerID, BootstrappedAt: time.Now().UTC()})
		if res.Error != nil {
			return classify(res.Error, "bootstrap marker")
		}
		if res.RowsAffected == 0 && !force {
			return nil
		}
		ran = true
		return fn(&Repo{db: tx})
	})
	if err != nil {
		return false, classify(err, "bootstrap")
	}
	return ran, nil
}

func (s *Repo) DeleteExpiredTokens(ctx context.Context, t time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("expires_at < ?", t.UTC()).Delete(&tokenRow{})
	return res.RowsAffected, classify(res.Error, "delete expired tokens")
}

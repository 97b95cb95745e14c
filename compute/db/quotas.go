package db

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	commondb "imagestack/common/db"
	"imagestack/compute"
)

type quotaRow struct {
	ClassName string `gorm:"primaryKey"`
	ProjectID string `gorm:"primaryKey"`
	UserID    string `gorm:"primaryKey"`
	Resource  string `gorm:"primaryKey"`
	HardLimit int
}

func (quotaRow) TableName() string { return "quotas" }

var (
	_ compute.QuotaRepository       = (*Repo)(nil)
	_ compute.ServerGroupRepository = (*Repo)(nil)
)

func scopeWhere(db *gorm.DB, s compute.QuotaScope) *gorm.DB {
	return db.Where("class_name = ? AND project_id = ? AND user_id = ?", s.Class, s.ProjectID, s.UserID)
}

// QuotaLimits implements compute.QuotaRepository.
func (r *Repo) QuotaLimits(ctx context.Context, scope compute.QuotaScope) (map[string]int, error) {
	var rows []quotaRow
	if err := scopeWhere(r.db.WithContext(ctx), scope).Find(&rows).Error; err != nil {
		return nil, classify(err, "quotas")
	}
	out := make(map[string]int, len(rows))
	for _, q := range rows {
		out[q.Resource] = q.HardLimit
	}
	return out, nil
}

// SetQuotaLimits implements compute.QuotaRepository.
func (r *Repo) SetQuotaLimits(ctx context.Context, scope compute.QuotaScope, limits map[string]int) error {
	if len(limits) == 0 {
		return nil
	}
	rows := make([]quotaRow, 0, len(limits))
	for res, l := range limits {
		rows = append(rows, quotaRow{ClassName: scope.Class, ProjectID: scope.ProjectID, UserID: scope.UserID, Resource: res, HardLimit: l})
	}
	err := r.db.WithContext(ctx).Clauses(clause.OnConflict{DoUpdates: clause.AssignmentColumns([]string{"hard_limit"})}).Create(&rows).Error
	return classify(err, "quotas")
}

// DeleteQuotaLimits implements compute.QuotaRepository.
func (r *Repo) DeleteQuotaLimits(ctx context.Context, scope compute.QuotaScope) error {
	db := r.db.WithContext(ctx).Where("class_name = ? AND project_id = ?", scope.Class, scope.ProjectID)
	if scope.UserID != "" || scope.ProjectID == "" {
		db = db.Where("user_id = ?", scope.UserID)
	}
	return classify(db.Delete(&quotaRow{}).Error, "quotas")
}

type serverGroupRow struct {
	ID               string `gorm:"primaryKey"`
	Name             string
	ProjectID        string
	UserID           string
	Policy           string
	MaxServerPerHost int
	CreatedAt        time.Time `gorm:"autoCreateTime:false"`
}

func (serverGroupRow) TableName() string { return "server_groups" }

type groupMemberRow struct {
	ServerID string `gorm:"primaryKey"`
	GroupID  string
	Host     string
	JoinedAt time.Time
}

func (groupMemberRow) TableName() string { return "server_group_members" }

// lockProject runs fn in a transaction holding the project's row of
// quota_locks, so that a count and an insert are one step per project
// (server creates, server groups and their members). The row is created
// first, on its own: concurrent first calls of a project then meet on the
// primary key instead of deadlocking inside their transactions.
func (r *Repo) lockProject(ctx context.Context, projectID string, fn func(tx *gorm.DB) error) error {
	if err := r.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&quotaLockRow{ProjectID: projectID}).Error; err != nil {
		return classify(err, "quota lock of project "+projectID)
	}
	return commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		var lock quotaLockRow
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("project_id = ?", projectID).Take(&lock).Error; err != nil {
			return classify(err, "quota lock of project "+projectID)
		}
		return fn(tx)
	})
}

// CreateServerGroup implements compute.ServerGroupRepository.
func (r *Repo) CreateServerGroup(ctx context.Context, g compute.ServerGroup, limit int) error {
	err := r.lockProject(ctx, g.ProjectID, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&serverGroupRow{}).Where("project_id = ?", g.ProjectID).Count(&n).Error; err != nil {
			return err
		}
		if limit >= 0 && int(n)+1 > limit {
			return compute.Errorf(compute.ErrOverQuota, "Quota exceeded, too many server groups.")
		}
		created, err := afterLastGroup(tx, g.ProjectID, ms(g.CreatedAt))
		if err != nil {
			return err
		}
		return tx.Create(&serverGroupRow{ID: g.ID, Name: g.Name, ProjectID: g.ProjectID, UserID: g.UserID, Policy: g.Policy,
			MaxServerPerHost: g.MaxServerPerHost, CreatedAt: created}).Error
	})
	return classify(err, "server group "+g.ID)
}

// afterLastGroup returns created, or a millisecond after the project's
// newest group when that is not earlier: a project's groups list in the
// order they were created (Nova's, by its auto-increment id) even when
// two are created in the same millisecond. The project's lock (tx) keeps
// two creates from reading the same newest group.
func afterLastGroup(tx *gorm.DB, projectID string, created time.Time) (time.Time, error) {
	var last []serverGroupRow
	if err := tx.Where("project_id = ?", projectID).Order("created_at DESC").Limit(1).Find(&last).Error; err != nil {
		return created, err
	}
	if len(last) == 1 && !created.After(last[0].CreatedAt) {
		created = ms(last[0].CreatedAt).Add(time.Millisecond)
	}
	return created, nil
}

// GetServerGroup implements compute.ServerGroupRepository.
func (r *Repo) GetServerGroup(ctx context.Context, id string) (compute.ServerGroup, error) {
	var row serverGroupRow
	if err := r.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return compute.ServerGroup{}, classify(err, "server group "+id)
	}
	gs, err := r.withMembers(ctx, []serverGroupRow{row})
	if err != nil {
		return compute.ServerGroup{}, err
	}
	return gs[0], nil
}

// ListServerGroups implements compute.ServerGroupRepository: by
// creation time (distinct within a project: afterLastGroup), then id.
func (r *Repo) ListServerGroups(ctx context.Context, projectID string) ([]compute.ServerGroup, error) {
	db := r.db.WithContext(ctx).Order("created_at, id")
	if projectID != "" {
		db = db.Where("project_id = ?", projectID)
	}
	var rows []serverGroupRow
	if err := db.Find(&rows).Error; err != nil {
		return nil, classify(err, "server groups")
	}
	return r.withMembers(ctx, rows)
}

// CountServerGroups implements compute.ServerGroupRepository.
func (r *Repo) CountServerGroups(ctx context.Context, projectID string) (int, error) {
	var n int64
	err := r.db.WithContext(ctx).Model(&serverGroupRow{}).Where("project_id = ?", projectID).Count(&n).Error
	return int(n), classify(err, "server groups")
}

// withMembers turns rows into groups with their members.
func (r *Repo) withMembers(ctx context.Context, rows []serverGroupRow) ([]compute.ServerGroup, error) {
	out := make([]compute.ServerGroup, len(rows))
	byID := make(map[string]*compute.ServerGroup, len(rows))
	ids := make([]string, len(rows))
	for i, g := range rows {
		out[i] = compute.ServerGroup{ID: g.ID, Name: g.Name, ProjectID: g.ProjectID, UserID: g.UserID, Policy: g.Policy,
			MaxServerPerHost: g.MaxServerPerHost, CreatedAt: g.CreatedAt.UTC(), Members: []compute.GroupMember{}}
		byID[g.ID], ids[i] = &out[i], g.ID
	}
	if len(rows) == 0 {
		return out, nil
	}
	var members []groupMemberRow
	if err := r.db.WithContext(ctx).Where("group_id IN ?", ids).Order("joined_at, server_id").Find(&members).Error; err != nil {
		return nil, classify(err, "server group members")
	}
	for _, m := range members {
		g := byID[m.GroupID]
		g.Members = append(g.Members, compute.GroupMember{ServerID: m.ServerID, Host: m.Host})
	}
	return out, nil
}

// DeleteServerGroup implements compute.ServerGroupRepository.
func (r *Repo) DeleteServerGroup(ctx context.Context, id string) error {
	return classify(commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		res := tx.Where("id = ?", id).Delete(&serverGroupRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return compute.Errorf(compute.ErrNotFound, "Instance group %s could not be found.", id)
		}
		return tx.Where("group_id = ?", id).Delete(&groupMemberRow{}).Error
	}), "server group "+id)
}

// AddGroupMembers implements compute.ServerGroupRepository.
func (r *Repo) AddGroupMembers(ctx context.Context, groupID string, serverIDs []string, limit int) error {
	g, err := r.GetServerGroup(ctx, groupID)
	if err != nil {
		return err
	}
	now := ms(time.Now())
	return classify(r.lockProject(ctx, g.ProjectID, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&groupMemberRow{}).Where("group_id = ?", groupID).Count(&n).Error; err != nil {
			return err
		}
		if limit >= 0 && int(n)+len(serverIDs) > limit {
			return compute.Errorf(compute.ErrOverQuota, "Quota exceeded, too many servers in group")
		}
		for i, id := range serverIDs {
			// Members of one call join in their order.
			row := groupMemberRow{ServerID: id, GroupID: groupID, JoinedAt: now.Add(time.Duration(i) * time.Millisecond)}
			if err := tx.Create(&row).Error; err != nil {
				return err
			}
		}
		return nil
	}), fmt.Sprintf("members of server group %s", groupID))
}

// RemoveGroupMember implements compute.ServerGroupRepository.
func (r *Repo) RemoveGroupMember(ctx context.Context, serverID string) error {
	return classify(r.db.WithContext(ctx).Where("server_id = ?", serverID).Delete(&groupMemberRow{}).Error, "server group member")
}

// GroupOfServer implements compute.ServerGroupRepository.
func (r *Repo) GroupOfServer(ctx context.Context, serverID string) (compute.ServerGroup, error) {
	var m groupMemberRow
	if err := r.db.WithContext(ctx).Where("server_id = ?", serverID).Take(&m).Error; err != nil {
		return compute.ServerGroup{}, classify(err, "server group of "+serverID)
	}
	return r.GetServerGroup(ctx, m.GroupID)
}

// SetMemberHost implements compute.ServerGroupRepository.
func (r *Repo) SetMemberHost(ctx context.Context, serverID, host string) error {
	err := r.db.WithContext(ctx).Model(&groupMemberRow{}).Where("server_id = ?", serverID).Update("host", host).Error
	return classify(err, "server group member "+serverID)
}

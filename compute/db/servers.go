package db

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	commondb "imagestack/common/db"
	"imagestack/compute"
)

type serverRow struct {
	ID            string `gorm:"primaryKey"`
	Name          string
	ProjectID     string
	UserID        string
	ImageID       string
	FlavorID      string
	RAM           int `gorm:"column:memory_mb"`
	VCPUs         int `gorm:"column:vcpus"`
	Disk          int `gorm:"column:root_gb"`
	VMState       string
	TaskState     string
	PowerState    int
	ReservationID string
	KeyName       string
	Fault         string
	CreatedAt     time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt     time.Time `gorm:"autoUpdateTime:false"`
	LaunchedAt    *time.Time
	AccessIPv4    string `gorm:"column:access_ip_v4"`
	AccessIPv6    string `gorm:"column:access_ip_v6"`
	Zone          string `gorm:"column:availability_zone"`
	ConfigDrive   bool
	UserData      []byte
	KeyData       string
	Hostname      string
	LaunchIndex   int
	NICs          string `gorm:"column:nics"` // JSON of []compute.NIC
	Locked        bool
	LockedBy      string
	LockedReason  string
	OldFlavorID   string
	OldRAM        int `gorm:"column:old_memory_mb"`
	OldVCPUs      int `gorm:"column:old_vcpus"`
	OldDisk       int `gorm:"column:old_root_gb"`
	OldFlavorInfo string
	OldVMState    string
	DeletedAt     *time.Time `gorm:"column:soft_deleted_at"`
	Description   *string
	FlavorInfo    string
	KernelID      string
	RamdiskID     string
	SystemMeta    string `gorm:"column:system_metadata"` // JSON of a string map
	Host          string
	Node          string
	TaskOwner     string // read only here: tasklease.go writes it
}

func (serverRow) TableName() string { return "servers" }

type metadataRow struct {
	ServerID string `gorm:"primaryKey"`
	Key      string `gorm:"primaryKey;column:meta_key"`
	Value    string
}

func (metadataRow) TableName() string { return "server_metadata" }

var _ compute.ServerRepository = (*Repo)(nil)

func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func serverToRow(s *compute.Server) serverRow {
	r := serverRow{ID: s.ID, Name: s.Name, ProjectID: s.ProjectID, UserID: s.UserID, ImageID: s.ImageID, FlavorID: s.FlavorID,
		RAM: s.RAM, VCPUs: s.VCPUs, Disk: s.Disk, VMState: s.VMState, TaskState: s.TaskState, PowerState: int(s.PowerState),
		ReservationID: s.ReservationID, KeyName: s.KeyName, Fault: s.Fault, CreatedAt: ms(s.CreatedAt), UpdatedAt: ms(s.UpdatedAt),
		AccessIPv4: s.AccessIPv4, AccessIPv6: s.AccessIPv6, Zone: s.AvailabilityZone, ConfigDrive: s.ConfigDrive,
		UserData: s.UserData, KeyData: s.KeyData, Hostname: s.Hostname, LaunchIndex: s.LaunchIndex, NICs: nicsJSON(s.NICs),
		Locked: s.Locked, LockedBy: s.LockedBy, LockedReason: s.LockedReason,
		OldFlavorID: s.OldFlavorID, OldRAM: s.OldRAM, OldVCPUs: s.OldVCPUs, OldDisk: s.OldDisk, OldVMState: s.OldVMState,
		OldFlavorInfo: flavorJSON(s.OldFlavor),
		Description:   s.Description, FlavorInfo: flavorJSON(s.Flavor), KernelID: s.KernelID, RamdiskID: s.RamdiskID,
		SystemMeta: mapJSON(s.SystemMetadata), Host: s.Host, Node: s.Node}
	if s.LaunchedAt != nil {
		t := ms(*s.LaunchedAt)
		r.LaunchedAt = &t
	}
	if s.DeletedAt != nil {
		t := ms(*s.DeletedAt)
		r.DeletedAt = &t
	}
	return r
}

func serverFromRow(r *serverRow) *compute.Server {
	s := &compute.Server{ID: r.ID, Name: r.Name, ProjectID: r.ProjectID, UserID: r.UserID, ImageID: r.ImageID, FlavorID: r.FlavorID,
		RAM: r.RAM, VCPUs: r.VCPUs, Disk: r.Disk, VMState: r.VMState, TaskState: r.TaskState, PowerState: compute.PowerState(r.PowerState),
		ReservationID: r.ReservationID, KeyName: r.KeyName, Fault: r.Fault, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		Metadata: map[string]string{}, AccessIPv4: r.AccessIPv4, AccessIPv6: r.AccessIPv6, AvailabilityZone: r.Zone,
		ConfigDrive: r.ConfigDrive, UserData: r.UserData, KeyData: r.KeyData, Hostname: r.Hostname, LaunchIndex: r.LaunchIndex,
		NICs: nicsFromJSON(r.NICs), Locked: r.Locked, LockedBy: r.LockedBy, LockedReason: r.LockedReason,
		OldFlavorID: r.OldFlavorID, OldRAM: r.OldRAM, OldVCPUs: r.OldVCPUs, OldDisk: r.OldDisk, OldVMState: r.OldVMState,
		OldFlavor:   flavorFromJSON(r.OldFlavorInfo),
		Description: r.Description, Flavor: flavorFromJSON(r.FlavorInfo), KernelID: r.KernelID, RamdiskID: r.RamdiskID,
		SystemMetadata: mapFromJSON(r.SystemMeta), Host: r.Host, Node: r.Node, TaskOwner: r.TaskOwner}
	if r.LaunchedAt != nil {
		t := r.LaunchedAt.UTC()
		s.LaunchedAt = &t
	}
	if r.DeletedAt != nil {
		t := r.DeletedAt.UTC()
		s.DeletedAt = &t
	}
	return s
}

// nicsJSON encodes a server's NICs for their column ("" for none).
func nicsJSON(nics []compute.NIC) string {
	if len(nics) == 0 {
		return ""
	}
	b, _ := json.Marshal(nics) // plain strings and numbers: cannot fail
	return string(b)
}

// nicsFromJSON decodes the NICs column; what cannot be read is no NIC.
func nicsFromJSON(s string) []compute.NIC {
	var nics []compute.NIC
	if s != "" {
		_ = json.Unmarshal([]byte(s), &nics)
	}
	return nics
}

// flavorJSON encodes a server's flavor copy for its column.
func flavorJSON(f compute.FlavorCopy) string {
	b, _ := json.Marshal(f) // strings and numbers: cannot fail
	return string(b)
}

// flavorFromJSON decodes the flavor copy column; rows older than it have
// none (the zero copy).
func flavorFromJSON(s string) compute.FlavorCopy {
	var f compute.FlavorCopy
	if s != "" {
		_ = json.Unmarshal([]byte(s), &f)
	}
	return f
}

// mapJSON encodes a string map for its column ("" for none).
func mapJSON(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	b, _ := json.Marshal(m) // strings only: cannot fail
	return string(b)
}

// mapFromJSON decodes a string map column; what cannot be read is empty.
func mapFromJSON(s string) map[string]string {
	m := map[string]string{}
	if s != "" {
		_ = json.Unmarshal([]byte(s), &m)
	}
	return m
}

// insertMetadata stores a new server's metadata.
func insertMetadata(tx *gorm.DB, s *compute.Server) error {
	if len(s.Metadata) == 0 {
		return nil
	}
	rows := make([]metadataRow, 0, len(s.Metadata))
	for k, v := range s.Metadata {
		rows = append(rows, metadataRow{ServerID: s.ID, Key: k, Value: v})
	}
	return tx.Create(&rows).Error
}

// writeMetadata brings a server's stored metadata to s.Metadata, touching
// only the items that changed and each by its whole key: a delete by
// server_id alone would lock the index gap after the server's rows on
// MySQL, where other servers' metadata inserts wait and deadlock.
func writeMetadata(tx *gorm.DB, s *compute.Server) error {
	var rows []metadataRow
	if err := tx.Where("server_id = ?", s.ID).Find(&rows).Error; err != nil {
		return err
	}
	stored := make(map[string]string, len(rows))
	for _, m := range rows {
		stored[m.Key] = m.Value
		if _, keep := s.Metadata[m.Key]; !keep {
			if err := tx.Where("server_id = ? AND meta_key = ?", s.ID, m.Key).Delete(&metadataRow{}).Error; err != nil {
				return err
			}
		}
	}
	for k, v := range s.Metadata {
		old, ok := stored[k]
		switch {
		case !ok:
			if err := tx.Create(&metadataRow{ServerID: s.ID, Key: k, Value: v}).Error; err != nil {
				return err
			}
		case old != v:
			if err := tx.Model(&metadataRow{}).Where("server_id = ? AND meta_key = ?", s.ID, k).Update("value", v).Error; err != nil {
				return err
			}
		}
	}
	return nil
}

type quotaLockRow struct {
	ProjectID string `gorm:"primaryKey"`
}

func (quotaLockRow) TableName() string { return "quota_locks" }

// CreateServers implements compute.ServerRepository. The project's row in
// quota_locks is created first, on its own (concurrent first creates of a
// project then meet on the primary key instead of deadlocking inside their
// transactions); the transaction then locks it (MySQL; SQLite's
// transactions take the database write lock when they begin), so that the
// usage fit sees and the insert are one step per project.
func (r *Repo) CreateServers(ctx context.Context, projectID string, servers []*compute.Server, fit compute.FitFunc) ([]*compute.Server, error) {
	var created []*compute.Server
	err := r.lockProject(ctx, projectID, func(tx *gorm.DB) error {
		used, err := countUsage(tx, projectID)
		if err != nil {
			return err
		}
		n, err := fit(used)
		if err != nil {
			return err
		}
		if n < 0 || n > len(servers) {
			return fmt.Errorf("quota fit returned %d for %d servers", n, len(servers))
		}
		for _, s := range servers[:n] {
			if s.ProjectID != projectID {
				return fmt.Errorf("server %s belongs to project %s, not %s", s.ID, s.ProjectID, projectID)
			}
			row := serverToRow(s)
			if err := tx.Create(&row).Error; err != nil {
				return classify(err, "server "+s.ID)
			}
			if err := insertMetadata(tx, s); err != nil {
				return classify(err, "server metadata")
			}
			if err := writeTags(tx, s); err != nil {
				return classify(err, "server tags")
			}
		}
		created = servers[:n]
		return nil
	})
	if err != nil {
		return nil, classify(err, "create servers")
	}
	return created, nil
}

func (r *Repo) loadMetadata(ctx context.Context, servers []*compute.Server) error {
	if len(servers) == 0 {
		return nil
	}
	byID := make(map[string]*compute.Server, len(servers))
	ids := make([]string, len(servers))
	for i, s := range servers {
		byID[s.ID], ids[i] = s, s.ID
	}
	var rows []metadataRow
	if err := r.db.WithContext(ctx).Where("server_id IN ?", ids).Find(&rows).Error; err != nil {
		return classify(err, "server metadata")
	}
	for _, m := range rows {
		byID[m.ServerID].Metadata[m.Key] = m.Value
	}
	return r.loadTags(ctx, byID, ids)
}

// GetServer implements compute.ServerRepository.
func (r *Repo) GetServer(ctx context.Context, id string) (*compute.Server, error) {
	var row serverRow
	if err := r.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return nil, classify(err, "server "+id)
	}
	s := []*compute.Server{serverFromRow(&row)}
	return s[0], r.loadMetadata(ctx, s)
}

// UpdateServer implements compute.ServerRepository.
func (r *Repo) UpdateServer(ctx context.Context, s *compute.Server) error {
	return classify(commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		row := serverToRow(s)
		res := tx.Model(&serverRow{}).Where("id = ?", s.ID).Select("*").Omit("id", "created_at", "task_owner").Updates(&row)
		if res.Error != nil {
			return classify(res.Error, "server "+s.ID)
		}
		if res.RowsAffected == 0 {
			var n int64
			tx.Model(&serverRow{}).Where("id = ?", s.ID).Count(&n)
			if n == 0 {
				return fmt.Errorf("server %s: %w", s.ID, compute.ErrNotFound)
			}
		}
		if err := writeMetadata(tx, s); err != nil {
			return classify(err, "server metadata")
		}
		return classify(writeTags(tx, s), "server tags")
	}), "update server")
}

// CountUsage implements compute.ServerRepository.
func (r *Repo) CountUsage(ctx context.Context, projectID string) (compute.Usage, error) {
	return countUsage(r.db.WithContext(ctx), projectID)
}

func countUsage(db *gorm.DB, projectID string) (compute.Usage, error) {
	var res struct{ N, V, R int }
	err := db.Model(&serverRow{}).
		Select("COUNT(*) AS n, COALESCE(SUM(vcpus),0) AS v, COALESCE(SUM(memory_mb),0) AS r").
		Where("project_id = ? AND vm_state NOT IN ?", projectID, []string{compute.VMDeleted, compute.VMSoftDeleted}).Scan(&res).Error
	return compute.Usage{Instances: res.N, VCPUs: res.V, RAM: res.R}, classify(err, "usage")
}

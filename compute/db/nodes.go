package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	commondb "imagestack/common/db"
	"imagestack/compute"
)

type nodeRow struct {
	ID                  int `gorm:"primaryKey;autoIncrement"`
	Host                string
	HypervisorHostname  string
	Zone                string
	VCPUs               int `gorm:"column:vcpus"`
	MemoryMB            int
	LocalGB             int
	CPUAllocationRatio  float64 `gorm:"column:cpu_allocation_ratio"`
	RAMAllocationRatio  float64 `gorm:"column:ram_allocation_ratio"`
	DiskAllocationRatio float64
	HypervisorType      string
	HypervisorVersion   int
	Architecture        string
	Generation          int64
	CreatedAt           time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt           time.Time `gorm:"autoUpdateTime:false"`
}

func (nodeRow) TableName() string { return "compute_nodes" }

type allocationRow struct {
	ServerID string `gorm:"primaryKey"`
	Host     string `gorm:"primaryKey"`
	VCPUs    int    `gorm:"column:vcpus"`
	MemoryMB int
	DiskGB   int
}

func (allocationRow) TableName() string { return "allocations" }

var _ compute.NodeRepository = (*Repo)(nil)

// RegisterNode implements compute.NodeRepository.
func (r *Repo) RegisterNode(ctx context.Context, n compute.ComputeNode) (compute.ComputeNode, error) {
	what := "compute node " + n.Host
	fields := map[string]any{"hypervisor_hostname": n.HypervisorHostname, "zone": n.Zone, "vcpus": n.VCPUs,
		"memory_mb": n.MemoryMB, "local_gb": n.LocalGB, "cpu_allocation_ratio": n.CPUAllocationRatio,
		"ram_allocation_ratio": n.RAMAllocationRatio, "disk_allocation_ratio": n.DiskAllocationRatio,
		"hypervisor_type": n.HypervisorType, "hypervisor_version": n.HypervisorVersion, "architecture": n.Architecture,
		"updated_at": ms(n.UpdatedAt)}
	for range 2 { // a second pass when another process created it meanwhile
		res := r.db.WithContext(ctx).Model(&nodeRow{}).Where("host = ?", n.Host).Updates(fields)
		if res.Error != nil {
			return n, classify(res.Error, what)
		}
		if res.RowsAffected == 0 {
			row := nodeRow(n)
			row.ID, row.Generation, row.CreatedAt, row.UpdatedAt = 0, 0, ms(n.UpdatedAt), ms(n.UpdatedAt)
			err := r.db.WithContext(ctx).Create(&row).Error
			if err != nil && !commondb.IsDuplicate(err) {
				return n, classify(err, what)
			}
			if err != nil {
				continue
			}
		}
		var row nodeRow
		err := r.db.WithContext(ctx).Where("host = ?", n.Host).Take(&row).Error
		return compute.ComputeNode(row), classify(err, what)
	}
	return n, fmt.Errorf("%s: %w", what, compute.ErrConflict)
}

// HeartbeatNode implements compute.NodeRepository.
func (r *Repo) HeartbeatNode(ctx context.Context, host string, now time.Time) error {
	res := r.db.WithContext(ctx).Model(&nodeRow{}).Where("host = ?", host).Update("updated_at", ms(now))
	if res.Error != nil {
		return classify(res.Error, "compute node "+host)
	}
	if res.RowsAffected == 0 { // MySQL counts changed rows: the same time again changes none
		var n int64
		if err := r.db.WithContext(ctx).Model(&nodeRow{}).Where("host = ?", host).Count(&n).Error; err != nil {
			return classify(err, "compute node "+host)
		}
		if n == 0 {
			return fmt.Errorf("compute node %s: %w", host, compute.ErrNotFound)
		}
	}
	return nil
}

// ListNodes implements compute.NodeRepository.
func (r *Repo) ListNodes(ctx context.Context) ([]compute.ComputeNode, error) {
	var rows []nodeRow
	if err := r.db.WithContext(ctx).Order("host").Find(&rows).Error; err != nil {
		return nil, classify(err, "compute nodes")
	}
	out := make([]compute.ComputeNode, len(rows))
	for i, row := range rows {
		out[i] = compute.ComputeNode(row)
	}
	return out, nil
}

// DeleteNode implements compute.NodeRepository.
func (r *Repo) DeleteNode(ctx context.Context, host string) error {
	return classify(r.db.WithContext(ctx).Where("host = ?", host).Delete(&nodeRow{}).Error, "compute node "+host)
}

// NodeUsage implements compute.NodeRepository.
func (r *Repo) NodeUsage(ctx context.Context) (map[string]compute.NodeUsage, error) {
	out := map[string]compute.NodeUsage{}
	q := r.db.WithContext(ctx).Model(&allocationRow{}).Group("host").
		Select("host, COALESCE(SUM(vcpus),0), COALESCE(SUM(memory_mb),0), COALESCE(SUM(disk_gb),0), COUNT(*)")
	err := commondb.EachRow(q, func(rows *sql.Rows) error {
		var host string
		var u compute.NodeUsage
		if err := rows.Scan(&host, &u.VCPUs, &u.MemoryMB, &u.DiskGB, &u.Servers); err != nil {
			return err
		}
		out[host] = u
		return nil
	})
	return out, classify(err, "allocations")
}

// claimView is a node's capacity beside what the other servers' allocations
// take of it, read in the claim's transaction.
type claimView struct {
	VCPUs               int     `gorm:"column:vcpus"`
	MemoryMB            int     `gorm:"column:memory_mb"`
	LocalGB             int     `gorm:"column:local_gb"`
	CPUAllocationRatio  float64 `gorm:"column:cpu_allocation_ratio"`
	RAMAllocationRatio  float64 `gorm:"column:ram_allocation_ratio"`
	DiskAllocationRatio float64 `gorm:"column:disk_allocation_ratio"`
	UsedVCPUs           int     `gorm:"column:used_vcpus"`
	UsedMemoryMB        int     `gorm:"column:used_memory_mb"`
	UsedDiskGB          int     `gorm:"column:used_disk_gb"`
}

// Claim implements compute.NodeRepository. The compare-and-set of the
// generation locks the node's row until the transaction ends, so claims
// on one node run one after another on every engine and the capacity check
// reads every allocation committed before it; on Galera a claim that lost
// certification is rolled back and run again by Transaction (and then
// finds the generation moved).
func (r *Repo) Claim(ctx context.Context, a compute.Allocation, generation int64) error {
	err := commondb.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		res := tx.Model(&nodeRow{}).Where("host = ? AND generation = ?", a.Host, generation).
			Update("generation", gorm.Expr("generation + 1"))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return compute.ErrGenerationChanged
		}
		var v claimView
		if err := tx.Raw(`SELECT n.vcpus, n.memory_mb, n.local_gb, n.cpu_allocation_ratio, n.ram_allocation_ratio, n.disk_allocation_ratio,
			(SELECT COALESCE(SUM(vcpus),0) FROM allocations WHERE host = n.host AND server_id <> ?) AS used_vcpus,
			(SELECT COALESCE(SUM(memory_mb),0) FROM allocations WHERE host = n.host AND server_id <> ?) AS used_memory_mb,
			(SELECT COALESCE(SUM(disk_gb),0) FROM allocations WHERE host = n.host AND server_id <> ?) AS used_disk_gb
			FROM compute_nodes n WHERE n.host = ?`, a.ServerID, a.ServerID, a.ServerID, a.Host).Scan(&v).Error; err != nil {
			return err
		}
		used := compute.NodeUsage{VCPUs: v.UsedVCPUs, MemoryMB: v.UsedMemoryMB, DiskGB: v.UsedDiskGB}
		node := compute.ComputeNode{VCPUs: v.VCPUs, MemoryMB: v.MemoryMB, LocalGB: v.LocalGB, CPUAllocationRatio: v.CPUAllocationRatio,
			RAMAllocationRatio: v.RAMAllocationRatio, DiskAllocationRatio: v.DiskAllocationRatio}
		if !node.Fits(used, a) {
			return compute.ErrNoRoom
		}
		return tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&allocationRow{ServerID: a.ServerID, Host: a.Host,
			VCPUs: a.VCPUs, MemoryMB: a.MemoryMB, DiskGB: a.DiskGB}).Error
	})
	if errors.Is(err, compute.ErrGenerationChanged) || errors.Is(err, compute.ErrNoRoom) {
		return fmt.Errorf("claim on %s: %w", a.Host, err)
	}
	return classify(err, "allocation of server "+a.ServerID)
}

// AllocationOf implements compute.NodeRepository.
func (r *Repo) AllocationOf(ctx context.Context, serverID, host string) (compute.Allocation, error) {
	var row allocationRow
	err := r.db.WithContext(ctx).Where("server_id = ? AND host = ?", serverID, host).Take(&row).Error
	return compute.Allocation(row), classify(err, "allocation of server "+serverID)
}

// ReleaseAllocation implements compute.NodeRepository.
func (r *Repo) ReleaseAllocation(ctx context.Context, serverID, host string) error {
	q := r.db.WithContext(ctx).Where("server_id = ?", serverID)
	if host != "" {
		q = q.Where("host = ?", host)
	}
	return classify(q.Delete(&allocationRow{}).Error, "allocation of server "+serverID)
}

package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"imagestack/compute"
)

type hostServiceRow struct {
	ID             int    `gorm:"primaryKey;autoIncrement"`
	UUID           string `gorm:"column:uuid"`
	Host           string
	Binary         string
	Disabled       bool
	DisabledReason *string
	ForcedDown     bool
	CreatedAt      time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt      time.Time `gorm:"autoUpdateTime:false"`
}

func (hostServiceRow) TableName() string { return "compute_services" }

var _ compute.HostServiceRepository = (*Repo)(nil)

// EnsureHostService implements compute.HostServiceRepository.
func (r *Repo) EnsureHostService(ctx context.Context, host, binary string, now time.Time) (compute.HostService, error) {
	var row hostServiceRow
	err := r.db.WithContext(ctx).Where("host = ? AND `binary` = ?", host, binary).Take(&row).Error
	if err == nil {
		return compute.HostService(row), nil
	}
	if err = classify(err, "service "+binary); !errors.Is(err, compute.ErrNotFound) {
		return compute.HostService{}, err
	}
	row = hostServiceRow{UUID: uuid.NewString(), Host: host, Binary: binary, CreatedAt: ms(now), UpdatedAt: ms(now)}
	err = classify(r.db.WithContext(ctx).Create(&row).Error, "service "+binary)
	if errors.Is(err, compute.ErrConflict) { // created meanwhile by another request
		err = classify(r.db.WithContext(ctx).Where("host = ? AND `binary` = ?", host, binary).Take(&row).Error, "service "+binary)
	}
	return compute.HostService(row), err
}

// ListHostServices implements compute.HostServiceRepository.
func (r *Repo) ListHostServices(ctx context.Context) ([]compute.HostService, error) {
	var rows []hostServiceRow
	if err := r.db.WithContext(ctx).Order("id").Find(&rows).Error; err != nil {
		return nil, classify(err, "services")
	}
	out := make([]compute.HostService, len(rows))
	for i, row := range rows {
		out[i] = compute.HostService(row)
	}
	return out, nil
}

// UpdateHostService implements compute.HostServiceRepository.
func (r *Repo) UpdateHostService(ctx context.Context, s compute.HostService) error {
	res := r.db.WithContext(ctx).Model(&hostServiceRow{}).Where("uuid = ?", s.UUID).Updates(map[string]any{
		"disabled": s.Disabled, "disabled_reason": s.DisabledReason, "forced_down": s.ForcedDown, "updated_at": ms(s.UpdatedAt)})
	if res.Error != nil {
		return classify(res.Error, "service "+s.UUID)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("service %s: %w", s.UUID, compute.ErrNotFound)
	}
	return nil
}

// DeleteHostService implements compute.HostServiceRepository.
func (r *Repo) DeleteHostService(ctx context.Context, id string) error {
	res := r.db.WithContext(ctx).Where("uuid = ?", id).Delete(&hostServiceRow{})
	if res.Error != nil {
		return classify(res.Error, "service "+id)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("service %s: %w", id, compute.ErrNotFound)
	}
	return nil
}

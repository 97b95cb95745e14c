package db

import (
	"context"
	"fmt"
	"time"

	"imagestack/compute"
)

type keyPairRow struct {
	UserID      string `gorm:"primaryKey"`
	Name        string `gorm:"primaryKey"`
	PublicKey   string
	Fingerprint string
	Type        string
	CreatedAt   time.Time `gorm:"autoCreateTime:false"`
}

func (keyPairRow) TableName() string { return "key_pairs" }

var _ compute.KeyPairRepository = (*Repo)(nil)

// CreateKeyPair implements compute.KeyPairRepository.
func (r *Repo) CreateKeyPair(ctx context.Context, k compute.KeyPair) error {
	row := keyPairRow(k)
	row.CreatedAt = ms(k.CreatedAt)
	return classify(r.db.WithContext(ctx).Create(&row).Error, "key pair "+k.Name)
}

// GetKeyPair implements compute.KeyPairRepository.
func (r *Repo) GetKeyPair(ctx context.Context, userID, name string) (compute.KeyPair, error) {
	var row keyPairRow
	err := r.db.WithContext(ctx).Where("user_id = ? AND name = ?", userID, name).Take(&row).Error
	return compute.KeyPair(row), classify(err, "key pair "+name)
}

// ListKeyPairs implements compute.KeyPairRepository.
func (r *Repo) ListKeyPairs(ctx context.Context, userID string) ([]compute.KeyPair, error) {
	var rows []keyPairRow
	if err := r.db.WithContext(ctx).Where("user_id = ?", userID).Order("name").Find(&rows).Error; err != nil {
		return nil, classify(err, "key pairs")
	}
	out := make([]compute.KeyPair, len(rows))
	for i, row := range rows {
		out[i] = compute.KeyPair(row)
	}
	return out, nil
}

// DeleteKeyPair implements compute.KeyPairRepository.
func (r *Repo) DeleteKeyPair(ctx context.Context, userID, name string) error {
	res := r.db.WithContext(ctx).Where("user_id = ? AND name = ?", userID, name).Delete(&keyPairRow{})
	if res.Error != nil {
		return classify(res.Error, "key pair "+name)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("key pair %s: %w", name, compute.ErrNotFound)
	}
	return nil
}

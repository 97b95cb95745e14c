// Package db stores the network service's resources with gorm on SQLite
// and MariaDB/MySQL, in the database the other families use.
package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	commondb "imagestack/common/db"
	"imagestack/network"
)

// Repo implements network.Repository.
type Repo struct{ db *gorm.DB }

var _ network.Repository = (*Repo)(nil)

// New migrates the network tables and returns the repository.
func New(gdb *gorm.DB) (*Repo, error) {
	if err := commondb.Migrate(gdb, Component, Migrations); err != nil {
		return nil, err
	}
	return &Repo{db: gdb}, nil
}

var errorKinds = commondb.Kinds{NotFound: network.ErrNotFound, Conflict: network.ErrConflict, Unavailable: network.ErrUnavailable}

// classify converts gorm/driver errors into the domain's kinds; domain
// errors pass unchanged.
func classify(err error, what string) error {
	var ne *network.Error
	if errors.As(err, &ne) {
		return err
	}
	return errorKinds.Classify(err, what)
}

// tx runs fn in a transaction, retried on deadlocks.
func (r *Repo) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return commondb.Transaction(ctx, r.db, fn)
}

func sec(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

func stdRow(s network.Standard) v1Std {
	return v1Std{Description: s.Description, CreatedAt: sec(s.CreatedAt), UpdatedAt: sec(s.UpdatedAt), RevisionNumber: s.RevisionNumber}
}

func stdOf(s v1Std) network.Standard {
	return network.Standard{Description: s.Description, CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC(), RevisionNumber: s.RevisionNumber}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func fromJSON[T any](s string) T {
	var v T
	_ = json.Unmarshal([]byte(s), &v)
	return v
}

// gone is ErrNotFound when res changed nothing.
func gone(res *gorm.DB, what string) error {
	if res.Error != nil {
		return classify(res.Error, what)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%s: %w", what, network.ErrNotFound)
	}
	return nil
}

const order = "created_at, id"

// getRow reads the row of id and converts it with of.
func getRow[R, T any](ctx context.Context, gdb *gorm.DB, id, what string, of func(R) T) (T, error) {
	var row R
	err := gdb.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	return of(row), classify(err, what)
}

// listRows reads the rows q finds, oldest first, and converts them with
// of.
func listRows[R, T any](q *gorm.DB, what string, of func(R) T) ([]T, error) {
	var rows []R
	if err := q.Order(order).Find(&rows).Error; err != nil {
		return nil, classify(err, what)
	}
	return convert(rows, of), nil
}

// updateRow writes every column of row over the row of id; a row that is
// gone is ErrNotFound.
func updateRow[R any](ctx context.Context, gdb *gorm.DB, id string, row *R, what string) error {
	return gone(gdb.WithContext(ctx).Model(new(R)).Where("id = ?", id).Select("*").Updates(row), what)
}

// convert is of applied to each of rows (empty, not nil, for none).
func convert[R, T any](rows []R, of func(R) T) []T {
	out := make([]T, len(rows))
	for i, row := range rows {
		out[i] = of(row)
	}
	return out
}

// byParent groups rows by the id of the row each belongs to, keeping
// their order.
func byParent[R any](rows []R, parent func(R) string) map[string][]R {
	out := map[string][]R{}
	for _, row := range rows {
		out[parent(row)] = append(out[parent(row)], row)
	}
	return out
}

func networkRow(n network.Network) v1Network {
	return v1Network{ID: n.ID, Name: n.Name, ProjectID: n.ProjectID, Shared: n.Shared, AdminStateUp: n.AdminStateUp,
		PortSecurityEnabled: n.PortSecurityEnabled, MTU: n.MTU, Status: n.Status, Std: stdRow(n.Standard)}
}

func networkOf(r v1Network) network.Network {
	return network.Network{ID: r.ID, Name: r.Name, ProjectID: r.ProjectID, Shared: r.Shared, AdminStateUp: r.AdminStateUp,
		PortSecurityEnabled: r.PortSecurityEnabled, MTU: r.MTU, Status: r.Status, Standard: stdOf(r.Std)}
}

// CreateNetwork implements network.Repository.
func (r *Repo) CreateNetwork(ctx context.Context, n network.Network) error {
	row := networkRow(n)
	return classify(r.db.WithContext(ctx).Create(&row).Error, "network "+n.ID)
}

// GetNetwork implements network.Repository.
func (r *Repo) GetNetwork(ctx context.Context, id string) (network.Network, error) {
	return getRow(ctx, r.db, id, "network "+id, networkOf)
}

// ListNetworks implements network.Repository.
func (r *Repo) ListNetworks(ctx context.Context) ([]network.Network, error) {
	return listRows(r.db.WithContext(ctx), "networks", networkOf)
}

// UpdateNetwork implements network.Repository.
func (r *Repo) UpdateNetwork(ctx context.Context, n network.Network) error {
	row := networkRow(n)
	return updateRow(ctx, r.db, n.ID, &row, "network "+n.ID)
}

// DeleteNetwork implements network.Repository.
func (r *Repo) DeleteNetwork(ctx context.Context, id string) error {
	return classify(r.tx(ctx, func(tx *gorm.DB) error {
		if err := lockNetwork(tx, id); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&v1Port{}).Where("network_id = ? AND device_owner <> ?", id, network.OwnerDHCP).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return network.Errorf(network.ErrConflict, "NetworkInUse",
				"Unable to complete operation on network %s. There are one or more ports still in use on the network.", id)
		}
		for _, m := range []any{&v1Allocation{}, &v1Port{}, &v1Subnet{}} {
			if err := tx.Where("network_id = ?", id).Delete(m).Error; err != nil {
				return err
			}
		}
		return gone(tx.Where("id = ?", id).Delete(&v1Network{}), "network "+id)
	}), "network "+id)
}

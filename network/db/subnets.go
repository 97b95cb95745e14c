package db

import (
	"context"
	"errors"
	"net/netip"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"imagestack/network"
)

func subnetRow(s network.Subnet) v1Subnet {
	return v1Subnet{ID: s.ID, NetworkID: s.NetworkID, ProjectID: s.ProjectID, Name: s.Name, IPVersion: s.IPVersion,
		CIDR: s.CIDR, GatewayIP: s.GatewayIP, AllocationPools: toJSON(nonNil(s.AllocationPools)), EnableDHCP: s.EnableDHCP,
		DNSNameservers: toJSON(nonNil(s.DNSNameservers)), HostRoutes: toJSON(nonNil(s.HostRoutes)), Std: stdRow(s.Standard)}
}

func subnetOf(r v1Subnet) network.Subnet {
	return network.Subnet{ID: r.ID, NetworkID: r.NetworkID, ProjectID: r.ProjectID, Name: r.Name, IPVersion: r.IPVersion,
		CIDR: r.CIDR, GatewayIP: r.GatewayIP, AllocationPools: fromJSON[[]network.Pool](r.AllocationPools),
		EnableDHCP: r.EnableDHCP, DNSNameservers: fromJSON[[]string](r.DNSNameservers),
		HostRoutes: fromJSON[[]network.HostRoute](r.HostRoutes), Standard: stdOf(r.Std)}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// CreateSubnet implements network.Repository.
func (r *Repo) CreateSubnet(ctx context.Context, s network.Subnet) error {
	row := subnetRow(s)
	return classify(r.tx(ctx, func(tx *gorm.DB) error {
		// Lock the network row, so two overlapping creates cannot both pass
		// the check.
		if err := lockNetwork(tx, s.NetworkID); err != nil {
			return err
		}
		var others []v1Subnet
		if err := tx.Where("network_id = ?", s.NetworkID).Find(&others).Error; err != nil {
			return err
		}
		if err := checkOverlap(s, others); err != nil {
			return err
		}
		return tx.Create(&row).Error
	}), "subnet "+s.ID)
}

// lockNetwork locks a network's row for the transaction (a no-op lock on
// SQLite, whose transactions are serialized anyway).
func lockNetwork(tx *gorm.DB, id string) error {
	var row v1Network
	err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return network.NotFound("Network", id)
	}
	return err
}

func checkOverlap(s network.Subnet, others []v1Subnet) error {
	p, err := netip.ParsePrefix(s.CIDR)
	if err != nil {
		return network.Errorf(network.ErrBadRequest, "InvalidInput", "Invalid input for operation: '%s' is not a valid IP subnet.", s.CIDR)
	}
	for _, o := range others {
		if q, err := netip.ParsePrefix(o.CIDR); err == nil && q.Overlaps(p) {
			return network.Errorf(network.ErrBadRequest, "InvalidInput",
				"Invalid input for operation: Requested subnet with cidr: %s for network: %s overlaps with another subnet.", s.CIDR, s.NetworkID)
		}
	}
	return nil
}

// GetSubnet implements network.Repository.
func (r *Repo) GetSubnet(ctx context.Context, id string) (network.Subnet, error) {
	return getRow(ctx, r.db, id, "subnet "+id, subnetOf)
}

// ListSubnets implements network.Repository.
func (r *Repo) ListSubnets(ctx context.Context, networkID string) ([]network.Subnet, error) {
	q := r.db.WithContext(ctx)
	if networkID != "" {
		q = q.Where("network_id = ?", networkID)
	}
	return listRows(q, "subnets", subnetOf)
}

// UpdateSubnet implements network.Repository.
func (r *Repo) UpdateSubnet(ctx context.Context, s network.Subnet) error {
	row := subnetRow(s)
	return updateRow(ctx, r.db, s.ID, &row, "subnet "+s.ID)
}

// DeleteSubnet implements network.Repository.
func (r *Repo) DeleteSubnet(ctx context.Context, id string) error {
	return classify(r.tx(ctx, func(tx *gorm.DB) error {
		dhcp := tx.Model(&v1Port{}).Select("id").Where("device_owner = ?", network.OwnerDHCP)
		if err := tx.Where("subnet_id = ? AND port_id IN (?)", id, dhcp).Delete(&v1Allocation{}).Error; err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&v1Allocation{}).Where("subnet_id = ?", id).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return network.Errorf(network.ErrConflict, "SubnetInUse",
				"Unable to complete operation on subnet %s: One or more ports have an IP allocation from this subnet.", id)
		}
		return gone(tx.Where("id = ?", id).Delete(&v1Subnet{}), "subnet "+id)
	}), "subnet "+id)
}

package db

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"

	"gorm.io/gorm"

	commondb "imagestack/common/db"
	"imagestack/network"
)

// allocAttempts bounds the retries of a port write that lost a race for an
// address or MAC it chose itself to a concurrent transaction.
const allocAttempts = 10

// errRace marks an insert that hit a unique index on a value the
// transaction chose itself: running it again picks another.
var errRace = errors.New("address or MAC taken concurrently")

func portRow(p network.Port) v1Port {
	return v1Port{ID: p.ID, NetworkID: p.NetworkID, ProjectID: p.ProjectID, Name: p.Name, MAC: p.MAC,
		AdminStateUp: p.AdminStateUp, Status: p.Status, DeviceID: p.DeviceID, DeviceOwner: p.DeviceOwner, HostID: p.HostID,
		DNSName: p.DNSName, SecurityGroups: toJSON(nonNil(p.SecurityGroups)), PortSecurityEnabled: p.PortSecurityEnabled,
		AutoDelete: p.AutoDelete, Std: stdRow(p.Standard)}
}

func portOf(r v1Port, ips []v1Allocation) network.Port {
	p := network.Port{ID: r.ID, NetworkID: r.NetworkID, ProjectID: r.ProjectID, Name: r.Name, MAC: r.MAC,
		AdminStateUp: r.AdminStateUp, Status: r.Status, DeviceID: r.DeviceID, DeviceOwner: r.DeviceOwner, HostID: r.HostID,
		DNSName: r.DNSName, SecurityGroups: fromJSON[[]string](r.SecurityGroups), PortSecurityEnabled: r.PortSecurityEnabled,
		AutoDelete: r.AutoDelete, Standard: stdOf(r.Std), FixedIPs: []network.FixedIP{}}
	for _, a := range ips {
		p.FixedIPs = append(p.FixedIPs, network.FixedIP{SubnetID: a.SubnetID, IPAddress: a.IPAddress})
	}
	return p
}

// NewMAC returns a random MAC address in Neutron's default fa:16:3e prefix.
func NewMAC() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", b[0], b[1], b[2])
}

// CreatePort implements network.Repository.
func (r *Repo) CreatePort(ctx context.Context, p network.Port, ips []network.IPRequest) (network.Port, error) {
	return r.writePort(ctx, p, ips, true)
}

// UpdatePort implements network.Repository.
func (r *Repo) UpdatePort(ctx context.Context, p network.Port, ips []network.IPRequest) (network.Port, error) {
	return r.writePort(ctx, p, ips, false)
}

// writePort inserts or updates a port and its addresses in one
// transaction, again with fresh choices when a chosen address or MAC was
// taken by a concurrent transaction.
func (r *Repo) writePort(ctx context.Context, p network.Port, ips []network.IPRequest, create bool) (network.Port, error) {
	var err error
	for range allocAttempts {
		err = r.tx(ctx, func(tx *gorm.DB) error {
			// Port writes on a network queue on its row: allocations then
			// never deadlock on the address index (MariaDB's gap locks
			// did, with 20 concurrent creates).
			if err := lockNetwork(tx, p.NetworkID); err != nil {
				return err
			}
			row := portRow(p)
			if err := writePortRow(tx, &row, create); err != nil {
				return err
			}
			if ips == nil {
				return nil
			}
			return allocate(tx, p.NetworkID, p.ID, ips)
		})
		if !errors.Is(err, errRace) {
			break
		}
	}
	if errors.Is(err, errRace) {
		err = network.Errorf(network.ErrConflict, "IpAddressGenerationFailure", "No more IP addresses available on network %s.", p.NetworkID)
	}
	if err != nil {
		return network.Port{}, classify(err, "port "+p.ID)
	}
	return r.GetPort(ctx, p.ID)
}

// writePortRow inserts or updates row; a MAC left empty is chosen here.
func writePortRow(tx *gorm.DB, row *v1Port, create bool) error {
	chosen := row.MAC == ""
	if chosen {
		row.MAC = NewMAC()
	}
	var err error
	if create {
		err = tx.Create(row).Error
	} else {
		err = gone(tx.Model(&v1Port{}).Where("id = ?", row.ID).Select("*").Updates(row), "port "+row.ID)
	}
	if commondb.IsDuplicate(err) {
		if chosen {
			return errRace
		}
		if create && exists(tx, &v1Port{}, row.ID) {
			return err
		}
		return network.Errorf(network.ErrConflict, "MacAddressInUse",
			"Unable to complete operation for network %s. The mac address %s is in use.", row.NetworkID, row.MAC)
	}
	return err
}

func exists(tx *gorm.DB, model any, id string) bool {
	var n int64
	tx.Model(model).Where("id = ?", id).Count(&n)
	return n > 0
}

// allocate makes the port's addresses exactly ips: addresses kept stay,
// others are freed, new ones are inserted (the unique index on network and
// address refuses an address another port holds).
func allocate(tx *gorm.DB, networkID, portID string, ips []network.IPRequest) error {
	var held []v1Allocation
	if err := tx.Where("port_id = ?", portID).Find(&held).Error; err != nil {
		return err
	}
	if err := tx.Where("port_id = ?", portID).Delete(&v1Allocation{}).Error; err != nil {
		return err
	}
	taken := map[string]bool{}
	for i, want := range ips {
		a, chosen, err := pick(tx, networkID, want, held, taken)
		if err != nil {
			return err
		}
		a.PortID, a.Position = portID, i
		taken[a.IPAddress] = true
		if err := insertAllocation(tx, a, chosen); err != nil {
			return err
		}
	}
	return nil
}

func insertAllocation(tx *gorm.DB, a v1Allocation, chosen bool) error {
	err := tx.Create(&a).Error
	switch {
	case !commondb.IsDuplicate(err):
		return err
	case chosen:
		return errRace
	}
	return network.Errorf(network.ErrConflict, "IpAddressAlreadyAllocated",
		"IP address %s already allocated in subnet %s", a.IPAddress, a.SubnetID)
}

// pick resolves one request to an address: the one asked for (checked to
// be in the subnet), the one the port already holds on the subnet, or the
// first free address of the subnet's pools. chosen reports the last case.
func pick(tx *gorm.DB, networkID string, want network.IPRequest, held []v1Allocation, taken map[string]bool) (v1Allocation, bool, error) {
	var sub v1Subnet
	if err := tx.Where("id = ? AND network_id = ?", want.SubnetID, networkID).Take(&sub).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return v1Allocation{}, false, network.Errorf(network.ErrBadRequest, "InvalidInput",
				"Invalid input for operation: Failed to create port on network %s, because fixed_ips included invalid subnet %s.", networkID, want.SubnetID)
		}
		return v1Allocation{}, false, err
	}
	a := v1Allocation{NetworkID: networkID, SubnetID: sub.ID, IPAddress: want.IPAddress}
	if want.IPAddress != "" {
		return a, false, checkInSubnet(sub, want.IPAddress)
	}
	for _, h := range held {
		if h.SubnetID == sub.ID && !taken[h.IPAddress] {
			a.IPAddress = h.IPAddress
			return a, false, nil
		}
	}
	addr, err := firstFree(tx, sub, taken)
	a.IPAddress = addr
	return a, true, err
}

func checkInSubnet(sub v1Subnet, ip string) error {
	a, err := netip.ParseAddr(ip)
	p, perr := netip.ParsePrefix(sub.CIDR)
	if err != nil || perr != nil || !p.Contains(a) {
		return network.Errorf(network.ErrBadRequest, "InvalidIpForSubnet", "IP address %s is not a valid IP for the specified subnet.", ip)
	}
	return nil
}

// firstFree returns the lowest address of the subnet's pools that no port
// holds.
func firstFree(tx *gorm.DB, sub v1Subnet, taken map[string]bool) (string, error) {
	var used []string
	if err := tx.Model(&v1Allocation{}).Where("subnet_id = ?", sub.ID).Pluck("ip_address", &used).Error; err != nil {
		return "", err
	}
	inUse := map[string]bool{}
	for _, u := range used {
		inUse[u] = true
	}
	for _, pool := range fromJSON[[]network.Pool](sub.AllocationPools) {
		start, err1 := netip.ParseAddr(pool.Start)
		end, err2 := netip.ParseAddr(pool.End)
		if err1 != nil || err2 != nil {
			continue
		}
		for a := start; a.IsValid() && a.Compare(end) <= 0; a = a.Next() {
			if s := a.String(); !inUse[s] && !taken[s] {
				return s, nil
			}
		}
	}
	return "", network.Errorf(network.ErrConflict, "IpAddressGenerationFailure", "No more IP addresses available on network %s.", sub.NetworkID)
}

// GetPort implements network.Repository.
func (r *Repo) GetPort(ctx context.Context, id string) (network.Port, error) {
	var row v1Port
	if err := r.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return network.Port{}, classify(err, "port "+id)
	}
	var ips []v1Allocation
	err := r.db.WithContext(ctx).Where("port_id = ?", id).Order("position").Find(&ips).Error
	return portOf(row, ips), classify(err, "port "+id)
}

// ListPorts implements network.Repository.
func (r *Repo) ListPorts(ctx context.Context, f network.PortFilter) ([]network.Port, error) {
	q := r.db.WithContext(ctx).Order(order)
	if f.NetworkID != "" {
		q = q.Where("network_id = ?", f.NetworkID)
	}
	if f.DeviceID != "" {
		q = q.Where("device_id = ?", f.DeviceID)
	}
	var rows []v1Port
	if err := q.Find(&rows).Error; err != nil {
		return nil, classify(err, "ports")
	}
	ids := convert(rows, func(row v1Port) string { return row.ID })
	var ips []v1Allocation
	if len(ids) > 0 {
		if err := r.db.WithContext(ctx).Where("port_id IN ?", ids).Order("position").Find(&ips).Error; err != nil {
			return nil, classify(err, "ports")
		}
	}
	byPort := byParent(ips, func(a v1Allocation) string { return a.PortID })
	return convert(rows, func(row v1Port) network.Port { return portOf(row, byPort[row.ID]) }), nil
}

// DeletePort implements network.Repository.
func (r *Repo) DeletePort(ctx context.Context, id string) error {
	return classify(r.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("port_id = ?", id).Delete(&v1Allocation{}).Error; err != nil {
			return err
		}
		return gone(tx.Where("id = ?", id).Delete(&v1Port{}), "port "+id)
	}), "port "+id)
}

package db

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"imagestack/compute"
)

// sortColumn is a Nova sort key's column and the marker row's value of it.
type sortColumn struct {
	name string
	of   func(*serverRow) any
}

// sortColumns maps compute.ServerSortKeys to columns. Only columns that
// are never NULL: keyset paging compares the marker's values.
var sortColumns = map[string]sortColumn{
	"access_ip_v4":      {"access_ip_v4", func(r *serverRow) any { return r.AccessIPv4 }},
	"access_ip_v6":      {"access_ip_v6", func(r *serverRow) any { return r.AccessIPv6 }},
	"availability_zone": {"availability_zone", func(r *serverRow) any { return r.Zone }},
	"config_drive":      {"config_drive", func(r *serverRow) any { return r.ConfigDrive }},
	"created_at":        {"created_at", func(r *serverRow) any { return r.CreatedAt }},
	"display_name":      {"name", func(r *serverRow) any { return r.Name }},
	"hostname":          {"hostname", func(r *serverRow) any { return r.Hostname }},
	"image_ref":         {"image_id", func(r *serverRow) any { return r.ImageID }},
	"instance_type_id":  {"flavor_id", func(r *serverRow) any { return r.FlavorID }},
	"key_name":          {"key_name", func(r *serverRow) any { return r.KeyName }},
	"launch_index":      {"launch_index", func(r *serverRow) any { return r.LaunchIndex }},
	"locked":            {"locked", func(r *serverRow) any { return r.Locked }},
	"locked_by":         {"locked_by", func(r *serverRow) any { return r.LockedBy }},
	"power_state":       {"power_state", func(r *serverRow) any { return r.PowerState }},
	"project_id":        {"project_id", func(r *serverRow) any { return r.ProjectID }},
	"task_state":        {"task_state", func(r *serverRow) any { return r.TaskState }},
	"updated_at":        {"updated_at", func(r *serverRow) any { return r.UpdatedAt }},
	"user_id":           {"user_id", func(r *serverRow) any { return r.UserID }},
	"uuid":              {"id", func(r *serverRow) any { return r.ID }},
	"vm_state":          {"vm_state", func(r *serverRow) any { return r.VMState }},
}

type orderBy struct {
	col  sortColumn
	desc bool
}

// sortOrder is f's order ended with created_at and uuid (Nova's
// process_sort_params); keys without a column order nothing.
func sortOrder(keys []compute.SortKey) []orderBy {
	desc := len(keys) == 0 || keys[0].Desc
	var out []orderBy
	seen := map[string]bool{}
	for _, k := range append(keys, compute.SortKey{Key: "created_at", Desc: desc}, compute.SortKey{Key: "uuid", Desc: desc}) {
		c, ok := sortColumns[k.Key]
		if ok && !seen[c.name] {
			seen[c.name] = true
			out = append(out, orderBy{c, k.Desc})
		}
	}
	return out
}

// afterMarker narrows q to the rows after the marker row in order: for
// keys k1..kn, k1 past the marker's, or k1 equal and k2 past, and so on.
func afterMarker(q *gorm.DB, m *serverRow, order []orderBy) *gorm.DB {
	var ors []string
	var args []any
	for i, o := range order {
		var ands []string
		for _, prev := range order[:i] {
			ands = append(ands, prev.col.name+" = ?")
			args = append(args, prev.col.of(m))
		}
		op := " > ?"
		if o.desc {
			op = " < ?"
		}
		ands = append(ands, o.col.name+op)
		args = append(args, o.col.of(m))
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return q.Where("("+strings.Join(ors, " OR ")+")", args...)
}

// ListServers implements compute.ServerRepository.
func (r *Repo) ListServers(ctx context.Context, f compute.ServerFilter) ([]*compute.Server, error) {
	q, err := filtered(r.db.WithContext(ctx).Model(&serverRow{}), f)
	if err != nil {
		return nil, err
	}
	order := sortOrder(f.Sort)
	if f.Marker != "" {
		var m serverRow
		if err := r.db.WithContext(ctx).Where("id = ?", f.Marker).Take(&m).Error; err != nil {
			return nil, classify(err, "marker "+f.Marker)
		}
		q = afterMarker(q, &m, order)
	}
	for _, o := range order {
		dir := " ASC"
		if o.desc {
			dir = " DESC"
		}
		q = q.Order(o.col.name + dir)
	}
	byIP := f.IP != "" || f.IP6 != ""
	if f.Limit > 0 && !byIP {
		q = q.Limit(f.Limit)
	}
	var rows []serverRow
	if err := q.Find(&rows).Error; err != nil {
		if isRegexpError(err) {
			return nil, compute.Errorf(compute.ErrBadRequest, "Invalid regular expression for name filter: %s", f.Name)
		}
		return nil, classify(err, "list servers")
	}
	out := make([]*compute.Server, 0, len(rows))
	for i := range rows {
		sv := serverFromRow(&rows[i])
		if byIP && !hasAddress(sv, f.IP, f.IP6) {
			continue
		}
		if out = append(out, sv); f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, r.loadMetadata(ctx, out)
}

// filtered narrows q by every filter of f but the addresses.
func filtered(q *gorm.DB, f compute.ServerFilter) (*gorm.DB, error) {
	switch {
	case f.Deleted != nil && *f.Deleted: // Nova: deleted and soft-deleted
		q = q.Where("vm_state IN ?", []string{compute.VMDeleted, compute.VMSoftDeleted})
	case f.Deleted != nil || (f.ChangesSince == nil && f.ChangesBefore == nil):
		q = q.Where("vm_state <> ?", compute.VMDeleted)
		if f.Status != compute.VMSoftDeleted { // listed only when asked for
			q = q.Where("vm_state <> ?", compute.VMSoftDeleted)
		}
	}
	if f.ChangesSince != nil {
		q = q.Where("updated_at >= ?", ms(*f.ChangesSince))
	}
	if f.ChangesBefore != nil {
		q = q.Where("updated_at <= ?", ms(*f.ChangesBefore))
	}
	for col, v := range map[string]string{"project_id": f.ProjectID, "user_id": f.UserID, "vm_state": f.Status, "image_id": f.ImageID,
		"flavor_id": f.FlavorID, "reservation_id": f.ReservationID, "host": f.Host} {
		if v != "" {
			q = q.Where(col+" = ?", v)
		}
	}
	for col, v := range map[string]*bool{"locked": f.Locked, "config_drive": f.ConfigDrive} {
		if v != nil {
			q = q.Where(col+" = ?", *v)
		}
	}
	for col, pattern := range map[string]string{"name": f.Name, "key_name": f.KeyName} {
		if pattern != "" {
			var err error
			if q, err = whereMatches(q, col, col, pattern); err != nil {
				return nil, err
			}
		}
	}
	return whereTags(q, f), nil
}

// hasAddress reports whether one of the server's IPv4 addresses matches
// ip or one of its IPv6 addresses ip6, from its start ("" matches none).
func hasAddress(sv *compute.Server, ip, ip6 string) bool {
	patterns := map[int]string{4: ip, 6: ip6}
	for _, n := range sv.NICs {
		for _, a := range n.IPs {
			p := patterns[a.Version]
			if p == "" {
				continue
			}
			if re, err := compiled("^(?:" + p + ")"); err == nil && re.MatchString(a.Address) {
				return true
			}
		}
	}
	return false
}

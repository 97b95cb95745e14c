package db

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"

	commondb "imagestack/common/db"
	"imagestack/network"
)

func groupRow(g network.SecurityGroup) v1SecurityGroup {
	row := v1SecurityGroup{ID: g.ID, ProjectID: g.ProjectID, Name: g.Name, Stateful: g.Stateful, Std: stdRow(g.Standard)}
	if g.Default {
		p := g.ProjectID
		row.DefaultFor = &p
	}
	return row
}

func groupOf(r v1SecurityGroup, rules []v1Rule) network.SecurityGroup {
	return network.SecurityGroup{ID: r.ID, ProjectID: r.ProjectID, Name: r.Name, Stateful: r.Stateful,
		Default: r.DefaultFor != nil, Standard: stdOf(r.Std), Rules: convert(rules, ruleOf)}
}

func ruleRow(r network.SecurityGroupRule) v1Rule {
	return v1Rule{ID: r.ID, SecurityGroupID: r.SecurityGroupID, ProjectID: r.ProjectID, Direction: r.Direction,
		EtherType: r.EtherType, Protocol: r.Protocol, PortRangeMin: r.PortRangeMin, PortRangeMax: r.PortRangeMax,
		RemoteIPPrefix: r.RemoteIPPrefix, RemoteGroupID: r.RemoteGroupID, Std: stdRow(r.Standard)}
}

func ruleOf(r v1Rule) network.SecurityGroupRule {
	return network.SecurityGroupRule{ID: r.ID, SecurityGroupID: r.SecurityGroupID, ProjectID: r.ProjectID, Direction: r.Direction,
		EtherType: r.EtherType, Protocol: r.Protocol, PortRangeMin: r.PortRangeMin, PortRangeMax: r.PortRangeMax,
		RemoteIPPrefix: r.RemoteIPPrefix, RemoteGroupID: r.RemoteGroupID, Standard: stdOf(r.Std)}
}

// CreateSecurityGroup implements network.Repository.
func (r *Repo) CreateSecurityGroup(ctx context.Context, g network.SecurityGroup) error {
	row := groupRow(g)
	return classify(r.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		for _, rule := range g.Rules {
			rr := ruleRow(rule)
			if err := tx.Create(&rr).Error; err != nil {
				return err
			}
		}
		return nil
	}), "security group "+g.ID)
}

// GetSecurityGroup implements network.Repository.
func (r *Repo) GetSecurityGroup(ctx context.Context, id string) (network.SecurityGroup, error) {
	var row v1SecurityGroup
	if err := r.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return network.SecurityGroup{}, classify(err, "security group "+id)
	}
	var rules []v1Rule
	err := r.db.WithContext(ctx).Where("security_group_id = ?", id).Order(order).Find(&rules).Error
	return groupOf(row, rules), classify(err, "security group "+id)
}

// ListSecurityGroups implements network.Repository.
func (r *Repo) ListSecurityGroups(ctx context.Context) ([]network.SecurityGroup, error) {
	var rows []v1SecurityGroup
	if err := r.db.WithContext(ctx).Order(order).Find(&rows).Error; err != nil {
		return nil, classify(err, "security groups")
	}
	var rules []v1Rule
	if err := r.db.WithContext(ctx).Order(order).Find(&rules).Error; err != nil {
		return nil, classify(err, "security groups")
	}
	byGroup := byParent(rules, func(rule v1Rule) string { return rule.SecurityGroupID })
	return convert(rows, func(row v1SecurityGroup) network.SecurityGroup { return groupOf(row, byGroup[row.ID]) }), nil
}

// UpdateSecurityGroup implements network.Repository.
func (r *Repo) UpdateSecurityGroup(ctx context.Context, g network.SecurityGroup) error {
	row := groupRow(g)
	res := r.db.WithContext(ctx).Model(&v1SecurityGroup{}).Where("id = ?", g.ID).
		Select("name", "stateful", "description", "updated_at", "revision_number").Updates(&row)
	return gone(res, "security group "+g.ID)
}

// DeleteSecurityGroup implements network.Repository.
func (r *Repo) DeleteSecurityGroup(ctx context.Context, id string) error {
	return classify(r.tx(ctx, func(tx *gorm.DB) error {
		var n int64
		// Ports keep their groups as a JSON list of ids.
		if err := tx.Model(&v1Port{}).Where("security_groups LIKE ?", "%\""+strings.ReplaceAll(id, "%", "")+"\"%").Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return network.Errorf(network.ErrConflict, "SecurityGroupInUse", "Security Group %s in use.", id)
		}
		if err := tx.Where("security_group_id = ?", id).Delete(&v1Rule{}).Error; err != nil {
			return err
		}
		return gone(tx.Where("id = ?", id).Delete(&v1SecurityGroup{}), "security group "+id)
	}), "security group "+id)
}

// CreateSecurityGroupRule implements network.Repository.
func (r *Repo) CreateSecurityGroupRule(ctx context.Context, rule network.SecurityGroupRule) error {
	row := ruleRow(rule)
	return classify(r.tx(ctx, func(tx *gorm.DB) error {
		var g v1SecurityGroup
		if err := tx.Where("id = ?", rule.SecurityGroupID).Take(&g).Error; err != nil {
			return err
		}
		return tx.Create(&row).Error
	}), "security group rule "+rule.ID)
}

// GetSecurityGroupRule implements network.Repository.
func (r *Repo) GetSecurityGroupRule(ctx context.Context, id string) (network.SecurityGroupRule, error) {
	return getRow(ctx, r.db, id, "security group rule "+id, ruleOf)
}

// ListSecurityGroupRules implements network.Repository.
func (r *Repo) ListSecurityGroupRules(ctx context.Context) ([]network.SecurityGroupRule, error) {
	return listRows(r.db.WithContext(ctx), "security group rules", ruleOf)
}

// DeleteSecurityGroupRule implements network.Repository.
func (r *Repo) DeleteSecurityGroupRule(ctx context.Context, id string) error {
	return gone(r.db.WithContext(ctx).Where("id = ?", id).Delete(&v1Rule{}), "security group rule "+id)
}

// Quotas implements network.Repository.
func (r *Repo) Quotas(ctx context.Context, projectID string) (map[string]int, error) {
	var rows []v1Quota
	if err := r.db.WithContext(ctx).Where("project_id = ?", projectID).Find(&rows).Error; err != nil {
		return nil, classify(err, "quotas")
	}
	out := map[string]int{}
	for _, q := range rows {
		out[q.Resource] = q.HardLimit
	}
	return out, nil
}

// SetQuotas implements network.Repository.
func (r *Repo) SetQuotas(ctx context.Context, projectID string, limits map[string]int) error {
	return classify(r.tx(ctx, func(tx *gorm.DB) error {
		for res, limit := range limits {
			if err := tx.Where("project_id = ? AND resource = ?", projectID, res).Delete(&v1Quota{}).Error; err != nil {
				return err
			}
			if err := tx.Create(&v1Quota{ProjectID: projectID, Resource: res, HardLimit: limit}).Error; err != nil {
				return err
			}
		}
		return nil
	}), "quotas")
}

// QuotaProjects implements network.Repository.
func (r *Repo) QuotaProjects(ctx context.Context) ([]string, error) {
	var ids []string
	err := r.db.WithContext(ctx).Model(&v1Quota{}).Distinct("project_id").Order("project_id").Pluck("project_id", &ids)
	return ids, classify(err.Error, "quotas")
}

// DeleteQuotas implements network.Repository.
func (r *Repo) DeleteQuotas(ctx context.Context, projectID string) error {
	return classify(r.db.WithContext(ctx).Where("project_id = ?", projectID).Delete(&v1Quota{}).Error, "quotas")
}

// Bootstrapped implements network.Repository.
func (r *Repo) Bootstrapped(ctx context.Context, step string) (bool, error) {
	var n int64
	err := r.db.WithContext(ctx).Model(&v1Bootstrap{}).Where("step = ?", step).Count(&n).Error
	return n > 0, classify(err, "bootstrap")
}

// MarkBootstrapped implements network.Repository.
func (r *Repo) MarkBootstrapped(ctx context.Context, step string) error {
	err := r.db.WithContext(ctx).Create(&v1Bootstrap{Step: step, DoneAt: time.Now().UTC().Truncate(time.Second)}).Error
	if commondb.IsDuplicate(err) {
		return nil
	}
	return classify(err, "bootstrap")
}

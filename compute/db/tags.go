package db

import (
	"context"
	"slices"

	"gorm.io/gorm"

	"imagestack/compute"
)

type tagRow struct {
	ServerID string `gorm:"primaryKey"`
	Tag      string `gorm:"primaryKey"`
}

func (tagRow) TableName() string { return "server_tags" }

// loadTags gives the servers of byID (ids) their tags, sorted.
func (r *Repo) loadTags(ctx context.Context, byID map[string]*compute.Server, ids []string) error {
	var rows []tagRow
	if err := r.db.WithContext(ctx).Where("server_id IN ?", ids).Find(&rows).Error; err != nil {
		return classify(err, "server tags")
	}
	for _, t := range rows {
		sv := byID[t.ServerID]
		sv.Tags = append(sv.Tags, t.Tag)
	}
	for _, sv := range byID {
		slices.Sort(sv.Tags)
	}
	return nil
}

// writeTags brings a server's stored tags to s.Tags, each row touched by
// its whole key (as writeMetadata, for MySQL's gap locks).
func writeTags(tx *gorm.DB, s *compute.Server) error {
	var rows []tagRow
	if err := tx.Where("server_id = ?", s.ID).Find(&rows).Error; err != nil {
		return err
	}
	stored := map[string]bool{}
	for _, t := range rows {
		stored[t.Tag] = true
		if !slices.Contains(s.Tags, t.Tag) {
			if err := tx.Where("server_id = ? AND tag = ?", s.ID, t.Tag).Delete(&tagRow{}).Error; err != nil {
				return err
			}
		}
	}
	for _, t := range s.Tags {
		if !stored[t] {
			stored[t] = true
			if err := tx.Create(&tagRow{ServerID: s.ID, Tag: t}).Error; err != nil {
				return err
			}
		}
	}
	return nil
}

// whereTags narrows q by the tag filters of f (Nova 2.26).
func whereTags(q *gorm.DB, f compute.ServerFilter) *gorm.DB {
	const withTag = "SELECT server_id FROM server_tags WHERE tag IN ?"
	for _, t := range f.Tags {
		q = q.Where("id IN (SELECT server_id FROM server_tags WHERE tag = ?)", t)
	}
	if len(f.TagsAny) > 0 {
		q = q.Where("id IN ("+withTag+")", f.TagsAny)
	}
	if len(f.NotTags) > 0 {
		tags := uniq(f.NotTags)
		q = q.Where("id NOT IN ("+withTag+" GROUP BY server_id HAVING COUNT(*) = ?)", tags, len(tags))
	}
	if len(f.NotTagsAny) > 0 {
		q = q.Where("id NOT IN ("+withTag+")", f.NotTagsAny)
	}
	return q
}

func uniq(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

package db

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Migration is one numbered schema step of a component. Up must be written
// against structs frozen at that version (never the live models), so that an old
// database upgraded step by step ends with exactly the schema of a fresh one.
type Migration struct {
	Version int
	Name    string
	Up      func(tx *gorm.DB) error
}

// schemaMigration records the steps applied, per component.
type schemaMigration struct {
	Component string    `gorm:"primaryKey;size:64"`
	Version   int       `gorm:"primaryKey;autoIncrement:false"`
	Name      string    `gorm:"size:255;not null"`
	AppliedAt time.Time `gorm:"not null"`
}

func (schemaMigration) TableName() string { return "schema_migrations" }

// Migrate applies, in order, every migration of component newer than the
// database's recorded version. Versions must be unique and increasing. It
// refuses to run against a database that is newer than this binary, because
// the code would misread a schema it does not know.
func Migrate(db *gorm.DB, component string, migrations []Migration) error {
	return MigrateTo(db, component, migrations, -1)
}

// MigrateTo is Migrate stopping after version target (-1 = all). Tests use it
// to build an old schema and then upgrade it.
func MigrateTo(db *gorm.DB, component string, migrations []Migration, target int) error {
	db = db.WithContext(WithoutDeadline(context.Background())) // a step may rewrite a large table
	if err := db.AutoMigrate(&schemaMigration{}); err != nil {
		return fmt.Errorf("schema_migrations table: %w", err)
	}
	steps := append([]Migration(nil), migrations...)
	sort.Slice(steps, func(i, j int) bool { return steps[i].Version < steps[j].Version })
	for i := 1; i < len(steps); i++ {
		if steps[i].Version == steps[i-1].Version {
			return fmt.Errorf("%s: duplicate migration version %d", component, steps[i].Version)
		}
	}
	current, err := Version(db, component)
	if err != nil {
		return err
	}
	if n := len(steps); n > 0 && current > steps[n-1].Version {
		return fmt.Errorf("%s: database schema version %d is newer than this program knows (%d)", component, current, steps[n-1].Version)
	}
	for _, m := range steps {
		if m.Version <= current || (target >= 0 && m.Version > target) {
			continue
		}
		// MySQL commits DDL implicitly, so a transaction would not make a step
		// atomic there; each step is written to be re-runnable instead, and is
		// recorded only once it has fully succeeded.
		if err := m.Up(db); err != nil {
			return fmt.Errorf("%s migration %d (%s): %w", component, m.Version, m.Name, err)
		}
		rec := schemaMigration{Component: component, Version: m.Version, Name: m.Name, AppliedAt: time.Now().UTC()}
		if err := db.Create(&rec).Error; err != nil {
			return fmt.Errorf("%s migration %d: record: %w", component, m.Version, err)
		}
	}
	return nil
}

// Version returns the highest migration version applied for component (0 when none).
func Version(db *gorm.DB, component string) (int, error) {
	var v *int
	err := db.Model(&schemaMigration{}).Where("component = ?", component).Select("MAX(version)").Scan(&v).Error
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// Describe renders the schema of the given tables (columns with their types and
// nullability, and indexes) as stable text, so tests can compare a freshly
// created database with an upgraded one.
func Describe(db *gorm.DB, tables ...string) (string, error) {
	var b strings.Builder
	sort.Strings(tables)
	m := db.Migrator()
	for _, t := range tables {
		if !m.HasTable(t) {
			fmt.Fprintf(&b, "table %s: missing\n", t)
			continue
		}
		cols, err := m.ColumnTypes(t)
		if err != nil {
			return "", fmt.Errorf("columns of %s: %w", t, err)
		}
		var lines []string
		for _, c := range cols {
			nullable, _ := c.Nullable()
			pk, _ := c.PrimaryKey()
			lines = append(lines, fmt.Sprintf("  column %s %s null=%v pk=%v", c.Name(), strings.ToLower(c.DatabaseTypeName()), nullable, pk))
		}
		idx, err := m.GetIndexes(t)
		if err != nil {
			return "", fmt.Errorf("indexes of %s: %w", t, err)
		}
		for _, ix := range idx {
			if pk, _ := ix.PrimaryKey(); pk || ix.Name() == "PRIMARY" {
				continue
			}
			uniq, _ := ix.Unique()
			lines = append(lines, fmt.Sprintf("  index %s %v unique=%v", ix.Name(), ix.Columns(), uniq))
		}
		sort.Strings(lines)
		fmt.Fprintf(&b, "table %s\n%s\n", t, strings.Join(lines, "\n"))
	}
	return b.String(), nil
}

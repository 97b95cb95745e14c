// Package dbtest runs one repository test suite against every metadata engine:
// the embedded SQLite and a real MySQL/MariaDB. The MySQL server comes from
// TEST_MYSQL_DSN (set by `make test`); without it the test fails rather than
// silently covering one engine, unless IMAGESTACK_SKIP_MYSQL=1 asks for a
// visible skip.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"

	"imagestack/common/db"
)

// Each runs fn once per engine, in a subtest named after it, each with a fresh
// empty database that is removed afterwards.
func Each(t *testing.T, fn func(t *testing.T, gdb *gorm.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, OpenSQLite(t)) })
	t.Run("mysql", func(t *testing.T) { fn(t, OpenMySQL(t)) })
}

// OpenSQLite returns a fresh SQLite database in the test's temp dir.
func OpenSQLite(t testing.TB) *gorm.DB {
	t.Helper()
	gdb, err := db.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { closeDB(gdb) })
	return gdb
}

// MySQLDSN returns a DSN for a new, uniquely named database on the test
// server, dropped when the test ends.
func MySQLDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_MYSQL_DSN")
	if base == "" {
		if os.Getenv("IMAGESTACK_SKIP_MYSQL") == "1" {
			t.Skip("MySQL engine skipped on request (IMAGESTACK_SKIP_MYSQL=1)")
		}
		t.Fatal("TEST_MYSQL_DSN is not set: run `make test`, which starts MariaDB, or set IMAGESTACK_SKIP_MYSQL=1 to skip MySQL explicitly")
	}
	mc, err := gomysql.ParseDSN(base)
	if err != nil {
		t.Fatalf("TEST_MYSQL_DSN: %v", err)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	mc.DBName = "imagestack_test_" + hex.EncodeToString(rnd[:])
	name := mc.DBName
	t.Cleanup(func() {
		admin := *mc
		admin.DBName = ""
		conn, err := sql.Open("mysql", admin.FormatDSN())
		if err == nil {
			_, _ = conn.Exec("DROP DATABASE IF EXISTS `" + name + "`")
			conn.Close()
		}
	})
	return "mysql://" + mc.FormatDSN()
}

// OpenMySQL returns a fresh, empty MySQL database.
func OpenMySQL(t testing.TB) *gorm.DB {
	t.Helper()
	dsn := MySQLDSN(t)
	gdb, err := db.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open mysql: %v", err)
	}
	t.Cleanup(func() { closeDB(gdb) })
	return gdb
}

func closeDB(gdb *gorm.DB) {
	if s, err := gdb.DB(); err == nil {
		s.Close()
	}
}

// UpgradeMatchesFresh checks on every engine that replaying migrations from
// each older version ends with exactly the schema of a fresh database.
func UpgradeMatchesFresh(t *testing.T, component string, migrations []db.Migration, tables []string) {
	t.Helper()
	Each(t, func(t *testing.T, fresh *gorm.DB) {
		open := OpenSQLite
		if db.EngineOf(fresh) == db.MySQL {
			open = OpenMySQL
		}
		if err := db.Migrate(fresh, component, migrations); err != nil {
			t.Fatal(err)
		}
		want, err := db.Describe(fresh, tables...)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range migrations[:len(migrations)-1] {
			old := open(t)
			if err := db.MigrateTo(old, component, migrations, m.Version); err != nil {
				t.Fatal(err)
			}
			if err := db.Migrate(old, component, migrations); err != nil {
				t.Fatalf("upgrade from %d: %v", m.Version, err)
			}
			got, err := db.Describe(old, tables...)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("%s schema upgraded from v%d differs from fresh:\n--- upgraded\n%s\n--- fresh\n%s", component, m.Version, got, want)
			}
		}
	})
}

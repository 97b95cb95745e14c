package db_test

import (
	"testing"

	"gorm.io/gorm"

	"imagestack/common/db/dbtest"
	"imagestack/network"
	netdb "imagestack/network/db"
	"imagestack/network/networktest"
)

// TestRepository runs the repository suite on SQLite and MariaDB.
func TestRepository(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		first := true
		networktest.RepositorySuite(t, func(t *testing.T) network.Repository {
			if !first { // each subtest gets an empty database of the engine
				gdb = reopen(t, gdb)
			}
			first = false
			r, err := netdb.New(gdb)
			if err != nil {
				t.Fatal(err)
			}
			return r
		})
	})
}

func reopen(t *testing.T, gdb *gorm.DB) *gorm.DB {
	if gdb.Dialector.Name() == "mysql" {
		return dbtest.OpenMySQL(t)
	}
	return dbtest.OpenSQLite(t)
}

// TestUpgradeMatchesFresh checks the migrations on both engines.
func TestUpgradeMatchesFresh(t *testing.T) {
	dbtest.UpgradeMatchesFresh(t, netdb.Component, netdb.Migrations, netdb.Tables)
}

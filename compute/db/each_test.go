package db_test

import (
	"testing"

	"gorm.io/gorm"

	"imagestack/common/db/dbtest"
	computedb "imagestack/compute/db"
)

// eachRepo runs test against a fresh compute repository on every engine
// (SQLite and MariaDB).
func eachRepo(t *testing.T, test func(t *testing.T, r *computedb.Repo)) {
	t.Helper()
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		r, err := computedb.New(gdb)
		if err != nil {
			t.Fatal(err)
		}
		test(t, r)
	})
}

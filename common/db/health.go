package db

import (
	"context"

	"gorm.io/gorm"
)

// Ping reports whether the database answers a query within ctx's
// deadline. A query rather than a protocol ping: a Galera node that has
// left the primary component still answers pings but refuses statements,
// and statements are what requests need.
func Ping(ctx context.Context, gdb *gorm.DB) error {
	sqlDB, err := gdb.DB()
	if err != nil {
		return err
	}
	var one int
	return sqlDB.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

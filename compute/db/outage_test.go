package db_test

import (
	"context"
	"errors"
	"testing"

	"imagestack/common/db/dbtest"
	"imagestack/compute"
	computedb "imagestack/compute/db"
)

// TestDatabaseOutage: with the database out of reach every repository call
// (single statements and transactions alike) is compute.ErrUnavailable, which
// the compute API answers with 503 and Retry-After, never a bare 500.
func TestDatabaseOutage(t *testing.T) {
	gdb := dbtest.OpenSQLite(t)
	r, err := computedb.New(gdb)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := gdb.DB()
	sqlDB.Close()
	ctx := context.Background()
	_, getErr := r.GetServer(ctx, "x")
	_, flavorErr := r.GetFlavor(ctx, "1")
	_, listErr := r.ListServers(ctx, compute.ServerFilter{ProjectID: "p"})
	_, createErr := r.CreateServers(ctx, "p", newServers("p", 1), func(compute.Usage) (int, error) { return 1, nil })
	for what, err := range map[string]error{
		"get server": getErr, "get flavor": flavorErr, "list servers": listErr, "create servers": createErr,
		"update server": r.UpdateServer(ctx, &compute.Server{ID: "x"}),
	} {
		if !errors.Is(err, compute.ErrUnavailable) {
			t.Errorf("%s with the database down: %v, want ErrUnavailable", what, err)
		}
	}
}

package db_test

import (
	"context"
	"errors"
	"testing"

	"imagestack/common/db/dbtest"
	"imagestack/glance"
	glancedb "imagestack/glance/db"
)

// TestDatabaseOutage: with the database out of reach every repository call
// (single statements and transactions alike) is glance.ErrUnavailable, which
// the image API answers with 503 and Retry-After, never a bare 500.
func TestDatabaseOutage(t *testing.T) {
	gdb := dbtest.OpenSQLite(t)
	r, err := glancedb.New(gdb)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := gdb.DB()
	sqlDB.Close()
	ctx := context.Background()
	id := "00000000-0000-0000-0000-0000000000aa"
	_, getErr := r.Get(ctx, id)
	_, listErr := r.List(ctx, glance.ListQuery{})
	_, updErr := r.Update(ctx, id, func(*glance.Image) error { return nil })
	for what, err := range map[string]error{
		"get": getErr, "list": listErr, "update": updErr,
		"create":       r.Create(ctx, &glance.Image{ID: id, Status: glance.StatusQueued}),
		"delete":       r.Delete(ctx, id),
		"add location": r.AddLocation(ctx, id, "local", glance.LocationPending),
		"remove copy":  r.RemoveCopy(ctx, id, "local"),
	} {
		if !errors.Is(err, glance.ErrUnavailable) {
			t.Errorf("%s with the database down: %v, want ErrUnavailable", what, err)
		}
	}
}

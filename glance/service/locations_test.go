package service_test

import (
	"bytes"
	"testing"

	"imagestack/glance"
)

// A restart while a location's data is being read returns the image to
// queued and leaves the data where the operator put it: it was not the
// image's yet.
func TestRestartDuringPlacementKeepsTheData(t *testing.T) {
	e := newEnv(t, 1<<30)
	if _, err := e.fs.Put(e.ctx, "placed-r", bytes.NewReader([]byte("operator data"))); err != nil {
		t.Fatal(err)
	}
	im := e.create(t, `{"name":"x","disk_format":"raw","container_format":"bare"}`)
	// The state a crash mid-read leaves.
	if _, err := e.repo.Update(e.ctx, im.ID, func(cur *glance.Image) error {
		cur.Status, cur.BlobKey = glance.StatusSaving, "placed-r"
		cur.Properties["os_glance_placing_location"] = "local"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.repo.AddLocation(e.ctx, im.ID, "local", glance.LocationPending); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RecoverInterrupted(e.ctx); err != nil {
		t.Fatal(err)
	}
	got, err := e.repo.Get(e.ctx, im.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != glance.StatusQueued || got.BlobKey != "" || len(got.Locations) != 0 || got.Properties["os_glance_placing_location"] != "" {
		t.Fatalf("after the restart: %+v", got)
	}
	if _, err := e.fs.Stat(e.ctx, "placed-r"); err != nil {
		t.Fatalf("the operator's data went: %v", err)
	}
}

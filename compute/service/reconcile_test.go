package service_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"imagestack/compute"
	"imagestack/compute/computetest"
)

// TestForeignDomainEventsIgnored: a libvirt shared with another imagestack
// (a second deployment, the test suite) sends events for domains this
// service never created; they are neither an error in the log nor a change
// to any server.
func TestForeignDomainEventsIgnored(t *testing.T) {
	var logs bytes.Buffer
	s := computetest.NewSetup(t, computetest.WithLog(slog.New(slog.NewTextHandler(&logs, nil))))
	ctx := context.Background()
	ours := s.Boot(t, s.Member)
	spec := compute.SpawnSpec{ServerID: "foreign-server", Name: "x", MemoryMiB: 64, VCPUs: 1,
		BaseImage: computetest.BootImage(t, "FOREIGN"), BaseFormat: "raw"}
	if err := s.Hypervisor.Spawn(ctx, spec); err != nil {
		t.Fatal(err)
	}
	s.Service.SyncServer(ctx, spec.ServerID, false)
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("an event for another deployment's domain logged an error:\n%s", logs.String())
	}
	if got := s.Get(t, ours.ID); got.Status() != "ACTIVE" {
		t.Fatalf("our server after a foreign event: %s", got.Status())
	}
}

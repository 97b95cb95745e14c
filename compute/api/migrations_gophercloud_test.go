package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/migrations"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"imagestack/compute/computetest"
)

// TestMigrationsWithGophercloud: gophercloud's evacuate and os-migrations
// read what the API answers (times, integer ids, null flavors) unmodified.
func TestMigrationsWithGophercloud(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithHosts("h1", "h2"), computetest.WithAPI())
	id := movedServer(t, e)
	e.Hosts.SetUp("h1", false)
	ctx := context.Background()
	cc := &gophercloud.ServiceClient{ProviderClient: &gophercloud.ProviderClient{TokenID: "admin"}, Endpoint: e.Server.URL + "/v2.1/", Type: "compute"}
	pass, err := servers.Evacuate(ctx, cc, id, servers.EvacuateOpts{}).ExtractAdminPass()
	if err != nil || pass == "" {
		t.Fatalf("evacuate: %q %v", pass, err)
	}
	e.Service.Wait()
	cc.Microversion = "2.80"
	pages, err := migrations.List(cc, migrations.ListOpts{InstanceID: &id}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations.ExtractMigrations(pages)
	if err != nil || len(ms) != 1 {
		t.Fatalf("migrations: %+v %v", ms, err)
	}
	m := ms[0]
	if m.ID == 0 || m.UUID == "" || m.InstanceID != id || m.MigrationType != "evacuation" || m.Status != "done" ||
		m.SourceCompute != "h1" || m.DestCompute != "h2" || m.OldInstanceTypeID != 0 || m.ProjectID != computetest.MemberCreds.ProjectID ||
		time.Since(m.CreatedAt) > time.Minute || m.UpdatedAt.Before(m.CreatedAt) {
		t.Fatalf("migration as gophercloud reads it: %+v", m)
	}
	e.Hosts.SetUp("h1", true)
	cc.Microversion = ""
	if err := servers.Migrate(ctx, cc, id).ExtractErr(); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	e.Service.Wait()
	if err := servers.LiveMigrate(ctx, cc, id, servers.LiveMigrateOpts{BlockMigration: new(bool), DiskOverCommit: new(bool)}).ExtractErr(); err == nil {
		t.Fatal("live migration of a server in VERIFY_RESIZE was accepted")
	}
}

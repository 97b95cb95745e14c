package service_test

import (
	"context"
	"os"
	"slices"
	"testing"

	"imagestack/compute/computetest"
	"imagestack/compute/service"
)

// An admin's cache request for an aggregate holding this host fetches the
// image into the host's cache in the background; a boot then uses that
// base without downloading the image again.
func TestPrecacheThenBootDownloadsNothing(t *testing.T) {
	s := computetest.NewSetup(t)
	ctx := context.Background()
	host, _ := os.Hostname()
	agg, err := s.Service.CreateAggregate(ctx, s.Admin, "batch", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Service.AddAggregateHost(ctx, s.Admin, agg.ID, host); err != nil {
		t.Fatal(err)
	}
	if err := s.Service.CacheAggregateImages(ctx, s.Member, agg.ID, []string{"img"}); err == nil {
		t.Fatal("a member asked hosts to cache images")
	}
	if err := s.Service.CacheAggregateImages(ctx, s.Admin, agg.ID, []string{"img", "img"}); err == nil {
		t.Fatal("duplicate images accepted")
	}
	if err := s.Service.CacheAggregateImages(ctx, s.Admin, agg.ID, []string{"img"}); err != nil {
		t.Fatal(err)
	}
	s.Service.Wait()
	if _, err := os.Stat(s.Cache.Path("img")); err != nil || s.Cache.Downloads() != 1 {
		t.Fatalf("after the cache request: %d downloads, base %v", s.Cache.Downloads(), err)
	}
	sv := s.Boot(t, s.Member)
	if sv.VMState != "active" || s.Cache.Downloads() != 1 {
		t.Fatalf("boot after precache: %s, %d downloads (want 1: the precache's)", sv.VMState, s.Cache.Downloads())
	}
}

// The bases of this host's servers are in use until the servers are
// deleted: an eviction past the bound keeps them, then removes them.
func TestBasesInUseFollowServers(t *testing.T) {
	s := computetest.NewSetup(t)
	ctx := context.Background()
	s.Cache.MaxSize, s.Cache.InUse = 1, s.Service.BasesInUse
	sv := s.Boot(t, s.Member)
	inUse, err := s.Service.BasesInUse(ctx)
	if err != nil || !inUse["img"] || len(inUse) != 1 {
		t.Fatalf("in use with one server: %v %v", inUse, err)
	}
	if removed, err := s.Cache.Evict(ctx); err != nil || len(removed) != 0 {
		t.Fatalf("evicted %v (%v) while a server uses it", removed, err)
	}
	// The scheduler placed the server here; a server on no host (one
	// recorded before hosts were) counts on every host; its base is
	// another host's business once it runs there.
	if inUse, err := service.BasesInUseOn(ctx, s.Repo, "elsewhere"); err != nil || len(inUse) != 0 {
		t.Fatalf("a server of this host counts elsewhere: %v %v", inUse, err)
	}
	moved := *sv
	moved.Host = ""
	if err := s.Repo.UpdateServer(ctx, &moved); err != nil {
		t.Fatal(err)
	}
	if inUse, err := service.BasesInUseOn(ctx, s.Repo, "elsewhere"); err != nil || !inUse["img"] {
		t.Fatalf("a server on no host yet counts on every host: %v %v", inUse, err)
	}
	moved.Host = "elsewhere"
	if err := s.Repo.UpdateServer(ctx, &moved); err != nil {
		t.Fatal(err)
	}
	if inUse, err := s.Service.BasesInUse(ctx); err != nil || len(inUse) != 0 {
		t.Fatalf("in use here with the server on another host: %v %v", inUse, err)
	}
	if err := s.Repo.UpdateServer(ctx, sv); err != nil {
		t.Fatal(err)
	}
	if err := s.Service.Delete(ctx, s.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	s.Service.Wait()
	if removed, err := s.Cache.Evict(ctx); err != nil || !slices.Equal(removed, []string{"img"}) {
		t.Fatalf("evicted %v (%v) once the server is gone, want [img]", removed, err)
	}
	s.Boot(t, s.Member)
	if s.Cache.Downloads() != 2 {
		t.Fatalf("%d downloads: the evicted base must be fetched again", s.Cache.Downloads())
	}
}

// HostZone and HostsInZone follow aggregates' availability_zone.
func TestHostZoneFromAggregates(t *testing.T) {
	s := computetest.NewSetup(t)
	ctx := context.Background()
	host, _ := os.Hostname()
	if z, err := s.Service.HostZone(ctx, host); err != nil || z != service.ZoneName {
		t.Fatalf("zone without aggregates: %q %v", z, err)
	}
	agg, err := s.Service.CreateAggregate(ctx, s.Admin, "rack1", "az1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Service.AddAggregateHost(ctx, s.Admin, agg.ID, host); err != nil {
		t.Fatal(err)
	}
	if z, _ := s.Service.HostZone(ctx, host); z != "az1" {
		t.Fatalf("zone in rack1: %q", z)
	}
	if hosts, _ := s.Service.HostsInZone(ctx, "az1"); !slices.Equal(hosts, []string{host}) {
		t.Fatalf("hosts in az1: %v", hosts)
	}
	if hosts, _ := s.Service.HostsInZone(ctx, service.ZoneName); len(hosts) != 0 {
		t.Fatalf("hosts in nova: %v", hosts)
	}
	if zones, _ := (service.AggregateZones{Aggregates: s.Repo}).HostZones(ctx); len(zones) != 1 || zones[host] != "az1" {
		t.Fatalf("scheduler's host zones: %v", zones)
	}
	// Servers may ask for the aggregate's zone, not for one no host is in.
	for zone, ok := range map[string]bool{"az1": true, "az2": false} {
		_, err := s.Service.Create(ctx, s.Member, service.CreateRequest{Name: "vm", ImageRef: "img", FlavorRef: "42",
			MinCount: 1, MaxCount: 1, AvailabilityZone: zone})
		if (err == nil) != ok {
			t.Errorf("create in %s: %v", zone, err)
		}
	}
	s.Service.Wait()
}

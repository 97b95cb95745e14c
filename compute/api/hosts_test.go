package api_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"imagestack/common/cluster"
	"imagestack/compute/computetest"
)

// TestTwoComputeHosts: two compute hosts heartbeat; os-services lists a
// nova-compute per host and os-hypervisors both hypervisors, up; once one
// host's heartbeat stops it is down in both after service_down_time, and
// new servers go to the other.
func TestTwoComputeHosts(t *testing.T) {
	timing := cluster.Timing{Heartbeat: 50 * time.Millisecond, ServiceDownTime: time.Second}
	e := computetest.NewSetup(t, computetest.WithAPI(), computetest.WithTiming(timing))
	here, _ := os.Hostname()
	ctx, stopAll := context.WithCancel(context.Background())
	other, stopOther := context.WithCancel(ctx)
	var beats sync.WaitGroup
	for _, b := range []struct {
		ctx  context.Context
		host string
	}{{ctx, here}, {other, "compute-2"}} {
		beats.Go(func() { e.Service.RunHeartbeat(b.ctx, cluster.Member{Host: b.host}, timing) })
	}
	t.Cleanup(func() { stopAll(); beats.Wait() })
	states := func() (map[string]string, map[string]string) {
		t.Helper()
		time.Sleep(2 * timing.Heartbeat) // both registered
		services, hypervisors := map[string]string{}, map[string]string{}
		_, body := do(t, e.Server, "GET", "/v2.1/os-services?binary=nova-compute", "admin", "")
		for _, s := range body["services"].([]any) {
			sv := s.(map[string]any)
			services[sv["host"].(string)] = sv["state"].(string) + "/" + sv["zone"].(string)
		}
		_, body = do(t, e.Server, "GET", "/v2.1/os-hypervisors/detail", "admin", "", "OpenStack-API-Version", "compute 2.53")
		for _, h := range body["hypervisors"].([]any) {
			hv := h.(map[string]any)
			hypervisors[hv["hypervisor_hostname"].(string)] = hv["state"].(string) + "/" + hv["service"].(map[string]any)["host"].(string)
		}
		return services, hypervisors
	}
	services, hypervisors := states()
	if len(services) != 2 || services[here] != "up/nova" || services["compute-2"] != "up/nova" {
		t.Fatalf("services of two live hosts: %v", services)
	}
	if len(hypervisors) != 2 || hypervisors[here] != "up/"+here || hypervisors["compute-2"] != "up/compute-2" {
		t.Fatalf("hypervisors of two live hosts: %v", hypervisors)
	}
	first := e.Boot(t, e.Member) // hosts in name order when weights tie
	if first.Host != "compute-2" || first.Status() != "ACTIVE" {
		t.Fatalf("first server on %q (%s), want compute-2", first.Host, first.Status())
	}
	stopOther()
	time.Sleep(timing.ServiceDownTime + 100*time.Millisecond)
	services, hypervisors = states()
	if e.Service.HostUp(ctx, "compute-2") || !e.Service.HostUp(ctx, here) || e.Service.HostUp(ctx, "elsewhere") {
		t.Error("HostUp disagrees with os-services")
	}
	if services[here] != "up/nova" || services["compute-2"] != "down/nova" || hypervisors["compute-2"] != "down/compute-2" || hypervisors[here] != "up/"+here {
		t.Fatalf("after compute-2's heartbeat stopped: %v %v", services, hypervisors)
	}
	for range 3 {
		if sv := e.Boot(t, e.Member); sv.Host != here || sv.Status() != "ACTIVE" {
			t.Fatalf("a server went to %q (%s) with compute-2 down", sv.Host, sv.Status())
		}
	}
	for host, want := range map[string]int{"compute-2": 1, here: 3, "elsewhere": 0} {
		_, body := do(t, e.Server, "GET", "/v2.1/servers/detail?all_tenants=1&host="+host, "admin", "")
		list := body["servers"].([]any)
		if len(list) != want {
			t.Errorf("servers on %s: %d, want %d", host, len(list), want)
		}
		for _, s := range list {
			if sv := s.(map[string]any); sv["OS-EXT-SRV-ATTR:host"] != host || sv["OS-EXT-SRV-ATTR:hypervisor_hostname"] != host {
				t.Errorf("server listed on %s shows host %v", host, sv["OS-EXT-SRV-ATTR:host"])
			}
		}
	}
}

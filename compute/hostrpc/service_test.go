package hostrpc

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"imagestack/common/db/dbtest"
	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/imagecache"
)

// TestServiceOnAnotherHost wires the compute service as the api role does
// (the remote Hypervisor, DeferredCache) and a host as the compute role
// does (an agent over the host's hypervisor and image cache): a server
// boots ACTIVE with its base downloaded into the host's cache, stops, and
// is deleted, its VM gone from the host.
func TestServiceOnAnotherHost(t *testing.T) {
	gdb := dbtest.OpenSQLite(t)
	s := computetest.NewSetup(t, computetest.WithDB(gdb), computetest.WithoutHypervisor())
	env := newTestEnv(t, gdb)
	computetest.RegisterHost(t, s.Repo, computetest.Host{Name: "host-1"}) // heartbeating: the scheduler places there
	cacheDir := t.TempDir()
	cache, err := imagecache.New(cacheDir, s.Log)
	if err != nil {
		t.Fatal(err)
	}
	download := func(ctx context.Context, imageID string, w io.Writer) error {
		return s.Images.Download(ctx, computetest.AdminCreds, imageID, w) // the host's own credentials
	}
	fake := computetest.NewHypervisor()
	env.agent(t, "host-1", fake, withResolver(CacheResolver(cache, download)))
	s.Service.Hypervisor = env.client(t, FromServers(s.Repo, "host-1"))
	s.Service.Cache = DeferredCache{}

	sv := s.Boot(t, s.Member)
	if sv.VMState != compute.VMActive {
		t.Fatalf("server %s, fault %q", sv.VMState, sv.Fault)
	}
	base := fake.Spec(sv.ID).BaseImage
	if data, err := os.ReadFile(base); !strings.HasPrefix(base, cacheDir) || err != nil || !bytes.Equal(data, computetest.ImageData) {
		t.Fatalf("the host booted from %q (%v), not its cache's copy of the image", base, err)
	}
	if err := s.Service.Stop(t.Context(), s.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	s.Service.Wait()
	if ps, _ := fake.Domain(sv.ID); ps != compute.PowerShutdown || s.Get(t, sv.ID).VMState != compute.VMStopped {
		t.Fatalf("after Stop: VM %d, server %s", ps, s.Get(t, sv.ID).VMState)
	}
	if err := s.Service.Delete(t.Context(), s.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	s.Service.Wait()
	if _, ok := fake.Domain(sv.ID); ok {
		t.Fatal("the deleted server's VM is left on its host")
	}
}

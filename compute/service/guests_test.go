package service_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/service"
)

const netA, netB = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"

// createOne creates one server of req (defaults: image "img", flavor 42,
// m1.nano) for the member and waits for its boot.
func createOne(t *testing.T, e *computetest.Setup, req service.CreateRequest) (*compute.Server, string) {
	t.Helper()
	req.MinCount, req.MaxCount = 1, 1
	if req.FlavorRef == "" {
		req.FlavorRef = "42"
	}
	if req.Name == "" {
		req.Name = "vm"
	}
	if req.ImageRef == "" {
		req.ImageRef = "img"
	}
	res, err := e.Service.Create(context.Background(), e.Member, req)
	if err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	return e.Get(t, res.Servers[0].ID), res.AdminPass
}

// TestServerGetsItsNetworkAddress: with one network, a server gets a NIC
// on it without asking, the hypervisor plugs that NIC, the address stays
// through a rebuild and is released by the delete.
func TestServerGetsItsNetworkAddress(t *testing.T) {
	nets := computetest.NewNetworks()
	nets.Add(netA, "private", "10.0.0")
	e := computetest.NewSetup(t, computetest.WithNetworks(nets))
	sv, _ := createOne(t, e, service.CreateRequest{})
	if sv.Status() != "ACTIVE" || len(sv.NICs) != 1 || sv.NICs[0].IPs[0].Address != "10.0.0.10" || sv.NICs[0].NetworkName != "private" {
		t.Fatalf("server %s with NICs %+v", sv.Status(), sv.NICs)
	}
	spec := e.Hypervisor.Spec(sv.ID)
	if len(spec.NICs) != 1 || spec.NICs[0] != sv.NICs[0].VIF() {
		t.Fatalf("hypervisor NICs %+v, want %+v", spec.NICs, sv.NICs[0].VIF())
	}
	ctx := context.Background()
	if _, _, err := e.Service.Rebuild(ctx, e.Member, sv.ID, service.RebuildRequest{ImageRef: "img"}); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if after := e.Get(t, sv.ID); after.NICs[0].IPs[0].Address != "10.0.0.10" || e.Hypervisor.Spec(sv.ID).NICs[0].MAC != sv.NICs[0].MAC {
		t.Fatalf("rebuild changed the NIC: %+v", after.NICs)
	}
	second, _ := createOne(t, e, service.CreateRequest{})
	if second.NICs[0].IPs[0].Address == "10.0.0.10" {
		t.Fatal("two live servers share an address")
	}
	if err := e.Service.Delete(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if got := nets.Allocated(sv.ID); len(got) != 0 {
		t.Fatalf("deleted server still holds %+v", got)
	}
}

// TestNetworkChoice: Nova's rules for which networks a server gets.
func TestNetworkChoice(t *testing.T) {
	nets := computetest.NewNetworks()
	e := computetest.NewSetup(t, computetest.WithNetworks(nets))
	if sv, _ := createOne(t, e, service.CreateRequest{}); len(sv.NICs) != 0 || sv.Status() != "ACTIVE" {
		t.Fatalf("without networks: %s, NICs %+v", sv.Status(), sv.NICs)
	}
	nets.Add(netA, "a", "10.0.0")
	nets.Add(netB, "b", "10.0.1")
	_, err := e.Service.Create(context.Background(), e.Member, service.CreateRequest{Name: "vm", ImageRef: "img", FlavorRef: "42", MinCount: 1, MaxCount: 1})
	if !errors.Is(err, compute.ErrConflict) {
		t.Fatalf("two networks, none chosen: %v, want a conflict", err)
	}
	_, err = e.Service.Create(context.Background(), e.Member, service.CreateRequest{Name: "vm", ImageRef: "img", FlavorRef: "42", MinCount: 1, MaxCount: 1,
		Networks: compute.NetworksListed, NetworkRequests: []compute.NetworkRequest{{NetworkID: "33333333-3333-3333-3333-333333333333"}}})
	if !errors.Is(err, compute.ErrBadRequest) {
		t.Fatalf("unknown network: %v, want a 400", err)
	}
	sv, _ := createOne(t, e, service.CreateRequest{Networks: compute.NetworksListed,
		NetworkRequests: []compute.NetworkRequest{{NetworkID: netB}, {NetworkID: netA}}})
	if len(sv.NICs) != 2 || sv.NICs[0].NetworkName != "b" || sv.NICs[1].NetworkName != "a" {
		t.Fatalf("NICs %+v, want b then a", sv.NICs)
	}
	if sv, _ := createOne(t, e, service.CreateRequest{Networks: compute.NetworksNone}); len(sv.NICs) != 0 {
		t.Fatalf("networks none gave %+v", sv.NICs)
	}
}

// TestConfigDrive: a server that asks for a config drive (or every server,
// when forced) gets one with its password, key and user data; a rebuild
// builds it again with the new password; the delete removes it.
func TestConfigDrive(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithConfigDrives(false))
	ctx := context.Background()
	if _, _, err := e.Service.CreateKeyPair(ctx, e.Member, "mykey", "", ""); err != nil {
		t.Fatal(err)
	}
	plain, _ := createOne(t, e, service.CreateRequest{})
	if _, ok := e.Drives.Last(plain.ID); ok || e.Hypervisor.Spec(plain.ID).ConfigDrive != "" || plain.ConfigDrive {
		t.Fatal("a server that did not ask got a config drive")
	}
	sv, pass := createOne(t, e, service.CreateRequest{ConfigDrive: true, AdminPass: "s3cret", KeyName: "mykey", UserData: []byte("#!/bin/sh\necho hi\n")})
	b, ok := e.Drives.Last(sv.ID)
	if !ok || pass != "s3cret" || b.AdminPass != "s3cret" || string(b.Server.UserData) != "#!/bin/sh\necho hi\n" ||
		b.Server.KeyData == "" || b.Server.Hostname != "vm" || e.Hypervisor.Spec(sv.ID).ConfigDrive != b.Path {
		t.Fatalf("drive %+v (built %v), answered password %q, spec %+v", b, ok, pass, e.Hypervisor.Spec(sv.ID))
	}
	_, newPass, err := e.Service.Rebuild(ctx, e.Member, sv.ID, service.RebuildRequest{ImageRef: "img"})
	if err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if b, _ := e.Drives.Last(sv.ID); newPass == "" || newPass == "s3cret" || b.AdminPass != newPass {
		t.Fatalf("rebuild: drive password %q, answered %q", b.AdminPass, newPass)
	}
	if err := e.Service.Delete(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if _, err := os.Stat(b.Path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the deleted server's config drive is still there: %v", err)
	}
	forced := computetest.NewSetup(t, computetest.WithConfigDrives(true))
	if sv, _ := createOne(t, forced, service.CreateRequest{}); !sv.ConfigDrive || forced.Hypervisor.Spec(sv.ID).ConfigDrive == "" {
		t.Fatal("force_config_drive: the server has no config drive")
	}
}

// TestKernelAndRamdisk: an ami image boots its kernel_id with its
// ramdisk_id and os_command_line; kernels and ramdisks do not boot alone.
func TestKernelAndRamdisk(t *testing.T) {
	e := computetest.NewSetup(t)
	sv, _ := createOne(t, e, service.CreateRequest{ImageRef: "ami"})
	spec := e.Hypervisor.Spec(sv.ID)
	if sv.Status() != "ACTIVE" || spec.Kernel == "" || spec.Ramdisk == "" || spec.Cmdline != "console=ttyS0 quiet" || spec.BaseFormat != "raw" {
		t.Fatalf("server %s (%s), spec %+v", sv.Status(), sv.Fault, spec)
	}
	for _, img := range []string{"aki", "ari"} {
		_, err := e.Service.Create(context.Background(), e.Member, service.CreateRequest{Name: "vm", ImageRef: img, FlavorRef: "42", MinCount: 1, MaxCount: 1})
		if !errors.Is(err, compute.ErrBadRequest) {
			t.Errorf("booting an %s image: %v, want a 400", img, err)
		}
	}
}

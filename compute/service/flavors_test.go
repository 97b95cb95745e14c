package service_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/service"
)

// knownProjects is the identity service of the tests: these projects exist.
type knownProjects []string

func (k knownProjects) ProjectExists(_ context.Context, id string) (bool, error) {
	return slices.Contains(k, id), nil
}

func flavorIDs(t *testing.T, e *computetest.Setup, c service.Caller, scope service.FlavorScope) []string {
	t.Helper()
	list, err := e.Service.ListFlavors(context.Background(), c, compute.FlavorFilter{}, scope)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range list {
		ids = append(ids, f.ID)
	}
	return ids
}

// TestPrivateFlavors: a private flavor is invisible and unusable to a
// project until an admin gives it access, as in Nova (404 on show, 400 on
// boot, absent from lists), and again after the access is taken away.
func TestPrivateFlavors(t *testing.T) {
	e := computetest.NewSetup(t, smallQuotas, computetest.WithProjects(knownProjects{"A", "q"}))
	ctx := context.Background()
	if _, err := e.Service.CreateFlavor(ctx, e.Admin, compute.Flavor{ID: "priv", Name: "priv", RAM: 64, VCPUs: 1, Disk: 1, RxTxFactor: 1}); err != nil {
		t.Fatal(err)
	}
	boot := func() error {
		_, err := e.Service.Create(ctx, e.Member, service.CreateRequest{Name: "vm", ImageRef: "img", FlavorRef: "priv", MinCount: 1, MaxCount: 1})
		return err
	}
	hidden := func(when string) {
		t.Helper()
		if _, err := e.Service.GetFlavor(ctx, e.Member, "priv"); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("%s: show: %v", when, err)
		}
		if err := boot(); !errors.Is(err, compute.ErrBadRequest) || compute.Message(err) != "Flavor priv could not be found." {
			t.Fatalf("%s: boot: %v", when, err)
		}
		if _, err := e.Service.ExtraSpecs(ctx, e.Member, "priv"); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("%s: extra specs: %v", when, err)
		}
		for _, scope := range []service.FlavorScope{service.FlavorsDefault, service.FlavorsAll, service.FlavorsPrivate} {
			if ids := flavorIDs(t, e, e.Member, scope); slices.Contains(ids, "priv") {
				t.Fatalf("%s: listed for the member (scope %d): %v", when, scope, ids)
			}
		}
	}
	hidden("before access")
	if _, err := e.Service.AddFlavorAccess(ctx, e.Member, "priv", "A"); !errors.Is(err, compute.ErrForbidden) {
		t.Fatalf("a member granting access: %v", err)
	}
	if _, err := e.Service.FlavorAccess(ctx, e.Member, "priv"); !errors.Is(err, compute.ErrForbidden) {
		t.Fatalf("a member listing access: %v", err)
	}
	if _, err := e.Service.AddFlavorAccess(ctx, e.Admin, "priv", "nobody"); !errors.Is(err, compute.ErrBadRequest) {
		t.Fatalf("access for an unknown project: %v", err)
	}
	if _, err := e.Service.AddFlavorAccess(ctx, e.Admin, "nope", "A"); !errors.Is(err, compute.ErrNotFound) {
		t.Fatalf("access to an unknown flavor: %v", err)
	}
	got, err := e.Service.AddFlavorAccess(ctx, e.Admin, "priv", "A")
	if err != nil || !slices.Equal(got, []string{"A"}) {
		t.Fatalf("grant: %v %v", got, err)
	}
	if _, err := e.Service.AddFlavorAccess(ctx, e.Admin, "priv", "A"); !errors.Is(err, compute.ErrConflict) {
		t.Fatalf("grant twice: %v", err)
	}
	if got, err := e.Service.FlavorAccess(ctx, e.Admin, "priv"); err != nil || !slices.Equal(got, []string{"A"}) {
		t.Fatalf("access list: %v %v", got, err)
	}
	if _, err := e.Service.FlavorAccess(ctx, e.Admin, "42"); !errors.Is(err, compute.ErrNotFound) {
		t.Fatalf("access list of a public flavor: %v", err)
	}
	if _, err := e.Service.GetFlavor(ctx, e.Member, "priv"); err != nil {
		t.Fatalf("show with access: %v", err)
	}
	if ids := flavorIDs(t, e, e.Member, service.FlavorsDefault); !slices.Contains(ids, "priv") || !slices.Contains(ids, "42") {
		t.Fatalf("list with access: %v", ids)
	}
	if err := boot(); err != nil {
		t.Fatalf("boot with access: %v", err)
	}
	e.Service.Wait()
	if ids := flavorIDs(t, e, e.Admin, service.FlavorsDefault); slices.Contains(ids, "priv") {
		t.Fatalf("an admin's default list holds another project's private flavor: %v", ids)
	}
	if ids := flavorIDs(t, e, e.Admin, service.FlavorsPrivate); !slices.Equal(ids, []string{"priv"}) {
		t.Fatalf("an admin's private list: %v", ids)
	}
	if got, err := e.Service.RemoveFlavorAccess(ctx, e.Admin, "priv", "A"); err != nil || len(got) != 0 {
		t.Fatalf("remove: %v %v", got, err)
	}
	if _, err := e.Service.RemoveFlavorAccess(ctx, e.Admin, "priv", "A"); !errors.Is(err, compute.ErrNotFound) {
		t.Fatalf("remove twice: %v", err)
	}
	hidden("after removal")
}

// TestZeroDiskFlavor: a zero-disk flavor (a disk of the image's own size)
// is for admins only, as Nova's create:zero_disk_flavor rule says.
func TestZeroDiskFlavor(t *testing.T) {
	e := computetest.NewSetup(t, smallQuotas)
	ctx := context.Background()
	if _, err := e.Service.CreateFlavor(ctx, e.Admin, compute.Flavor{ID: "zero", Name: "zero", RAM: 64, VCPUs: 1, Disk: 0, RxTxFactor: 1, IsPublic: true}); err != nil {
		t.Fatal(err)
	}
	req := service.CreateRequest{Name: "vm", ImageRef: "img", FlavorRef: "zero", MinCount: 1, MaxCount: 1}
	if _, err := e.Service.Create(ctx, e.Member, req); !errors.Is(err, compute.ErrForbidden) || !strings.Contains(compute.Message(err), "zero disk") {
		t.Fatalf("member: %v", err)
	}
	res, err := e.Service.Create(ctx, e.Admin, req)
	if err != nil {
		t.Fatalf("admin: %v", err)
	}
	e.Service.Wait()
	if spec := e.Hypervisor.Spec(res.Servers[0].ID); spec.RootGB != 0 {
		t.Fatalf("spawned with %+v", spec)
	}
}

// TestFlavorInputLimits: what Nova's flavor schema refuses is 400 before
// anything is stored.
func TestFlavorInputLimits(t *testing.T) {
	e := computetest.NewSetup(t, smallQuotas)
	ctx := context.Background()
	long := strings.Repeat("n", 256)
	for name, f := range map[string]compute.Flavor{
		"long name":        {Name: long, RAM: 1, VCPUs: 1, RxTxFactor: 1},
		"blank name":       {Name: " x", RAM: 1, VCPUs: 1, RxTxFactor: 1},
		"control in name":  {Name: "a\x00b", RAM: 1, VCPUs: 1, RxTxFactor: 1},
		"long id":          {ID: long, Name: "f", RAM: 1, VCPUs: 1, RxTxFactor: 1},
		"slash in id":      {ID: "a/b", Name: "f", RAM: 1, VCPUs: 1, RxTxFactor: 1},
		"ram over int32":   {Name: "f", RAM: 1 << 31, VCPUs: 1, RxTxFactor: 1},
		"disk over int32":  {Name: "f", RAM: 1, VCPUs: 1, Disk: 1 << 40, RxTxFactor: 1},
		"negative swap":    {Name: "f", RAM: 1, VCPUs: 1, Swap: -1, RxTxFactor: 1},
		"zero rxtx_factor": {Name: "f", RAM: 1, VCPUs: 1},
	} {
		if _, err := e.Service.CreateFlavor(ctx, e.Admin, f); !errors.Is(err, compute.ErrBadRequest) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, specs := range map[string]map[string]string{
		"long key":   {long: "v"},
		"slash key":  {"a/b": "v"},
		"long value": {"k": long},
	} {
		if err := e.Service.CreateExtraSpecs(ctx, e.Admin, "42", specs); !errors.Is(err, compute.ErrBadRequest) {
			t.Errorf("extra specs %s: %v", name, err)
		}
	}
	if _, err := e.Service.AddFlavorAccess(ctx, e.Admin, "42", long); !errors.Is(err, compute.ErrBadRequest) {
		t.Errorf("long tenant: %v", err)
	}
}

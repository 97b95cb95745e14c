package main

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"imagestack/common/config"
	"imagestack/common/db/dbtest"
	"imagestack/policy"
	keystonedb "imagestack/policy/keystone/db"
)

// The default network is made at the first start only: a later start
// keeps it as it is, and once deleted it stays deleted.
func TestDefaultNetworkAtFirstStart(t *testing.T) {
	ctx := context.Background()
	gdb := dbtest.OpenSQLite(t)
	store, err := keystonedb.New(gdb)
	if err != nil {
		t.Fatal(err)
	}
	enf, err := policy.NewEnforcer("", policyDefaults...)
	if err != nil {
		t.Fatal(err)
	}
	admin := policy.Credentials{UserID: "u", ProjectID: "p", Roles: []string{"admin", "member", "reader"}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	names := func() []string {
		svc, err := startNetwork(ctx, config.Default(), gdb, enf, keystoneProjects{store}, log)
		if err != nil {
			t.Fatal(err)
		}
		nets, err := svc.ListNetworks(ctx, admin)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, n := range nets {
			if !n.Shared || len(n.SubnetIDs) != 1 {
				t.Fatalf("default network: %+v", n)
			}
			out = append(out, n.Name)
		}
		return out
	}
	if got := names(); len(got) != 1 || got[0] != "private" {
		t.Fatalf("first start: %v", got)
	}
	if got := names(); len(got) != 1 {
		t.Fatalf("second start: %v", got)
	}
	svc, err := startNetwork(ctx, config.Default(), gdb, enf, keystoneProjects{store}, log)
	if err != nil {
		t.Fatal(err)
	}
	nets, _ := svc.ListNetworks(ctx, admin)
	if err := svc.DeleteNetwork(ctx, admin, nets[0].ID); err != nil {
		t.Fatal(err)
	}
	if got := names(); len(got) != 0 {
		t.Fatalf("a deleted default network came back: %v", got)
	}
}

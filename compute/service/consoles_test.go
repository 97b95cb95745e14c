package service_test

import (
	"context"
	"errors"
	"testing"

	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/console"
)

// TestConsoleConnection: admins read what a live token opens; others may
// not; unknown tokens and those of deleted servers are 404.
func TestConsoleConnection(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithConsoles(console.Config{}))
	ctx := context.Background()
	sv := e.Boot(t, e.Member)
	auth, err := e.Service.VNCConsole(ctx, e.Member, sv.ID, compute.ConsoleNoVNC)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Service.ConsoleConnection(ctx, e.Admin, auth.Token)
	if err != nil || got.ServerID != sv.ID || got.ConsoleType != compute.ConsoleNoVNC {
		t.Fatalf("admin: %+v %v", got, err)
	}
	if _, err := e.Service.ConsoleConnection(ctx, e.Member, auth.Token); !errors.Is(err, compute.ErrForbidden) {
		t.Fatalf("member: %v, want forbidden", err)
	}
	if _, err := e.Service.ConsoleConnection(ctx, e.Admin, "nope"); !errors.Is(err, compute.ErrNotFound) {
		t.Fatalf("unknown token: %v, want not found", err)
	}
	if err := e.Service.Delete(ctx, e.Member, sv.ID); err != nil {
		t.Fatal(err)
	}
	e.Service.Wait()
	if _, err := e.Service.ConsoleConnection(ctx, e.Admin, auth.Token); !errors.Is(err, compute.ErrNotFound) {
		t.Fatalf("token of a deleted server: %v, want not found", err)
	}
}

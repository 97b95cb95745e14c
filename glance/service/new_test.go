package service_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"imagestack/glance"
	"imagestack/glance/glancetest"
	"imagestack/glance/service"
)

// TestNewValidatesDeps: the one constructor refuses what the phased
// construction (New, UseStores, EnableImport) refused, and incomplete deps.
func TestNewValidatesDeps(t *testing.T) {
	s := glancetest.NewSetup(t)
	fs, _ := glancetest.NewFS(t)
	backend := func(id string) service.Backend {
		return service.Backend{StoreInfo: service.StoreInfo{ID: id}, Store: fs}
	}
	for _, tc := range []struct {
		name   string
		change func(d *service.Deps)
		want   string // in the error; "" for success
	}{
		{"single store", func(d *service.Deps) {}, ""},
		{"several stores", func(d *service.Deps) { d.Store, d.Stores, d.DefaultStore = nil, []service.Backend{backend("a")}, "a" }, ""},
		{"no repository", func(d *service.Deps) { d.Repository = nil }, "repository"},
		{"no policy", func(d *service.Deps) { d.Policy = nil }, "policy"},
		{"no store", func(d *service.Deps) { d.Store = nil }, "no store"},
		{"both", func(d *service.Deps) { d.Stores, d.DefaultStore = []service.Backend{backend("a")}, "a" }, "not both"},
		{"duplicate id", func(d *service.Deps) {
			d.Store, d.Stores, d.DefaultStore = nil, []service.Backend{backend("a"), backend("a")}, "a"
		}, "used twice"},
		{"invalid id", func(d *service.Deps) {
			d.Store, d.Stores, d.DefaultStore = nil, []service.Backend{backend("a/b")}, "a/b"
		}, "invalid"},
		{"unknown default", func(d *service.Deps) { d.Store, d.Stores, d.DefaultStore = nil, []service.Backend{backend("a")}, "b" }, "default store"},
		{"staging without tasks", func(d *service.Deps) { d.Staging = fs }, "task repository"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := s.Deps
			tc.change(&d)
			_, err := service.New(d, service.Config{})
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("New: %v, want %q", err, tc.want)
			}
		})
	}
}

// TestServiceOnEngines runs the basic life of an image on SQLite and on
// MariaDB: create, upload, read back, list, delete.
func TestServiceOnEngines(t *testing.T) {
	for _, engine := range []struct {
		name string
		opts []glancetest.Option
	}{{"sqlite", nil}, {"mariadb", []glancetest.Option{glancetest.WithMariaDB()}}} {
		t.Run(engine.name, func(t *testing.T) {
			s := glancetest.NewSetup(t, engine.opts...)
			ctx, c := context.Background(), s.Service.NewCaller(ownerA)
			name, disk, container := "x", "raw", "bare"
			im, err := s.Service.Create(ctx, c, glance.NewImage{Name: &name, DiskFormat: &disk, ContainerFormat: &container,
				Properties: map[string]string{"k": "v"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Service.Upload(ctx, c, im.ID, bytes.NewReader([]byte("data")), ""); err != nil {
				t.Fatal(err)
			}
			got, err := s.Service.Get(ctx, c, im.ID)
			if err != nil || got.Status != glance.StatusActive || *got.Size != 4 || got.Properties["k"] != "v" {
				t.Fatalf("get: %+v %v", got, err)
			}
			list, err := s.Service.List(ctx, c, glance.ListQuery{Limit: 10})
			if err != nil || len(list) != 1 {
				t.Fatalf("list: %d %v", len(list), err)
			}
			if err := s.Service.Delete(ctx, c, im.ID); err != nil {
				t.Fatal(err)
			}
		})
	}
}

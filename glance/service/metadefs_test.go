package service_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"imagestack/glance"
	"imagestack/glance/glancetest"
	"imagestack/glance/service"
	"imagestack/policy"
)

func mdCaller(s *service.Service, project string, roles ...string) service.Caller {
	return s.NewCaller(policy.Credentials{ProjectID: project, Roles: roles})
}

// TestLoadMetadefs: files load as glance-manage loads them (owner admin,
// private unless the file says public), a second load keeps what is
// stored, -overwrite replaces it, and a bad file is named.
func TestLoadMetadefs(t *testing.T) {
	setup := glancetest.NewSetup(t)
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.json", `{"namespace": "T::A", "display_name": "A", "visibility": "public", "protected": true,
		"resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "a_"}],
		"properties": {"p": {"title": "P", "type": "integer", "minimum": 0, "default": 2}},
		"objects": [{"name": "O", "description": "o", "properties": {"q": {"title": "Q", "type": "string", "enum": ["x"]}}}]}`)
	write("b.json", `{"namespace": "T::B", "description": "no visibility"}`)
	var lines []string
	report := func(l string) { lines = append(lines, l) }
	if err := service.LoadMetadefs(ctx, setup.Repo, dir, false, report); err != nil {
		t.Fatal(err)
	}
	svc := setup.Service
	reader, admin := mdCaller(svc, "P", "reader", "member"), mdCaller(svc, "Z", "admin")
	d, err := svc.MetadefNamespace(ctx, reader, "T::A", "OS::Glance::Image")
	if err != nil || d.Owner != "admin" || !d.Protected || d.Properties["a_p"].Title != "P" || d.Objects[0].Properties["a_q"].Title != "Q" {
		t.Fatalf("loaded namespace: %+v %v", d, err)
	}
	if _, err := svc.MetadefNamespace(ctx, reader, "T::B", ""); !errors.Is(err, glance.ErrNotFound) {
		t.Fatalf("a namespace without visibility is private: %v", err)
	}
	lines = nil
	if err := service.LoadMetadefs(ctx, setup.Repo, dir, false, report); err != nil || !strings.HasPrefix(lines[0], "kept namespace T::A") {
		t.Fatalf("second load: %v %q", err, lines)
	}
	if err := svc.DeleteMetadefProperty(ctx, admin, "T::A", "p"); !errors.Is(err, glance.ErrForbidden) {
		t.Fatalf("property of a protected namespace deleted: %v", err)
	}
	write("b.json", `{"namespace": "T::B", "visibility": "public"}`)
	lines = nil
	if err := service.LoadMetadefs(ctx, setup.Repo, dir, true, report); err != nil || !strings.HasPrefix(lines[1], "replaced namespace T::B") {
		t.Fatalf("overwrite: %v %q", err, lines)
	}
	if _, err := svc.MetadefNamespace(ctx, reader, "T::B", ""); err != nil {
		t.Fatalf("replaced namespace: %v", err)
	}
	write("c.json", `{"namespace": "T::C", "properties": {"bad": {"type": "string"}}}`)
	if err := service.LoadMetadefs(ctx, setup.Repo, dir, false, report); err == nil || !strings.Contains(err.Error(), "c.json") {
		t.Fatalf("bad file: %v", err)
	}
	if err := service.LoadMetadefs(ctx, setup.Repo, t.TempDir(), false, report); err == nil {
		t.Fatal("an empty directory loaded")
	}
}

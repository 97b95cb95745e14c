package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"imagestack/common/config"
)

// One code path opens the stores: the single store is the list's one
// entry, and image.stores no longer opens the single store's directory
// beside the stores it replaces.
func TestOpenStores(t *testing.T) {
	t.Setenv("STATE_DIR", "")
	cases := []struct {
		name, yaml string
		opened     []string // directories under the state dir
		absent     string
	}{
		{"SingleStore", "", []string{"images"}, "stores"},
		{"SeveralStores", "image:\n  stores: [{id: a, type: file}, {id: b, type: file, description: B}]\n", []string{"stores/a", "stores/b"}, "images"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "c.yaml")
			if err := os.WriteFile(path, []byte("state_dir: "+dir+"\n"+c.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			backends, err := openStores(context.Background(), cfg.Image.Stores)
			if err != nil || len(backends) != len(c.opened) {
				t.Fatalf("openStores: %d backends, %v", len(backends), err)
			}
			for i, d := range c.opened {
				if _, err := os.Stat(filepath.Join(dir, d, "blobs")); err != nil {
					t.Errorf("store %d not opened: %v", i, err)
				}
				if backends[i].Properties["data_dir"] != filepath.Join(dir, d) {
					t.Errorf("store %d properties %v", i, backends[i].Properties)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, c.absent)); !os.IsNotExist(err) {
				t.Errorf("%s exists: %v", c.absent, err)
			}
		})
	}
}

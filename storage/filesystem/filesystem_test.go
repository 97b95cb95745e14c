package filesystem_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"imagestack/storage"
	"imagestack/storage/filesystem"
	"imagestack/storage/storetest"
)

func TestConformance(t *testing.T) {
	s, err := filesystem.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The test directory is on ext4 (or tmpfs since Linux 6.6): both take
	// O_DIRECT, so the conformance run above covered that path.
	direct, err := filesystem.TempOpenedDirect(s)
	if err != nil || !direct {
		t.Fatalf("temporary file not opened with O_DIRECT: %v %v", direct, err)
	}
	storetest.Run(t, s, storetest.Options{Leftovers: s.TempFiles})
}

// TestConformanceBuffered covers the path taken where O_DIRECT is refused.
func TestConformanceBuffered(t *testing.T) {
	s, err := filesystem.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	filesystem.WithoutDirectIO(s)
	if direct, err := filesystem.TempOpenedDirect(s); err != nil || direct {
		t.Fatalf("temporary file opened with O_DIRECT: %v %v", direct, err)
	}
	storetest.Run(t, s, storetest.Options{Leftovers: s.TempFiles})
}

// TestCrashLeftoversRemovedAtOpen simulates a crash mid-write: the temporary
// file is gone once the store is opened again, and no blob appeared.
func TestCrashLeftoversRemovedAtOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tmp", "img.12345"), []byte("half an image"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s.TempFiles() != 1 {
		t.Fatal("setup")
	}
	s, err = filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.TempFiles() != 0 {
		t.Fatal("temporary file of an interrupted write survived a restart")
	}
	if _, err := s.Put(context.Background(), "img", bytes.NewReader([]byte("x"))); err != nil {
		t.Fatal(err)
	}
}

// The registry opens a file store from its settings, and Glance's
// stores/detail properties describe it.
func TestOpenByType(t *testing.T) {
	dir := t.TempDir()
	s, err := storage.Open(context.Background(), filesystem.Type, storage.YAML("filesystem_dir: "+dir+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := storage.Describe(s)
	if d["data_dir"] != dir || d["chunk_size"] != 1<<20 || d["thin_provisioning"] != false {
		t.Fatalf("Describe = %v", d)
	}
	for _, params := range []string{"", "filesystem_dir: " + dir + "\ns3: {}\n"} {
		if _, err := storage.Open(context.Background(), filesystem.Type, storage.YAML(params)); err == nil {
			t.Errorf("params %q accepted", params)
		}
	}
}

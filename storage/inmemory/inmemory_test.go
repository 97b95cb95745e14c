package inmemory_test

import (
	"context"
	"testing"

	"imagestack/storage"
	"imagestack/storage/inmemory"
	"imagestack/storage/storetest"
)

func TestConformance(t *testing.T) {
	s := inmemory.New()
	storetest.Run(t, s, storetest.Options{Leftovers: s.InProgress})
}

// The registry opens an in-memory store by type, and refuses settings it
// does not take.
func TestOpenByType(t *testing.T) {
	ctx := context.Background()
	s, err := storage.Open(ctx, inmemory.Type, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*inmemory.Store); !ok {
		t.Fatalf("Open returned %T", s)
	}
	if _, err := storage.Open(ctx, inmemory.Type, storage.YAML("size: 1\n")); err == nil {
		t.Fatal("an unknown setting was accepted")
	}
}

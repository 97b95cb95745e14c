package storage_test

import (
	"context"
	"strings"
	"testing"

	"imagestack/storage"
	"imagestack/storage/inmemory"
)

type fakeParams struct {
	Size int `yaml:"size"`
}

func TestRegistry(t *testing.T) {
	var got fakeParams
	storage.Register("registry-test", func(ctx context.Context, p storage.Params) (storage.Store, error) {
		if err := p.Decode(&got); err != nil {
			return nil, err
		}
		return inmemory.New(), nil
	})
	ctx := context.Background()
	t.Run("OpenDecodesParams", func(t *testing.T) {
		if _, err := storage.Open(ctx, "registry-test", storage.YAML("size: 3\n")); err != nil || got.Size != 3 {
			t.Fatalf("Open: %v, params %+v", err, got)
		}
	})
	t.Run("UnknownSettingRefused", func(t *testing.T) {
		if _, err := storage.Open(ctx, "registry-test", storage.YAML("sise: 3\n")); err == nil || !strings.Contains(err.Error(), "sise") {
			t.Fatalf("Open with a typo: %v", err)
		}
	})
	t.Run("NilParamsAreNoSettings", func(t *testing.T) {
		got = fakeParams{Size: 9}
		if _, err := storage.Open(ctx, "registry-test", nil); err != nil || got.Size != 9 {
			t.Fatalf("Open without params: %v, %+v", err, got)
		}
	})
	t.Run("UnknownTypeNamesTheRegistered", func(t *testing.T) {
		_, err := storage.Open(ctx, "nfs", nil)
		if err == nil || !strings.Contains(err.Error(), `"nfs"`) || !strings.Contains(err.Error(), "registry-test") {
			t.Fatalf("Open of an unknown type: %v", err)
		}
	})
	t.Run("RegisterTwicePanics", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("a second registration of a type did not panic")
			}
		}()
		storage.Register("registry-test", func(context.Context, storage.Params) (storage.Store, error) { return nil, nil })
	})
	t.Run("Describe", func(t *testing.T) {
		if d := storage.Describe(inmemory.New()); d != nil {
			t.Fatalf("a store without settings described as %v", d)
		}
	})
}

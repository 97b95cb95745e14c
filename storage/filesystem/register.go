package filesystem

import (
	"context"
	"errors"
	"fmt"

	"imagestack/storage"
)

// Type is the name configurations use for this backend (Glance's "file").
const Type = "file"

// Params are the settings of a file store.
type Params struct {
	// Dir holds the store's blobs (Root/blobs) and in-progress writes.
	Dir string `yaml:"filesystem_dir"`
}

func init() { storage.Register(Type, open) }

// open is the storage.Factory of file stores.
func open(_ context.Context, params storage.Params) (storage.Store, error) {
	var p Params
	if err := params.Decode(&p); err != nil {
		return nil, fmt.Errorf("filesystem store: %w", err)
	}
	if p.Dir == "" {
		return nil, errors.New("filesystem store: filesystem_dir is not set")
	}
	return New(p.Dir)
}

// Describe implements storage.Describer with what Glance shows of a file
// store (blobs are written whole, never thin-provisioned).
func (s *Store) Describe() map[string]any {
	return map[string]any{"data_dir": s.root, "chunk_size": 1 << 20, "thin_provisioning": false}
}

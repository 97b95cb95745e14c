package s3

import (
	"context"
	"errors"
	"fmt"

	"imagestack/storage"
)

// Type is the name configurations use for this backend.
const Type = "s3"

func init() { storage.Register(Type, open) }

// open is the storage.Factory of S3 stores: the params are a Config.
func open(ctx context.Context, params storage.Params) (storage.Store, error) {
	var cfg Config
	if err := params.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("s3 store: %w", err)
	}
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("s3 store: endpoint and bucket must be set")
	}
	return New(ctx, cfg)
}

// Describe implements storage.Describer with what Glance shows of an S3
// store (glance_store's option names; part size in MiB). Credentials are
// left out.
func (s *Store) Describe() map[string]any {
	return map[string]any{"bucket": s.cfg.Bucket, "endpoint": s.cfg.Endpoint,
		"s3_store_large_object_chunk_size": s.cfg.PartSize >> 20, "s3_store_thread_pools": s.cfg.Concurrency}
}

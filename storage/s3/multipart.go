package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"sync"

	"github.com/minio/minio-go/v7"

	"imagestack/storage"
)

// maxParts is S3's limit on the parts of one multipart upload: a blob can
// be at most maxParts x PartSize bytes.
const maxParts = 10000

// errTooManyParts: the blob outgrew maxParts x PartSize.
var errTooManyParts = errors.New("blob exceeds the largest multipart upload (10,000 parts): raise part_size")

// partBuffers hands out part buffers from a free list that keeps one
// upload's worth (Concurrency buffers) alive between uploads, so a stream
// allocates nothing per part and a lone upload holds at most Concurrency
// buffers whatever the blob's size. Concurrent uploads allocate more; what
// the free list cannot keep goes to the garbage collector.
type partBuffers struct {
	size int
	free chan *[]byte
}

func newPartBuffers(size uint64, keep uint) *partBuffers {
	return &partBuffers{size: int(size), free: make(chan *[]byte, keep)}
}

func (p *partBuffers) get() *[]byte {
	select {
	case b := <-p.free:
		return b
	default:
		b := make([]byte, p.size)
		return &b
	}
}

func (p *partBuffers) put(b *[]byte) {
	select {
	case p.free <- b:
	default:
	}
}

// upload streams r to key: one plain PUT when the data fits in a part,
// else a multipart upload with at most Concurrency part buffers held (the
// one being filled included), each
// signed with its own SHA-256 (so the server verifies every byte without
// the per-chunk streaming signature, which allocates as it goes). The
// object appears only if it did not exist (If-None-Match). On any failure
// the multipart upload is aborted.
func (s *Store) upload(ctx context.Context, key string, r io.Reader) (int64, error) {
	core := minio.Core{Client: s.c}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		parts    []minio.CompletePart
		uploadID string
		total    int64
	)
	slots := make(chan struct{}, s.cfg.Concurrency) // one per buffer held
	release := func(buf *[]byte) { s.bufs.put(buf); <-slots }
	send := func(num int, buf *[]byte, size int) {
		defer wg.Done()
		defer release(buf)
		data := (*buf)[:size]
		sum := sha256.Sum256(data)
		part, err := core.PutObjectPart(ctx, s.cfg.Bucket, key, uploadID, num, bytes.NewReader(data), int64(size),
			minio.PutObjectPartOptions{Sha256Hex: hex.EncodeToString(sum[:]), DisableContentSha256: true})
		if err != nil {
			cancel(err)
			return
		}
		mu.Lock()
		parts = append(parts, minio.CompletePart{PartNumber: num, ETag: part.ETag})
		mu.Unlock()
	}
loop:
	for num := 1; ; num++ {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		buf := s.bufs.get()
		size, rerr := storage.Fill(r, *buf)
		if num == 1 && rerr == io.EOF {
			// Everything fits in one part: a single PUT.
			defer release(buf)
			opts := minio.PutObjectOptions{ContentType: "application/octet-stream"}
			opts.SetMatchETagExcept("*")
			sum := sha256.Sum256((*buf)[:size])
			_, err := core.PutObject(ctx, s.cfg.Bucket, key, bytes.NewReader((*buf)[:size]), int64(size), "", hex.EncodeToString(sum[:]), opts)
			return int64(size), err
		}
		switch {
		case rerr == io.EOF && size == 0: // the previous part was the last
			release(buf)
			break loop
		case rerr != nil && rerr != io.EOF:
			release(buf)
			cancel(rerr)
			break loop
		case num > maxParts:
			release(buf)
			cancel(errTooManyParts)
			break loop
		}
		if num == 1 {
			id, err := core.NewMultipartUpload(ctx, s.cfg.Bucket, key, minio.PutObjectOptions{ContentType: "application/octet-stream"})
			if err != nil {
				release(buf)
				return 0, err
			}
			uploadID = id
		}
		wg.Add(1)
		go send(num, buf, size)
		total += int64(size)
		if rerr == io.EOF { // a short part is the last
			break
		}
	}
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil {
		if uploadID != "" {
			_ = core.AbortMultipartUpload(context.WithoutCancel(ctx), s.cfg.Bucket, key, uploadID)
		}
		return total, cause
	}
	slices.SortFunc(parts, func(a, b minio.CompletePart) int { return a.PartNumber - b.PartNumber })
	opts := minio.PutObjectOptions{}
	opts.SetMatchETagExcept("*")
	if _, err := core.CompleteMultipartUpload(ctx, s.cfg.Bucket, key, uploadID, parts, opts); err != nil {
		_ = core.AbortMultipartUpload(context.WithoutCancel(ctx), s.cfg.Bucket, key, uploadID)
		return total, err
	}
	return total, nil
}

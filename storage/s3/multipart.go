package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
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

// upload streams r to key: one plain PUT when the data fits in a part,
// else a multipart upload with at most Concurrency part buffers held (the
// one being filled included) and Concurrency-1 parts in flight. Each part
// carries its CRC32C, which the server checks, instead of a signed SHA-256
// of its payload: on a machine where the store runs beside us, hashing
// every byte with SHA-256 once here and once more in the store costs more
// CPU than the rest of the transfer, and the payload signature protects
// nothing that TLS would not (downloads are never signed). The object
// appears only if it did not exist (If-None-Match). On any failure the
// multipart upload is aborted.
func (s *Store) upload(ctx context.Context, key string, r io.Reader) (int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	u := &multipart{s: s, core: minio.Core{Client: s.c}, ctx: ctx, cancel: cancel, key: key,
		slots: make(chan struct{}, s.cfg.Concurrency)}
	total, done, err := u.sendParts(r)
	if done {
		return total, err
	}
	u.wg.Wait()
	return total, u.complete()
}

// multipart is one upload in progress. A failure anywhere cancels ctx with
// its cause, which ends the reading of the source and the parts in flight.
type multipart struct {
	s      *Store
	core   minio.Core
	ctx    context.Context
	cancel context.CancelCauseFunc
	key    string
	id     string        // the multipart upload's, once started
	slots  chan struct{} // one per part buffer held
	wg     sync.WaitGroup
	mu     sync.Mutex
	parts  []minio.CompletePart
}

func (u *multipart) release(buf []byte) { u.s.bufs.Put(buf); <-u.slots }

// sendParts reads r part by part, each sent by its own goroutine once a
// buffer is free, and returns the bytes read. done reports that nothing is
// left to complete: the data went in one PUT, or the upload never started.
func (u *multipart) sendParts(r io.Reader) (total int64, done bool, err error) {
	for num := 1; ; num++ {
		select {
		case u.slots <- struct{}{}:
		case <-u.ctx.Done():
			return total, false, nil
		}
		buf := u.s.bufs.Get()
		size, rerr := storage.Fill(r, buf)
		if num == 1 && rerr == io.EOF {
			// Everything fits in one part: a single PUT.
			defer u.release(buf)
			return int64(size), true, u.putWhole(buf[:size])
		}
		switch {
		case rerr == io.EOF && size == 0: // the previous part was the last
			u.release(buf)
			return total, false, nil
		case rerr != nil && rerr != io.EOF:
			u.release(buf)
			u.cancel(rerr)
			return total, false, nil
		case num > maxParts:
			u.release(buf)
			u.cancel(errTooManyParts)
			return total, false, nil
		}
		if num == 1 {
			id, err := u.core.NewMultipartUpload(u.ctx, u.s.cfg.Bucket, u.key, minio.PutObjectOptions{
				ContentType: "application/octet-stream", UserMetadata: map[string]string{"X-Amz-Checksum-Algorithm": "CRC32C"}})
			if err != nil {
				u.release(buf)
				return 0, true, err
			}
			u.id = id
		}
		u.wg.Add(1)
		go u.send(num, buf, size)
		total += int64(size)
		if rerr == io.EOF { // a short part is the last
			return total, false, nil
		}
	}
}

// putWhole writes data, the whole blob, in one conditional PUT.
func (u *multipart) putWhole(data []byte) error {
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream"}
	opts.SetMatchETagExcept("*")
	sum := sha256.Sum256(data)
	_, err := u.core.PutObject(u.ctx, u.s.cfg.Bucket, u.key, bytes.NewReader(data), int64(len(data)), "", hex.EncodeToString(sum[:]), opts)
	return err
}

// send uploads one part and gives its buffer back; a failure cancels the
// whole upload.
func (u *multipart) send(num int, buf []byte, size int) {
	defer u.wg.Done()
	defer u.release(buf)
	data := buf[:size]
	crc := make([]byte, 0, 4)
	crc = binary.BigEndian.AppendUint32(crc, crc32.Checksum(data, castagnoli))
	sum := base64.StdEncoding.EncodeToString(crc)
	hdr := http.Header{"X-Amz-Checksum-Crc32c": {sum}}
	part, err := u.core.PutObjectPart(u.ctx, u.s.cfg.Bucket, u.key, u.id, num, bytes.NewReader(data), int64(size),
		minio.PutObjectPartOptions{CustomHeader: hdr, DisableContentSha256: true})
	if err != nil {
		u.cancel(err)
		return
	}
	u.mu.Lock()
	u.parts = append(u.parts, minio.CompletePart{PartNumber: num, ETag: part.ETag, ChecksumCRC32C: sum})
	u.mu.Unlock()
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// complete makes the object of the parts sent, only if it does not exist
// yet, or aborts the upload when any part (or the source) failed.
func (u *multipart) complete() error {
	if cause := context.Cause(u.ctx); cause != nil {
		if u.id != "" {
			_ = u.core.AbortMultipartUpload(context.WithoutCancel(u.ctx), u.s.cfg.Bucket, u.key, u.id)
		}
		return cause
	}
	slices.SortFunc(u.parts, func(a, b minio.CompletePart) int { return a.PartNumber - b.PartNumber })
	opts := minio.PutObjectOptions{}
	opts.SetMatchETagExcept("*")
	if _, err := u.core.CompleteMultipartUpload(u.ctx, u.s.cfg.Bucket, u.key, u.id, u.parts, opts); err != nil {
		_ = u.core.AbortMultipartUpload(context.WithoutCancel(u.ctx), u.s.cfg.Bucket, u.key, u.id)
		return err
	}
	return nil
}

package service

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"imagestack/glance"
)

// Compressed data, recognised by its magic numbers as Glance's
// image_decompression does (gzip and zip), plus xz and legacy lzma.
const (
	compGzip = "gzip"
	compZip  = "zip"
	compXz   = "xz"
	compLzma = "lzma"
)

// compressionOf names the compression of data starting with head, "" for
// none.
func compressionOf(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b, 0x08}):
		return compGzip
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return compZip
	case bytes.HasPrefix(head, []byte("\xfd7zXZ\x00")):
		return compXz
	case isLzmaAlone(head):
		return compLzma
	}
	return ""
}

// isLzmaAlone recognises the .lzma header (lzma-alone, which has no magic
// number): the properties byte every encoder writes by default (lc=3, lp=0,
// pb=2), a dictionary size of 2^n or 2^n+2^(n-1) bytes of at least 4 KiB,
// and an unknown (all ones) or plausible uncompressed size.
func isLzmaAlone(head []byte) bool {
	if len(head) < 13 || head[0] != 0x5d {
		return false
	}
	dict := binary.LittleEndian.Uint32(head[1:])
	low := dict & -dict // lowest set bit
	if dict < 4096 || (dict != low && dict != low*3) {
		return false
	}
	size := binary.LittleEndian.Uint64(head[5:])
	return size == ^uint64(0) || size < 1<<48
}

// decompress is image_decompression: the data at path, when compressed
// (and the image's container_format is not compressed, which says the
// data is meant to stay so), is decompressed into a new work file whose
// path it returns. The result is bounded by the size cap, so a small
// archive cannot fill the staging area.
func (s *Service) decompress(ctx context.Context, im *glance.Image, path string) (string, error) {
	if deref(im.ContainerFormat) == "compressed" {
		return path, nil
	}
	head, err := readHead(path)
	if err != nil {
		return "", err
	}
	kind := compressionOf(head)
	if kind == "" {
		return path, nil
	}
	out, err := s.workFile(im.ID, "decompressed", func(f *os.File) error {
		w := &cappedWriter{w: f, max: s.cfg.SizeCap}
		var err error
		switch kind {
		case compGzip:
			err = gunzip(path, w)
		case compZip:
			err = unzipOne(path, w, s.cfg.SizeCap)
		default:
			err = s.unxz(ctx, kind, path, w)
		}
		if w.over {
			return errTooLarge
		}
		return err
	})
	if errors.Is(err, errTooLarge) {
		return "", glance.Errorf(glance.ErrTooLarge, "The decompressed image data exceeds the size cap of %d bytes.", s.cfg.SizeCap)
	}
	var ge *glance.Error
	if err != nil && !errors.As(err, &ge) {
		return "", glance.Errorf(glance.ErrBadRequest, "The image data could not be decompressed (%s): %v", kind, err)
	}
	return out, err
}

// readHead reads the first bytes of the file at path.
func readHead(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head, _, err := peekHead(f)
	return head, err
}

// cappedWriter writes to w until more than max bytes came, then fails.
type cappedWriter struct {
	w    io.Writer
	n    int64
	max  int64
	over bool
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	if c.n+int64(len(p)) > c.max {
		c.over = true
		return 0, errTooLarge
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// gunzip writes the gzip data (all its members, as gunzip does) at path
// to w.
func gunzip(path string, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, zr)
	return err
}

// unzipOne writes the one file of the zip archive at path to w; archives
// with more (or fewer) members are refused, as Glance does.
func unzipOne(path string, w io.Writer, maxSize int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := checkZipDirectory(f, st.Size()); err != nil {
		return err
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return err
	}
	if len(zr.File) != 1 || zr.File[0].FileInfo().IsDir() {
		return errors.New("the archive must hold exactly one file")
	}
	if zr.File[0].UncompressedSize64 > uint64(maxSize) {
		return errTooLarge
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(w, rc)
	return err
}

// maxZipDirectory bounds the central directory of a one-file archive:
// one record (46 bytes) with a name, extra field and comment of at most
// 64 KiB each.
const maxZipDirectory = 46 + 3<<16

// checkZipDirectory reads the end of the archive before archive/zip does:
// archive/zip reads every record of the central directory into memory,
// however many there are, so the directory must be one record, small, and
// right before its end record (nothing hidden between them).
func checkZipDirectory(f io.ReaderAt, size int64) error {
	tail := make([]byte, min(size, 22+1<<16))
	if _, err := f.ReadAt(tail, size-int64(len(tail))); err != nil {
		return err
	}
	i := bytes.LastIndex(tail, []byte("PK\x05\x06"))
	if i < 0 || len(tail)-i < 22 {
		return errors.New("not a zip archive (no end of central directory)")
	}
	end := size - int64(len(tail)) + int64(i)
	eocd := tail[i:]
	records := uint64(binary.LittleEndian.Uint16(eocd[10:]))
	dirSize := uint64(binary.LittleEndian.Uint32(eocd[12:]))
	dirOff := uint64(binary.LittleEndian.Uint32(eocd[16:]))
	if records == 0xffff || dirSize == 0xffffffff || dirOff == 0xffffffff {
		var err error
		if end, records, dirSize, dirOff, err = zip64Directory(f, tail[:i], end); err != nil {
			return err
		}
	}
	if records != 1 {
		return fmt.Errorf("the archive must hold exactly one file, not %d", records)
	}
	if dirSize > maxZipDirectory || dirOff+dirSize != uint64(end) {
		return errors.New("the archive's central directory is malformed")
	}
	return nil
}

// zip64Directory reads the zip64 end of central directory record that the
// locator right before the end record (whose offset is end) points to.
func zip64Directory(f io.ReaderAt, before []byte, end int64) (at int64, records, dirSize, dirOff uint64, err error) {
	if len(before) < 20 || !bytes.HasPrefix(before[len(before)-20:], []byte("PK\x06\x07")) {
		return 0, 0, 0, 0, errors.New("the archive's zip64 locator is missing")
	}
	off := binary.LittleEndian.Uint64(before[len(before)-20+8:])
	rec := make([]byte, 56)
	if off > uint64(end) {
		return 0, 0, 0, 0, errors.New("the archive's zip64 record is out of place")
	}
	if _, err := f.ReadAt(rec, int64(off)); err != nil || !bytes.HasPrefix(rec, []byte("PK\x06\x06")) {
		return 0, 0, 0, 0, errors.New("the archive's zip64 record is malformed")
	}
	return int64(off), binary.LittleEndian.Uint64(rec[32:]), binary.LittleEndian.Uint64(rec[40:]), binary.LittleEndian.Uint64(rec[48:]), nil
}

// unxz writes the xz or lzma data at path to w with xz(1), run with the
// conversion limits and a memory limit of its own.
func (s *Service) unxz(ctx context.Context, kind, path string, w io.Writer) error {
	memlimit := fmt.Sprintf("--memlimit-decompress=%d", s.plugins.AddressSpaceLimit/2)
	return runLimited(ctx, s.plugins.limits(), w, "xz", "--decompress", "--stdout", "--format="+kind, "--threads=1", memlimit, "--", path)
}

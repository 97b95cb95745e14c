package service

import (
	"errors"
	"io"

	"imagestack/glance"
	"imagestack/glance/diskformat"
)

// inspectingReader passes data through while keeping its first
// diskformat.HeadSize bytes, and checks them as soon as more data follows
// them (so that unsafe data is refused before the rest of it is stored; data
// of exactly HeadSize bytes is judged once, with its size) and again at the
// end with the size. A refusal fails the read, which makes the store
// drop what it wrote.
type inspectingReader struct {
	r       io.Reader
	head    []byte
	n       int64
	check   func(head []byte, size int64) (diskformat.Info, error)
	checked bool            // the full head was checked
	info    diskformat.Info // the verdict at the end of the data
	err     error
}

func newInspectingReader(r io.Reader, check func(head []byte, size int64) (diskformat.Info, error)) *inspectingReader {
	return &inspectingReader{r: r, check: check}
}

func (ir *inspectingReader) Read(p []byte) (int, error) {
	if ir.err != nil {
		return 0, ir.err
	}
	n, err := ir.r.Read(p)
	if room := diskformat.HeadSize - len(ir.head); room > 0 && n > 0 {
		ir.head = append(ir.head, p[:min(n, room)]...)
	}
	ir.n += int64(n)
	if !ir.checked && ir.n > diskformat.HeadSize {
		ir.checked = true
		if _, cerr := ir.check(ir.head, -1); cerr != nil {
			ir.err = cerr
			return n, cerr
		}
	}
	if err == io.EOF {
		info, cerr := ir.check(ir.head, ir.n)
		if cerr != nil {
			ir.err = cerr
			return n, cerr
		}
		ir.info = info
	}
	return n, err
}

// dataCheck returns the check of data for im: the format inspector's safety
// checks, which always apply (data that could make a host open other files
// is refused, whatever the image claims), and, unless AllowFormatMismatch
// is set, that a recognised format is one disk_format accepts. Refusals are
// ErrBadRequest with a message for the client.
func (s *Service) dataCheck(im *glance.Image) func(head []byte, size int64) (diskformat.Info, error) {
	diskFormat, containerFormat := deref(im.DiskFormat), deref(im.ContainerFormat)
	return func(head []byte, size int64) (diskformat.Info, error) {
		info, err := diskformat.Inspect(head, size)
		if err == nil {
			err = diskformat.Check(diskFormat, containerFormat, info, !s.cfg.AllowFormatMismatch)
		}
		if errors.Is(err, diskformat.ErrUnsafe) || errors.Is(err, diskformat.ErrMismatch) {
			return info, glance.Errorf(glance.ErrBadRequest, "%s", err.Error())
		}
		return info, err
	}
}

// stageCheck is dataCheck for data that image_decompression will
// decompress before it is stored: compressed data is only inspected for
// ambiguity here (a gzip stream is no disk image whatever disk_format
// says), and gets dataCheck's checks once decompressed.
func (s *Service) stageCheck(im *glance.Image) func(head []byte, size int64) (diskformat.Info, error) {
	check := s.dataCheck(im)
	if !s.plugins.has(PluginDecompression) || deref(im.ContainerFormat) == "compressed" {
		return check
	}
	return func(head []byte, size int64) (diskformat.Info, error) {
		if compressionOf(head) == "" {
			return check(head, size)
		}
		info, err := diskformat.Inspect(head, size)
		if errors.Is(err, diskformat.ErrUnsafe) {
			return info, glance.Errorf(glance.ErrBadRequest, "%s", err.Error())
		}
		return info, err
	}
}

// virtualSize is what to record as im's virtual_size for data inspected as
// info: nil when unknown (as Glance leaves it).
func virtualSize(im *glance.Image, info diskformat.Info) *int64 {
	if vs := info.VirtualSizeFor(deref(im.DiskFormat)); vs > 0 {
		return &vs
	}
	return nil
}

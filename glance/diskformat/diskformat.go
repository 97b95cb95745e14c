// Package diskformat recognises disk image formats from the first bytes of an
// image and refuses data that would make a host open files the uploader names:
// the CVE-2024-32498 class (a VMDK descriptor whose extents name /etc/shadow,
// a qcow2 with a backing or external data file). It follows the safety checks
// of oslo.utils' format_inspector, which Glance 2024.x runs on every upload,
// and goes further where QEMU would still follow a file name (see vmdk.go).
//
// Streams stay streams: Inspect looks only at the first HeadSize bytes, which
// the caller keeps while the rest flows to the store, plus the total size
// when it is known. A check whose structure lies beyond those bytes refuses
// the image instead of trusting what it did not see; a value that is merely
// informative (a VHDX's virtual size) is left unknown instead.
package diskformat

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
)

// HeadSize is how many bytes from the start of the data Inspect looks at.
//
// 64 KiB holds every structure a check needs: the qcow2, QED, VHD, VHDX, VDI
// and VMDK headers (the first 512 bytes); the VMDK embedded descriptor at
// sector 1, 20 sectors long in the images qemu-img and VMware write, which is
// also the 10 KiB window QEMU searches for parentFileNameHint; the GPT header
// at LBA 1 (byte 512, or 4096 on 4 KiB-sector disks); and the ISO 9660/UDF
// volume descriptors from sector 16 (32 KiB) to sector 31. More would buy
// nothing: the only value further in is a VHDX's virtual size, in a metadata
// region the VHDX specification aligns to 1 MiB (qemu-img puts it at 3 MiB),
// beyond any head worth holding per upload.
const HeadSize = 64 << 10

// Format is what the data was recognised as.
type Format string

// The formats Inspect recognises. MBR and GPT are raw disks whose first
// sector holds a partition table.
const (
	Unrecognised Format = "" // no format recognised: raw bytes
	QCOW2        Format = "qcow2"
	QED          Format = "qed"
	VMDK         Format = "vmdk"
	VHD          Format = "vhd"
	VHDX         Format = "vhdx"
	VDI          Format = "vdi"
	ISO          Format = "iso"
	MBR          Format = "mbr"
	GPT          Format = "gpt"
)

// Info is what Inspect learnt about the data.
type Info struct {
	Format Format
	// Variant is the format's sub-type when it has one: the VMDK createType
	// ("monolithicSparse", "streamOptimized"), the qcow2 version ("v2", "v3").
	Variant string
	// VirtualSize is the size in bytes of the disk the image holds, 0 when
	// unknown. For raw data (Unrecognised, MBR, GPT) it is DataSize.
	VirtualSize int64
	// DataSize is the size in bytes of the data, 0 when Inspect was not told.
	DataSize int64
}

// rawFamily reports whether the data is read as plain bytes by every
// consumer: no container around the disk.
func (i Info) rawFamily() bool {
	return i.Format == Unrecognised || i.Format == MBR || i.Format == GPT
}

// ErrUnsafe is wrapped by every error Inspect returns (an *UnsafeError): the
// data must not be stored. Callers answer 400 with the error's message.
var ErrUnsafe = errors.New("unsafe image data")

// UnsafeError says why the data was refused, in a sentence meant for the
// client.
type UnsafeError struct {
	Format Format // what the data was recognised as, if anything
	Reason string // the whole message, e.g. "Image data is qcow2 with a backing file, which is not allowed."
}

func (e *UnsafeError) Error() string { return e.Reason }
func (e *UnsafeError) Unwrap() error { return ErrUnsafe }

func unsafef(f Format, format string, args ...any) error {
	return &UnsafeError{Format: f, Reason: fmt.Sprintf(format, args...)}
}

// inspector recognises one family of formats and checks data in it.
type inspector struct {
	// detect returns the format the data is in, or Unrecognised. It looks
	// only at magic numbers and signatures, so that data resembling two
	// formats at once can be refused before either is trusted.
	detect func(v view) Format
	// inspect runs the format's safety checks and reads its virtual size.
	inspect func(v view, f Format) (Info, error)
}

// inspectors are tried in this order; at most one may recognise the data,
// except that an ISO may also carry a partition table (see resolve).
var inspectors = []inspector{
	{startsWith(QCOW2, qcow2Magic), inspectQcow2},
	{startsWith(QED, qedMagic), inspectQED},
	{startsWith(VMDK, vmdkSparseMagic, vmdkCOWDMagic), inspectVMDK},
	{detectVMDKText, inspectVMDKText},
	{startsWith(VHD, vhdMagic), inspectVHD},
	{startsWith(VHDX, vhdxMagic), inspectVHDX},
	{detectVDI, inspectVDI},
	{detectISO, inspectISO},
	{detectPartitioned, inspectPartitioned},
}

// startsWith detects format f by the magic numbers its data starts with.
func startsWith(f Format, magics ...string) func(view) Format {
	return func(v view) Format {
		for _, m := range magics {
			if v.hasPrefix(m) {
				return f
			}
		}
		return Unrecognised
	}
}

// Inspect recognises the format of an image from its first bytes and runs
// that format's safety checks.
//
// head is the start of the data: its first HeadSize bytes, or all of it when
// the data is shorter (bytes past HeadSize are ignored). size is the total
// length of the data, or -1 when not known yet; with -1, a head shorter than
// HeadSize is taken to be all of the data. The verdict (format and error)
// depends on head and on whether more data follows it, not on the exact
// size: a caller that has received more than HeadSize bytes may inspect with
// size -1 and refuse at once, then learn the sizes at the end (DataSize, and
// VirtualSize for raw data) by calling again with the size.
//
// The error, when not nil, is an *UnsafeError wrapping ErrUnsafe whose
// message can be shown to the client; Info then says what the data was
// recognised as, with no sizes. Data in no recognised format is not an
// error: it is raw bytes (Format Unrecognised); see Check for what each
// disk_format accepts.
func Inspect(head []byte, size int64) (Info, error) {
	v := newView(head, size)
	var found []match
	for i, in := range inspectors {
		if f := in.detect(v); f != Unrecognised {
			found = append(found, match{i, f})
		}
	}
	found = resolve(found)
	switch len(found) {
	case 0:
		return Info{VirtualSize: v.total(), DataSize: v.total()}, nil
	case 1:
		info, err := inspectors[found[0].i].inspect(v, found[0].f)
		info.Format, info.DataSize = found[0].f, v.total()
		if err != nil {
			info.VirtualSize, info.DataSize = 0, 0
		}
		return info, err
	}
	names := make([]string, len(found))
	for i, m := range found {
		names[i] = string(m.f)
	}
	return Info{}, unsafef(Unrecognised, "Image data looks like several disk formats at once (%s), which is not allowed.",
		strings.Join(names, ", "))
}

// match is one inspector that recognised the data.
type match struct {
	i int    // index in inspectors
	f Format // what it recognised
}

// resolve settles data recognised by several inspectors. A bootable ISO
// carries an MBR or GPT in its system area (the first 32 KiB, which ISO 9660
// leaves free) so that it boots from a USB stick too: that is an ISO, as
// Glance decides for iso+gpt. Every other combination stays ambiguous, and
// Inspect refuses it as Glance does ("Multiple formats detected"): one format
// hidden inside another is how an attacker gets a header past a check.
func resolve(fs []match) []match {
	if len(fs) != 2 {
		return fs
	}
	for i, m := range fs {
		other := fs[1-i].f
		if m.f == ISO && (other == MBR || other == GPT) {
			return []match{m}
		}
	}
	return fs
}

// view is the head of the data as the inspectors see it.
type view struct {
	b     []byte // at most HeadSize bytes from the start of the data
	whole bool   // b is all of the data
	size  int64  // total size of the data, -1 when unknown
}

func newView(head []byte, size int64) view {
	if size >= 0 && size < int64(len(head)) {
		size = int64(len(head)) // a caller's slip: the bytes are there
	}
	whole := len(head) < HeadSize
	if size >= 0 {
		whole = size <= HeadSize && size == int64(len(head))
	}
	return view{b: head[:min(len(head), HeadSize)], whole: whole, size: size}
}

// at returns the n bytes at off, or nil when they are not all in the head.
func (v view) at(off, n int) []byte {
	if off < 0 || n < 0 || off > len(v.b) || n > len(v.b)-off {
		return nil
	}
	return v.b[off : off+n]
}

// unseen reports whether bytes up to end may exist beyond the head: data
// Inspect did not see, as opposed to data that does not exist.
func (v view) unseen(end int) bool {
	return end > len(v.b) && !v.whole
}

// total is the size of the data when known, else 0.
func (v view) total() int64 {
	switch {
	case v.size >= 0:
		return v.size
	case v.whole:
		return int64(len(v.b))
	}
	return 0
}

// virtualSize turns a size read from a header into an int64, refusing sizes
// no disk can have (they would wrap negative everywhere downstream).
func virtualSize(f Format, bytes uint64) (int64, error) {
	if bytes > math.MaxInt64 {
		return 0, unsafef(f, "Image data is %s declaring a virtual size of %d bytes, which is not allowed.", f, bytes)
	}
	return int64(bytes), nil
}

// hasPrefix reports whether the head starts with magic.
func (v view) hasPrefix(magic string) bool {
	return bytes.HasPrefix(v.b, []byte(magic))
}

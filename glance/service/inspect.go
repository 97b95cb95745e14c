package service

import (
	"encoding/binary"

	"imagestack/glance"
)

// qcow2 header fields (all big-endian), from the published format.
const (
	qcow2Magic            = 0x514649fb // "QFI\xfb"
	qcow2BackingOffsetPos = 8
	qcow2SizePos          = 24
	qcow2IncompatPos      = 72
	qcow2DataFileBit      = 1 << 2
)

// inspect looks at the first bytes of the data. Whatever the image claims to
// be, data in the qcow2 format that refers to other files (a backing file or
// an external data file) is refused, as Glance's format inspector does: a
// host opening it could be made to read files it should not. virtual_size
// comes from the qcow2 header for qcow2 images and is the data size for raw
// ones; other formats leave it unset, as Glance does.
func inspect(head []byte, size int64, im *glance.Image) error {
	isQcow2 := len(head) >= 32 && binary.BigEndian.Uint32(head) == qcow2Magic
	if isQcow2 {
		version := binary.BigEndian.Uint32(head[4:])
		if binary.BigEndian.Uint64(head[qcow2BackingOffsetPos:]) != 0 {
			return glance.Errorf(glance.ErrBadRequest, "Image data is qcow2 with a backing file, which is not allowed.")
		}
		if version >= 3 && len(head) >= qcow2IncompatPos+8 &&
			binary.BigEndian.Uint64(head[qcow2IncompatPos:])&qcow2DataFileBit != 0 {
			return glance.Errorf(glance.ErrBadRequest, "Image data is qcow2 with an external data file, which is not allowed.")
		}
	}
	if size == 0 || im.DiskFormat == nil {
		return nil
	}
	switch *im.DiskFormat {
	case "qcow2":
		if isQcow2 {
			vs := int64(binary.BigEndian.Uint64(head[qcow2SizePos:]))
			im.VirtualSize = &vs
		}
	case "raw":
		vs := size
		im.VirtualSize = &vs
	}
	return nil
}

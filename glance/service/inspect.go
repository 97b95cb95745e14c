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

// inspect looks at the first bytes of the data: it sets virtual_size (from
// the qcow2 header, or the data size for raw) and refuses qcow2 images that refer
// to other files (a backing file or an external data file), which could make
// a host read files it should not, as Glance's format inspector does.
func inspect(head []byte, size int64, im *glance.Image) error {
	if len(head) >= 32 && binary.BigEndian.Uint32(head) == qcow2Magic {
		version := binary.BigEndian.Uint32(head[4:])
		if binary.BigEndian.Uint64(head[qcow2BackingOffsetPos:]) != 0 {
			return glance.Errorf(glance.ErrBadRequest, "Image data is qcow2 with a backing file, which is not allowed.")
		}
		if version >= 3 && len(head) >= qcow2IncompatPos+8 &&
			binary.BigEndian.Uint64(head[qcow2IncompatPos:])&qcow2DataFileBit != 0 {
			return glance.Errorf(glance.ErrBadRequest, "Image data is qcow2 with an external data file, which is not allowed.")
		}
		vs := int64(binary.BigEndian.Uint64(head[qcow2SizePos:]))
		im.VirtualSize = &vs
		return nil
	}
	if im.DiskFormat != nil && *im.DiskFormat == "qcow2" && size > 0 {
		return glance.Errorf(glance.ErrBadRequest, "Image data is not in the qcow2 format its disk_format claims.")
	}
	if im.DiskFormat != nil && *im.DiskFormat == "raw" {
		vs := size
		im.VirtualSize = &vs
	}
	return nil
}

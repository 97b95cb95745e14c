package diskformat

import (
	"encoding/binary"
	"fmt"
)

// qcow2 header fields (big-endian), from QEMU's docs/interop/qcow2.txt.
const (
	qcow2Magic        = "QFI\xfb"
	qcow2V2HeaderLen  = 72  // version 2 ends before the feature fields
	qcow2V3HeaderLen  = 104 // minimum header_length of version 3
	qcow2BackingOff   = 8   // backing_file_offset, u64
	qcow2ClusterBits  = 20  // u32
	qcow2SizeOff      = 24  // size in bytes, u64
	qcow2IncompatOff  = 72  // incompatible_features, u64 (version 3)
	qcow2HeaderLenOff = 100 // header_length, u32 (version 3)
	// QEMU's cluster size limits: 512 bytes to 2 MiB.
	qcow2MinClusterBits = 9
	qcow2MaxClusterBits = 21
	// Incompatible feature bits: 0 dirty, 1 corrupt, 2 external data file,
	// 3 compression type. Glance allows these (and refuses the data file
	// bit on its own), so bit 4 (extended L2) and above are refused as
	// "unknown" as oslo.utils does.
	qcow2DataFileBit   = 1 << 2
	qcow2KnownIncompat = 1<<4 - 1
)

// inspectQcow2 refuses qcow2 data that makes QEMU open another file: a
// backing file (named at backing_file_offset) or an external data file
// (incompatible feature bit 2, named in a header extension). It also refuses
// headers QEMU would not open anyway (version, cluster size, header length,
// unknown incompatible features), so that nothing odd is stored as qcow2.
func inspectQcow2(v view, _ Format) (Info, error) {
	h := v.at(0, qcow2V2HeaderLen)
	if h == nil {
		return Info{}, unsafef(QCOW2, "Image data is a truncated qcow2 header, which is not allowed.")
	}
	version := binary.BigEndian.Uint32(h[4:])
	if version != 2 && version != 3 {
		return Info{}, unsafef(QCOW2, "Image data is qcow2 version %d; only versions 2 and 3 are allowed.", version)
	}
	if binary.BigEndian.Uint64(h[qcow2BackingOff:]) != 0 {
		return Info{}, unsafef(QCOW2, "Image data is qcow2 with a backing file, which is not allowed.")
	}
	if version == 3 {
		if err := checkQcow2V3(v); err != nil {
			return Info{}, err
		}
	}
	if bits := binary.BigEndian.Uint32(h[qcow2ClusterBits:]); bits < qcow2MinClusterBits || bits > qcow2MaxClusterBits {
		return Info{}, unsafef(QCOW2, "Image data is qcow2 with an invalid cluster size (cluster_bits %d), which is not allowed.", bits)
	}
	vs, err := virtualSize(QCOW2, binary.BigEndian.Uint64(h[qcow2SizeOff:]))
	return Info{Variant: fmt.Sprintf("v%d", version), VirtualSize: vs}, err
}

// checkQcow2V3 checks the fields version 3 adds to the header.
func checkQcow2V3(v view) error {
	h := v.at(0, qcow2V3HeaderLen)
	if h == nil {
		return unsafef(QCOW2, "Image data is a truncated qcow2 header, which is not allowed.")
	}
	incompat := binary.BigEndian.Uint64(h[qcow2IncompatOff:])
	if incompat&qcow2DataFileBit != 0 {
		return unsafef(QCOW2, "Image data is qcow2 with an external data file, which is not allowed.")
	}
	if unknown := incompat &^ qcow2KnownIncompat; unknown != 0 {
		return unsafef(QCOW2, "Image data is qcow2 with unknown incompatible features (0x%x), which is not allowed.", unknown)
	}
	if n := binary.BigEndian.Uint32(h[qcow2HeaderLenOff:]); n < qcow2V3HeaderLen {
		return unsafef(QCOW2, "Image data is qcow2 with an invalid header length (%d), which is not allowed.", n)
	}
	return nil
}

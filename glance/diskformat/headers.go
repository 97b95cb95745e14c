package diskformat

import "encoding/binary"

// The formats below are told by one header at the start of the data. None of
// them can make QEMU open another file, except a differencing VHD, whose
// parent locators name its parent image's path.

// VHD ("vpc" in QEMU): a dynamic or differencing VHD starts with a copy of
// its 512-byte big-endian footer. A fixed VHD has its footer only at the end
// of the data and starts with the raw disk, so it is seen as raw data (see
// Matches).
const (
	vhdMagic          = "conectix"
	vhdFooterLen      = 64
	vhdCurrentSizeOff = 48 // current size in bytes, u64
	vhdDiskTypeOff    = 60 // u32: 2 fixed, 3 dynamic, 4 differencing
	vhdDifferencing   = 4
)

// inspectVHD refuses a differencing VHD and reads the current size.
// Glance checks nothing for VHD; QEMU ignores parent locators, but other
// hypervisors open the parent they name.
func inspectVHD(v view, _ Format) (Info, error) {
	h := v.at(0, vhdFooterLen)
	if h == nil {
		return Info{}, unsafef(VHD, "Image data is a truncated VHD footer, which is not allowed.")
	}
	if binary.BigEndian.Uint32(h[vhdDiskTypeOff:]) == vhdDifferencing {
		return Info{Variant: "differencing"}, unsafef(VHD, "Image data is a differencing VHD, which names a parent image; this is not allowed.")
	}
	vs, err := virtualSize(VHD, binary.BigEndian.Uint64(h[vhdCurrentSizeOff:]))
	return Info{VirtualSize: vs}, err
}

// VHDX starts with its file type identifier. Its virtual size is in the
// metadata region, 1 MiB-aligned and so beyond the head: it stays unknown.
// A differencing VHDX names its parent in that region too, out of sight;
// QEMU never opens that parent (it fails reads of differencing VHDX files),
// and Glance checks nothing.
const vhdxMagic = "vhdxfile"

func inspectVHDX(view, Format) (Info, error) { return Info{}, nil }

// VDI (VirtualBox): a little-endian header after a 64-byte text banner.
const (
	vdiMagicOff = 0x40
	vdiMagic    = 0xbeda107f
	vdiSizeOff  = 0x170 // disk size in bytes, u64
)

func detectVDI(v view) Format {
	if h := v.at(vdiMagicOff, 4); h != nil && binary.LittleEndian.Uint32(h) == vdiMagic {
		return VDI
	}
	return Unrecognised
}

// inspectVDI reads the disk size; a header cut short leaves it unknown.
func inspectVDI(v view, _ Format) (Info, error) {
	h := v.at(vdiSizeOff, 8)
	if h == nil {
		return Info{}, nil
	}
	vs, err := virtualSize(VDI, binary.LittleEndian.Uint64(h))
	return Info{VirtualSize: vs}, err
}

// QED supports backing files and nobody uses it: oslo.utils recognises it
// only to refuse it.
const qedMagic = "QED\x00"

func inspectQED(view, Format) (Info, error) {
	return Info{}, unsafef(QED, "Image data is in the QED format, which is not allowed.")
}

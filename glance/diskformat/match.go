package diskformat

import (
	"errors"
	"fmt"
	"slices"
)

// accepts lists, for each disk_format, the formats its data may be in: the
// matching rule of Glance 2024.x's require_image_format_match, as issue 11
// scopes it. A recognised format other than those listed is a mismatch.
//
// Where this differs from Glance, and why:
//   - Unrecognised data is accepted whatever disk_format says (Glance
//     refuses it for inspectable formats; Glance 25 and tempest upload
//     arbitrary bytes as qcow2), except for vmdk, where it is unsafe (see
//     Check).
//   - raw accepts only raw data (unrecognised, MBR, GPT). Glance accepts any
//     content as raw; the issue refuses a recognised format declared raw.
//     So an ISO, hybrid or not, must be declared iso.
//   - vhd accepts MBR and GPT: a fixed VHD is the raw disk followed by a
//     footer at the end, which a head cannot see (Glance refuses fixed VHDs).
//   - ami, ari and aki (Glance does not inspect them, as they normally come
//     with the ami, ari and aki container formats) accept raw data: an AMI
//     is a raw disk, often partitioned, and a Linux kernel image carries the
//     0x55 0xAA boot signature.
//   - ploop and any other disk_format accept only unrecognised data, as
//     Glance does for formats it cannot inspect.
var accepts = map[string][]Format{
	"raw":   {Unrecognised, MBR, GPT},
	"qcow2": {Unrecognised, QCOW2},
	"vmdk":  {VMDK},
	"vhd":   {Unrecognised, VHD, MBR, GPT},
	"vhdx":  {Unrecognised, VHDX},
	"vdi":   {Unrecognised, VDI},
	"iso":   {Unrecognised, ISO},
	"ami":   {Unrecognised, MBR, GPT},
	"ari":   {Unrecognised, MBR, GPT},
	"aki":   {Unrecognised, MBR, GPT},
}

// Matches reports whether data inspected as info may be stored with
// diskFormat, by the table above.
func Matches(diskFormat string, info Info) bool {
	formats, ok := accepts[diskFormat]
	if !ok {
		return info.Format == Unrecognised
	}
	return slices.Contains(formats, info.Format)
}

// archiveContainers are container formats whose data is an archive holding
// the disk, not the disk itself: its format cannot be matched (Glance
// inspects only container_format=bare).
var archiveContainers = map[string]bool{"ova": true, "docker": true, "compressed": true}

// Check decides whether data that Inspect accepted (info) may be stored as
// diskFormat in containerFormat. It returns an *UnsafeError for
// disk_format=vmdk unless the data has a sparse VMDK header, whatever
// requireMatch says, since QEMU would read anything else as a descriptor file
// naming other files; and a *MismatchError when requireMatch is set and the
// data is in a recognised format diskFormat does not accept. Data in an
// archive container (ova, docker, compressed) is not matched.
func Check(diskFormat, containerFormat string, info Info, requireMatch bool) error {
	if archiveContainers[containerFormat] {
		return nil
	}
	if diskFormat == "vmdk" && info.Format != VMDK {
		if d, ok := descriptions[info.Format]; ok {
			return unsafef(info.Format, "Image disk_format is vmdk, but the data is %s; only monolithicSparse and streamOptimized VMDKs may be stored as vmdk.", d.what)
		}
		return unsafef(info.Format, "Image disk_format is vmdk, but the data is not a monolithicSparse or streamOptimized VMDK (QEMU would read it as a descriptor file naming other files), which is not allowed.")
	}
	if requireMatch && !Matches(diskFormat, info) {
		return &MismatchError{DiskFormat: diskFormat, Format: info.Format}
	}
	return nil
}

// ErrMismatch is wrapped by every *MismatchError.
var ErrMismatch = errors.New("image data does not match disk_format")

// MismatchError says that the data is in a recognised format the declared
// disk_format does not accept. Its message is meant for the client (400).
type MismatchError struct {
	DiskFormat string // what the image declares
	Format     Format // what the data is
}

func (e *MismatchError) Error() string {
	d := descriptions[e.Format]
	return fmt.Sprintf("Image disk_format is %s, but the data is %s; set disk_format to %s.", e.DiskFormat, d.what, d.diskFormat)
}

func (e *MismatchError) Unwrap() error { return ErrMismatch }

// descriptions name each recognised format for the client, and the
// disk_format that would accept it.
var descriptions = map[Format]struct{ what, diskFormat string }{
	QCOW2: {"a qcow2 image", "qcow2"},
	VMDK:  {"a VMDK image", "vmdk"},
	VHD:   {"a VHD image", "vhd"},
	VHDX:  {"a VHDX image", "vhdx"},
	VDI:   {"a VDI image", "vdi"},
	ISO:   {"an ISO 9660/UDF image", "iso"},
	MBR:   {"a raw disk with an MBR partition table", "raw"},
	GPT:   {"a raw disk with a GPT partition table", "raw"},
}

// VirtualSizeFor returns the virtual size to record for data inspected as i
// and stored as diskFormat, 0 when unknown: the size the format's header
// states when the data is in the declared format, and the data size when
// raw is declared. Otherwise (bytes Inspect did not recognise stored as
// qcow2, say) nothing is known, and Glance records no virtual size either.
func (i Info) VirtualSizeFor(diskFormat string) int64 {
	switch {
	case diskFormat == "raw":
		return i.DataSize
	case diskFormat == string(i.Format) && !i.rawFamily():
		return i.VirtualSize
	}
	return 0
}

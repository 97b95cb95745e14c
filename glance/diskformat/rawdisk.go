package diskformat

import "encoding/binary"

// ISO images and partitioned disks are raw bytes to every consumer (Nova
// gives QEMU format=raw for both): they name no files, and Glance's checks
// for them only decide what the data is. Their virtual size is the data
// size, except that an ISO states its own.

// ISO 9660 and UDF start their volume descriptors at sector 16, after a
// 32 KiB system area left to the system (where a hybrid ISO keeps an MBR).
const (
	isoSector        = 2048
	isoFirstVD       = 16 * isoSector
	isoTypePrimary   = 1
	isoTypeEnd       = 255
	isoSpaceSizeOff  = 80  // volume space size in blocks, u32 little- then big-endian
	isoBlockSizeOff  = 128 // logical block size, u16 little- then big-endian
	isoMinBlock      = 512
	isoMaxBlock      = isoSector
	isoIdentifierOff = 1
)

// isoIdentifiers are the standard identifiers a first volume descriptor may
// carry: ISO 9660's, and UDF's volume recognition sequence (oslo.utils knows
// CD001, NSR02 and NSR03; a UDF-only disc starts with BEA01).
var isoIdentifiers = map[string]bool{"CD001": true, "BEA01": true, "NSR02": true, "NSR03": true}

func detectISO(v view) Format {
	if id := v.at(isoFirstVD+isoIdentifierOff, 5); id != nil && isoIdentifiers[string(id)] {
		return ISO
	}
	return Unrecognised
}

// inspectISO reads the virtual size from the primary volume descriptor when
// one is within the head and consistent (both byte orders agree, a block
// size ISO 9660 allows); otherwise it stays unknown, as with Glance.
func inspectISO(v view, _ Format) (Info, error) {
	for off := isoFirstVD; ; off += isoSector {
		d := v.at(off, isoSector)
		if d == nil || string(d[isoIdentifierOff:isoIdentifierOff+5]) != "CD001" || d[0] == isoTypeEnd {
			return Info{}, nil
		}
		if d[0] == isoTypePrimary {
			return Info{VirtualSize: isoVolumeSize(d)}, nil
		}
	}
}

func isoVolumeSize(pvd []byte) int64 {
	blocks := binary.LittleEndian.Uint32(pvd[isoSpaceSizeOff:])
	block := binary.LittleEndian.Uint16(pvd[isoBlockSizeOff:])
	if blocks != binary.BigEndian.Uint32(pvd[isoSpaceSizeOff+4:]) || block != binary.BigEndian.Uint16(pvd[isoBlockSizeOff+2:]) {
		return 0
	}
	if block < isoMinBlock || block > isoMaxBlock || block&(block-1) != 0 {
		return 0
	}
	return int64(blocks) * int64(block)
}

// A partitioned disk's first sector ends in 0x55 0xAA and holds four 16-byte
// partition entries from byte 446. Any sector ending in 0x55 0xAA would do
// for Glance (except a FAT boot sector); here the partition entries must
// also have valid boot flags (0x00 or 0x80), which Glance checks afterwards
// and refuses on. A sector that fails is simply not called a partition
// table: a raw disk's partition table cannot affect the host, so the checks
// decide only whether to call the data a partitioned disk (which a different
// disk_format then mismatches), never refuse it. A partition of type 0xEE
// marks the protective MBR in front of a GPT. An empty partition table is
// still an MBR: a bare boot sector is a raw disk (the tests boot one).
const (
	mbrSectorLen    = 512
	mbrEntriesOff   = 446
	mbrEntryLen     = 16
	mbrEntries      = 4
	mbrTypeOff      = 4
	mbrTypeGPT      = 0xee
	fatNumFATsOff   = 0x10
	fatMediaOff     = 0x15
	fatMediaFixed   = 0xf8
	fatUsualNumFATs = 2
)

func detectPartitioned(v view) Format {
	s := v.at(0, mbrSectorLen)
	if s == nil || s[510] != 0x55 || s[511] != 0xaa || isFATBootSector(s) {
		return Unrecognised
	}
	f := MBR
	for i := range mbrEntries {
		e := s[mbrEntriesOff+i*mbrEntryLen:]
		if e[0] != 0x00 && e[0] != 0x80 {
			return Unrecognised
		}
		if e[mbrTypeOff] == mbrTypeGPT {
			f = GPT
		}
	}
	return f
}

// isFATBootSector tells a FAT file system's boot sector, which ends in 0x55
// 0xAA too, from an MBR, the way oslo.utils does: two FATs on a fixed disk.
func isFATBootSector(s []byte) bool {
	return s[fatNumFATsOff] == fatUsualNumFATs && s[fatMediaOff] == fatMediaFixed
}

func inspectPartitioned(v view, _ Format) (Info, error) {
	return Info{VirtualSize: v.total()}, nil
}

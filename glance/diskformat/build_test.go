package diskformat

import (
	"encoding/binary"
	"hash/crc32"
	"strings"
	"unicode/utf16"
)

// Builders for hand-made headers: the crafted cases qemu-img cannot make and
// the fuzz seeds. Each follows the published layout of its format.

// qcow2Hdr is a qcow2 header's fields that the checks read.
type qcow2Hdr struct {
	version     uint32
	backing     uint64
	clusterBits uint32
	size        uint64
	incompat    uint64
	headerLen   uint32
}

// plainQcow2 is what qemu-img writes for a 1 GiB image with default options.
func plainQcow2() qcow2Hdr {
	return qcow2Hdr{version: 3, clusterBits: 16, size: 1 << 30, headerLen: 112}
}

func (h qcow2Hdr) bytes() []byte {
	b := make([]byte, 512)
	copy(b, qcow2Magic)
	binary.BigEndian.PutUint32(b[4:], h.version)
	binary.BigEndian.PutUint64(b[8:], h.backing)
	if h.backing != 0 && h.backing+11 <= 512 {
		b[19] = 11 // backing_file_size
		copy(b[h.backing:], "/etc/shadow")
	}
	binary.BigEndian.PutUint32(b[20:], h.clusterBits)
	binary.BigEndian.PutUint64(b[24:], h.size)
	if h.version >= 3 {
		binary.BigEndian.PutUint64(b[72:], h.incompat)
		binary.BigEndian.PutUint32(b[100:], h.headerLen)
	}
	return b
}

// vmdkSparse builds a sparse VMDK's first sectors: header and embedded
// descriptor (20 sectors, as qemu-img writes them).
func vmdkSparse(capacity uint64, descriptor string) []byte {
	b := make([]byte, vmdkDescOffset+qemuDescWindow)
	copy(b, vmdkSparseMagic)
	binary.LittleEndian.PutUint32(b[4:], 1)
	binary.LittleEndian.PutUint32(b[8:], 3)
	binary.LittleEndian.PutUint64(b[12:], capacity)
	binary.LittleEndian.PutUint64(b[20:], 128)
	binary.LittleEndian.PutUint64(b[28:], 1)
	binary.LittleEndian.PutUint64(b[36:], qemuDescWindow/vmdkSector)
	copy(b[73:], "\n \r\n")
	copy(b[vmdkDescOffset:], descriptor)
	return b
}

// vmdkDescriptorText is a descriptor like qemu-img's, with the given
// createType and extent lines, plus extra lines at the end.
func vmdkDescriptorText(createType string, extents []string, extra ...string) string {
	lines := []string{"# Disk DescriptorFile", "version=1", "CID=fffffffe", "parentCID=ffffffff",
		`createType="` + createType + `"`, "", "# Extent description"}
	lines = append(lines, extents...)
	lines = append(lines, "", "# The Disk Data Base", "#DDB", "", `ddb.virtualHWVersion = "4"`, `ddb.adapterType = "ide"`)
	lines = append(lines, extra...)
	return strings.Join(lines, "\n") + "\n"
}

// vhdFooter builds a VHD footer copy as it starts a dynamic VHD.
func vhdFooter(diskType uint32, size uint64) []byte {
	b := make([]byte, 512)
	copy(b, vhdMagic)
	binary.BigEndian.PutUint64(b[16:], 512)
	copy(b[28:], "qemu")
	binary.BigEndian.PutUint64(b[40:], size)
	binary.BigEndian.PutUint64(b[48:], size)
	binary.BigEndian.PutUint32(b[60:], diskType)
	return b
}

// vdiHeader builds a VirtualBox VDI header.
func vdiHeader(size uint64) []byte {
	b := make([]byte, 512)
	copy(b, "<<< Oracle VM VirtualBox Disk Image >>>\n")
	binary.LittleEndian.PutUint32(b[vdiMagicOff:], vdiMagic)
	binary.LittleEndian.PutUint32(b[0x44:], 0x00010001)
	binary.LittleEndian.PutUint64(b[vdiSizeOff:], size)
	return b
}

// isoDescriptors builds the volume descriptors from sector 16: a primary
// volume descriptor of blocks logical blocks of blockSize bytes, then the
// set terminator.
func isoDescriptors(blocks uint32, blockSize uint16) []byte {
	b := make([]byte, 2*isoSector)
	b[0] = isoTypePrimary
	copy(b[1:], "CD001\x01")
	binary.LittleEndian.PutUint32(b[isoSpaceSizeOff:], blocks)
	binary.BigEndian.PutUint32(b[isoSpaceSizeOff+4:], blocks)
	binary.LittleEndian.PutUint16(b[isoBlockSizeOff:], blockSize)
	binary.BigEndian.PutUint16(b[isoBlockSizeOff+2:], blockSize)
	b[isoSector] = isoTypeEnd
	copy(b[isoSector+1:], "CD001\x01")
	return b
}

// mbrPart is one MBR partition entry.
type mbrPart struct {
	boot, kind  byte
	start, size uint32
}

// bootSector builds a boot sector that halts, with a partition table.
func bootSector(parts ...mbrPart) []byte {
	b := make([]byte, mbrSectorLen)
	copy(b, []byte{0xfa, 0xf4, 0xeb, 0xfd}) // cli; hlt; jmp back to hlt
	for i, p := range parts {
		e := b[mbrEntriesOff+i*mbrEntryLen:]
		e[0], e[mbrTypeOff] = p.boot, p.kind
		copy(e[1:], []byte{0x00, 0x02, 0x00}) // CHS 0/0/2, as the GPT spec wants
		copy(e[5:], []byte{0xff, 0xff, 0xff})
		binary.LittleEndian.PutUint32(e[8:], p.start)
		binary.LittleEndian.PutUint32(e[12:], p.size)
	}
	b[510], b[511] = 0x55, 0xaa
	return b
}

// gptDisk builds a whole GPT disk of sectors 512-byte sectors with one Linux
// partition, following UEFI 2.10 chapter 5: protective MBR, primary header
// and entries, backup entries and header at the end.
func gptDisk(sectors uint64) []byte {
	const entries, entryLen, entrySectors = 128, 128, 32
	disk := make([]byte, sectors*512)
	copy(disk, bootSector(mbrPart{kind: mbrTypeGPT, start: 1, size: uint32(min(sectors-1, 0xffffffff))}))
	table := make([]byte, entries*entryLen)
	copy(table, guid(0x0fc63daf, 0x8483, 0x4772, 0x8e793d69d8477de4)) // Linux filesystem data
	copy(table[16:], guid(0x12345678, 0x9abc, 0xdef0, 0x1122334455667788))
	binary.LittleEndian.PutUint64(table[32:], 2048)
	binary.LittleEndian.PutUint64(table[40:], sectors-entrySectors-2)
	for i, r := range utf16.Encode([]rune("root")) {
		binary.LittleEndian.PutUint16(table[56+2*i:], r)
	}
	last := sectors - 1
	writeGPTHeader(disk, 1, last, 2, table)
	writeGPTHeader(disk, last, 1, last-entrySectors, table)
	return disk
}

func writeGPTHeader(disk []byte, at, alternate, entriesAt uint64, table []byte) {
	const entrySectors = 32
	sectors := uint64(len(disk) / 512)
	h := disk[at*512 : at*512+92]
	copy(h, "EFI PART")
	binary.LittleEndian.PutUint32(h[8:], 0x00010000)
	binary.LittleEndian.PutUint32(h[12:], 92)
	binary.LittleEndian.PutUint64(h[24:], at)
	binary.LittleEndian.PutUint64(h[32:], alternate)
	binary.LittleEndian.PutUint64(h[40:], 2+entrySectors)
	binary.LittleEndian.PutUint64(h[48:], sectors-entrySectors-2)
	copy(h[56:], guid(0xcafef00d, 0x1234, 0x5678, 0x9abcdef012345678))
	binary.LittleEndian.PutUint64(h[72:], entriesAt)
	binary.LittleEndian.PutUint32(h[80:], uint32(len(table)/128))
	binary.LittleEndian.PutUint32(h[84:], 128)
	binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(table))
	binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h))
	copy(disk[entriesAt*512:], table)
}

// guid encodes a GUID in the mixed-endian layout GPT uses.
func guid(a uint32, b, c uint16, d uint64) []byte {
	g := make([]byte, 16)
	binary.LittleEndian.PutUint32(g, a)
	binary.LittleEndian.PutUint16(g[4:], b)
	binary.LittleEndian.PutUint16(g[6:], c)
	binary.BigEndian.PutUint64(g[8:], d)
	return g
}

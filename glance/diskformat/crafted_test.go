package diskformat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// craftedCase is hand-made data qemu-img would not write, and what Inspect
// must say about it.
type craftedCase struct {
	name   string
	data   []byte
	size   int64 // -1: unknown
	format Format
	vsize  int64
	refuse string // the exact message of the refusal; "" when accepted
}

func qcow2With(edit func(*qcow2Hdr)) []byte {
	h := plainQcow2()
	edit(&h)
	return h.bytes()
}

// sparseWith is a monolithicSparse VMDK whose header edit changes.
func sparseWith(edit func(h []byte)) []byte {
	b := vmdkSparse(2048, vmdkDescriptorText("monolithicSparse", []string{`RW 2048 SPARSE "disk.vmdk"`}))
	edit(b)
	return b
}

// sparseDescribed is a sparse VMDK with descriptor text.
func sparseDescribed(text string) []byte { return vmdkSparse(2048, text) }

// at returns a head of n bytes holding b at off.
func at(n, off int, b []byte) []byte {
	head := make([]byte, n)
	copy(head[off:], b)
	return head
}

var sparseExtent = []string{`RW 2048 SPARSE "disk.vmdk"`}

var craftedCases = []craftedCase{
	{name: "empty", data: nil, size: 0},
	{name: "qcow2 v3 as qemu-img writes it", data: plainQcow2().bytes(), size: 512, format: QCOW2, vsize: 1 << 30},
	{name: "qcow2 dirty, corrupt and zstd bits", data: qcow2With(func(h *qcow2Hdr) { h.incompat = 0b1011 }), size: 512, format: QCOW2, vsize: 1 << 30},
	{name: "qcow2 v1", data: qcow2With(func(h *qcow2Hdr) { h.version = 1 }), format: QCOW2,
		refuse: "Image data is qcow2 version 1; only versions 2 and 3 are allowed."},
	{name: "qcow2 backing file", data: qcow2With(func(h *qcow2Hdr) { h.backing = 112 }), format: QCOW2,
		refuse: "Image data is qcow2 with a backing file, which is not allowed."},
	{name: "qcow2 v2 with the data file bit set", data: qcow2With(func(h *qcow2Hdr) { h.version = 2; h.incompat = qcow2DataFileBit }),
		size: 512, format: QCOW2, vsize: 1 << 30}, // version 2 has no feature fields
	{name: "qcow2 unknown feature", data: qcow2With(func(h *qcow2Hdr) { h.incompat = 1 << 40 }), format: QCOW2,
		refuse: "Image data is qcow2 with unknown incompatible features (0x10000000000), which is not allowed."},
	{name: "qcow2 4 GiB clusters", data: qcow2With(func(h *qcow2Hdr) { h.clusterBits = 32 }), format: QCOW2,
		refuse: "Image data is qcow2 with an invalid cluster size (cluster_bits 32), which is not allowed."},
	{name: "qcow2 short v3 header", data: qcow2With(func(h *qcow2Hdr) { h.headerLen = 72 }), format: QCOW2,
		refuse: "Image data is qcow2 with an invalid header length (72), which is not allowed."},
	{name: "qcow2 truncated", data: plainQcow2().bytes()[:80], size: 80, format: QCOW2,
		refuse: "Image data is a truncated qcow2 header, which is not allowed."},
	{name: "qcow2 impossible size", data: qcow2With(func(h *qcow2Hdr) { h.size = 1 << 63 }), format: QCOW2,
		refuse: "Image data is qcow2 declaring a virtual size of 9223372036854775808 bytes, which is not allowed."},
	{name: "qed", data: []byte("QED\x00" + strings.Repeat("\x00", 60)), format: QED,
		refuse: "Image data is in the QED format, which is not allowed."},
	{name: "vmdk sparse", data: sparseDescribed(vmdkDescriptorText("monolithicSparse", sparseExtent)), format: VMDK, vsize: 2048 * 512},
	{name: "vmdk sparse, crlf and tabs", data: sparseDescribed(strings.ReplaceAll(
		vmdkDescriptorText("streamOptimized", []string{"RW\t2048\tSPARSE\t\"disk.vmdk\""}), "\n", "\r\n")), format: VMDK, vsize: 2048 * 512},
	{name: "vmdk zero capacity", data: sparseWith(func(h []byte) { binary.LittleEndian.PutUint64(h[12:], 0) }), format: VMDK,
		refuse: "Image data is a VMDK declaring no capacity, which makes QEMU read its descriptor as a separate descriptor file; this is not allowed."},
	{name: "vmdk descriptor elsewhere", data: sparseWith(func(h []byte) { binary.LittleEndian.PutUint64(h[28:], 2) }), format: VMDK,
		refuse: "Image data is a VMDK whose descriptor is not at sector 1, which is not allowed."},
	{name: "vmdk descriptor offset wrapping to sector 1", data: sparseWith(func(h []byte) { binary.LittleEndian.PutUint64(h[28:], 1+1<<55) }), format: VMDK,
		refuse: "Image data is a VMDK whose descriptor is not at sector 1, which is not allowed."},
	{name: "vmdk no descriptor", data: sparseWith(func(h []byte) { binary.LittleEndian.PutUint64(h[36:], 0) }), format: VMDK,
		refuse: "Image data is a VMDK without a descriptor, which is not allowed."},
	{name: "vmdk version 4", data: sparseWith(func(h []byte) { binary.LittleEndian.PutUint32(h[4:], 4) }), format: VMDK,
		refuse: "Image data is a VMDK of version 4; only versions 1 to 3 are allowed."},
	{name: "vmdk truncated header", data: []byte("KDMV\x01\x00\x00\x00"), size: 8, format: VMDK,
		refuse: "Image data is a truncated VMDK header, which is not allowed."},
	{name: "vmdk descriptor beyond the head", size: -1, format: VMDK,
		data: func() []byte {
			b := at(HeadSize, 0, sparseWith(func(h []byte) { binary.LittleEndian.PutUint64(h[36:], 2000) }))
			copy(b[vmdkDescOffset:], bytes.Repeat([]byte("# filler\n"), HeadSize/9))
			return b
		}(),
		refuse: "Image data is a VMDK whose descriptor runs past the first 64 KiB, which are all that can be checked; this is not allowed."},
	{name: "vmdk cowd", data: []byte("COWD" + strings.Repeat("\x00", 508)), format: VMDK,
		refuse: "Image data is a VMDK of type vmfsSparse (COWD header); only monolithicSparse and streamOptimized VMDKs are allowed."},
	{name: "vmdk flat type in a sparse header", data: sparseDescribed(vmdkDescriptorText("monolithicFlat", []string{`RW 2048 FLAT "disk-flat.vmdk" 0`})),
		format: VMDK, refuse: "Image data is a VMDK of type monolithicFlat; only monolithicSparse and streamOptimized VMDKs are allowed."},
	// oslo.utils takes the first createType in any case, comment or not;
	// QEMU the first spelt exactly so.
	{name: "vmdk two createTypes", data: sparseDescribed(vmdkDescriptorText("monolithicSparse", sparseExtent, `CREATETYPE="monolithicFlat"`)),
		format: VMDK, refuse: "Image data is a VMDK whose descriptor has more than one createType, which is not allowed."},
	{name: "vmdk no createType", data: sparseDescribed("version=1\n" + sparseExtent[0] + "\n"), format: VMDK,
		refuse: "Image data is a VMDK whose descriptor has no createType, which is not allowed."},
	{name: "vmdk parent hint", data: sparseDescribed(vmdkDescriptorText("monolithicSparse", sparseExtent, `parentFileNameHint="base.vmdk"`)),
		format: VMDK, refuse: "Image data is a VMDK naming a parent image (parentFileNameHint), which is not allowed."},
	{name: "vmdk relative second extent", data: sparseDescribed(vmdkDescriptorText("monolithicSparse", append(sparseExtent, `RW 2048 SPARSE "other.vmdk"`))),
		format: VMDK, refuse: "Image data is a VMDK whose descriptor lists 2 extents; only one, in the image itself, is allowed."},
	{name: "vmdk flat extent", data: sparseDescribed(vmdkDescriptorText("monolithicSparse", []string{`RW 2048 FLAT "disk.vmdk" 0`})),
		format: VMDK, refuse: "Image data is a VMDK with a FLAT extent; only a SPARSE extent in the image itself is allowed."},
	{name: "vmdk windows path", data: sparseDescribed(vmdkDescriptorText("monolithicSparse", []string{`RW 2048 SPARSE "C:\secret.vmdk"`})),
		format: VMDK, refuse: `Image data is a VMDK whose descriptor refers to another file ("C:\\secret.vmdk"), which is not allowed.`},
	{name: "vmdk extent without a file", data: sparseDescribed(vmdkDescriptorText("monolithicSparse", []string{`RW 2048 ZERO`})),
		format: VMDK, refuse: `Image data is a VMDK whose descriptor has an extent line that is not allowed: "RW 2048 ZERO".`},
	{name: "vmdk odd line", data: sparseDescribed(vmdkDescriptorText("monolithicSparse", sparseExtent, "include /etc/shadow")),
		format: VMDK, refuse: `Image data is a VMDK whose descriptor has a line that is not allowed: "include /etc/shadow".`},
	{name: "vmdk lone carriage return", data: sparseDescribed(vmdkDescriptorText("monolithicSparse", sparseExtent, "ddb.x = \"1\"\rRW 1 FLAT \"/etc/shadow\" 0")),
		format: VMDK, refuse: "Image data is a VMDK whose descriptor is not plain text, which is not allowed."},
	{name: "vmdk descriptor file without a createType value", data: []byte("createType\nRW 1 FLAT \"/etc/shadow\" 0\n"), format: VMDK,
		refuse: "Image data is a VMDK descriptor referring to other files, which is not allowed."},
	// QEMU needs no printable text: any bytes before the first NUL will do.
	{name: "vmdk descriptor file after binary bytes", data: []byte("\x01\x02\xff\xfe\ncreateType=\"vmfs\"\nRW 1 VMFS \"/dev/sda\"\n"), format: VMDK,
		refuse: "Image data is a VMDK descriptor (createType=vmfs) referring to other files, which is not allowed."},
	{name: "text after a NUL is not a descriptor", data: []byte("hello\x00createType=\"monolithicFlat\"\n"), vsize: 34},
	{name: "vhd dynamic", data: vhdFooter(3, 1<<30), size: 512, format: VHD, vsize: 1 << 30},
	{name: "vhd differencing", data: vhdFooter(vhdDifferencing, 1<<30), format: VHD,
		refuse: "Image data is a differencing VHD, which names a parent image; this is not allowed."},
	{name: "vdi", data: vdiHeader(1 << 30), size: 512, format: VDI, vsize: 1 << 30},
	{name: "vdi impossible size", data: vdiHeader(1 << 63), format: VDI,
		refuse: "Image data is vdi declaring a virtual size of 9223372036854775808 bytes, which is not allowed."},
	{name: "vhdx", data: []byte("vhdxfile\x00"), size: 9, format: VHDX},
	{name: "iso", data: at(isoFirstVD+2*isoSector, isoFirstVD, isoDescriptors(100, 2048)), size: -1, format: ISO, vsize: 100 * 2048},
	{name: "iso with a boot record first", data: at(isoFirstVD+3*isoSector, isoFirstVD,
		append([]byte("\x00CD001\x01"+strings.Repeat("\x00", isoSector-7)), isoDescriptors(100, 2048)...)), format: ISO, vsize: 100 * 2048},
	{name: "iso with byte orders disagreeing", data: func() []byte {
		b := at(isoFirstVD+2*isoSector, isoFirstVD, isoDescriptors(100, 2048))
		b[isoFirstVD+isoSpaceSizeOff+4] = 1
		return b
	}(), format: ISO, vsize: 0},
	{name: "udf", data: at(isoFirstVD+isoSector, isoFirstVD, []byte("\x00BEA01\x01")), format: ISO},
	{name: "mbr", data: bootSector(mbrPart{boot: 0x80, kind: 0x83, start: 2048, size: 2048}), size: 1 << 20, format: MBR, vsize: 1 << 20},
	{name: "mbr empty", data: bootSector(), size: 512, format: MBR, vsize: 512},
	{name: "gpt", data: bootSector(mbrPart{kind: mbrTypeGPT, start: 1, size: 4095}), size: 4096 * 512, format: GPT, vsize: 4096 * 512},
	{name: "hybrid mbr", data: bootSector(mbrPart{kind: mbrTypeGPT, start: 1, size: 4095}, mbrPart{boot: 0x80, kind: 0x0c, start: 64, size: 64}),
		size: 4096 * 512, format: GPT, vsize: 4096 * 512},
	{name: "boot flag neither 0 nor 0x80", data: bootSector(mbrPart{boot: 0x7f, kind: 0x83}), size: 512, vsize: 512},
	{name: "fat boot sector", data: func() []byte {
		b := bootSector()
		b[fatNumFATsOff], b[fatMediaOff] = 2, fatMediaFixed
		return b
	}(), size: 512, vsize: 512},
	{name: "qcow2 with a boot signature", data: func() []byte {
		b := plainQcow2().bytes()
		b[510], b[511] = 0x55, 0xaa
		return b
	}(), refuse: "Image data looks like several disk formats at once (qcow2, mbr), which is not allowed."},
	{name: "hybrid iso with gpt", data: func() []byte {
		b := at(isoFirstVD+2*isoSector, isoFirstVD, isoDescriptors(100, 2048))
		copy(b, bootSector(mbrPart{kind: mbrTypeGPT, start: 1, size: 99}))
		return b
	}(), format: ISO, vsize: 100 * 2048},
	{name: "descriptor text in a boot sector", data: func() []byte {
		b := bootSector()
		copy(b, "createType=\"monolithicFlat\"\n")
		return b
	}(), refuse: "Image data looks like several disk formats at once (vmdk, mbr), which is not allowed."},
}

func TestInspectCrafted(t *testing.T) {
	for _, c := range craftedCases {
		t.Run(c.name, func(t *testing.T) {
			size := c.size
			if size == 0 && c.data != nil {
				size = int64(len(c.data))
			}
			info, err := Inspect(c.data, size)
			if c.refuse != "" {
				var ue *UnsafeError
				if !errors.As(err, &ue) || err.Error() != c.refuse || ue.Format != c.format {
					t.Fatalf("got %v (%T), want refusal of %q: %q", err, err, c.format, c.refuse)
				}
				return
			}
			if err != nil || info.Format != c.format || info.VirtualSize != c.vsize {
				t.Fatalf("got %+v %v, want format %q virtual size %d", info, err, c.format, c.vsize)
			}
		})
	}
}

// TestInspectSizeSemantics pins what size and the head's length mean.
func TestInspectSizeSemantics(t *testing.T) {
	zeros := make([]byte, HeadSize)
	for _, c := range []struct {
		name        string
		head        []byte
		size        int64
		vsize, data int64
	}{
		{"short head, unknown size: all the data", zeros[:100], -1, 100, 100},
		{"full head, unknown size", zeros, -1, 0, 0},
		{"full head, known size", zeros, 5 << 30, 5 << 30, 5 << 30},
		{"size smaller than the head: the bytes win", zeros[:100], 10, 100, 100},
		{"head longer than HeadSize", make([]byte, HeadSize+10), -1, 0, 0},
	} {
		info, err := Inspect(c.head, c.size)
		if err != nil || info.VirtualSize != c.vsize || info.DataSize != c.data {
			t.Errorf("%s: %+v %v, want virtual size %d, data size %d", c.name, info, err, c.vsize, c.data)
		}
	}
	// Past HeadSize nothing is looked at: a PVD there is not an ISO.
	long := at(HeadSize+isoSector, HeadSize, isoDescriptors(1, 2048))
	if info, _ := Inspect(long, -1); info.Format != Unrecognised {
		t.Errorf("looked past HeadSize: %+v", info)
	}
}

package diskformat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzMaxHead bounds the heads the fuzzer builds: a little past HeadSize,
// to check that nothing past it is looked at.
const fuzzMaxHead = HeadSize + 4096

// fuzzHead builds a head from the fuzzer's arguments: prefix at the start,
// tail at offset at, zeros elsewhere, length bytes at least. Small inputs
// thus reach structures deep in the head (an ISO's descriptors at 32 KiB).
func fuzzHead(prefix []byte, at uint32, tail []byte, length uint32) []byte {
	off := int(at % fuzzMaxHead)
	n := min(max(len(prefix), off+len(tail), int(length%fuzzMaxHead)), fuzzMaxHead)
	head := make([]byte, n)
	copy(head, prefix)
	if off < n {
		copy(head[off:], tail)
	}
	return head
}

// FuzzInspect feeds Inspect arbitrary heads and sizes. The seed corpus in
// testdata/fuzz/FuzzInspect holds one small head per format and per refusal
// (TestFuzzSeeds writes it). Besides not panicking, Inspect must leave its
// input alone, give the same answer twice, ignore bytes past HeadSize,
// answer only *UnsafeError with a printable sentence, and never accept the
// data the safety checks exist for.
func FuzzInspect(f *testing.F) {
	f.Fuzz(func(t *testing.T, prefix []byte, at uint32, tail []byte, length uint32, size int64) {
		head := fuzzHead(prefix, at, tail, length)
		orig := bytes.Clone(head)
		info, err := Inspect(head, size)
		if !bytes.Equal(head, orig) {
			t.Fatal("Inspect modified its input")
		}
		info2, err2 := Inspect(head, size)
		if info != info2 || fmt.Sprint(err) != fmt.Sprint(err2) {
			t.Fatalf("not deterministic: %+v %v, then %+v %v", info, err, info2, err2)
		}
		checkMoreData(t, head, size)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		checkAccepted(t, head, info)
	})
}

// checkMoreData checks that the verdict depends on the head and on whether
// data follows it, nothing else: not on bytes past HeadSize, nor on the
// exact size.
func checkMoreData(t *testing.T, head []byte, size int64) {
	t.Helper()
	same := func(a, b []byte, sa, sb int64) {
		ia, ea := Inspect(a, sa)
		ib, eb := Inspect(b, sb)
		if ia.Format != ib.Format || ia.Variant != ib.Variant || fmt.Sprint(ea) != fmt.Sprint(eb) {
			t.Fatalf("verdict changed: %+v %v, then %+v %v", ia, ea, ib, eb)
		}
	}
	switch {
	case len(head) > HeadSize:
		same(head, head[:HeadSize], -1, -1)
	case len(head) == HeadSize && size > HeadSize:
		same(head, head, size, -1)
	case len(head) < HeadSize:
		same(head, head, int64(len(head)), -1)
	}
}

func checkRefusal(t *testing.T, err error) {
	t.Helper()
	var ue *UnsafeError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUnsafe) {
		t.Fatalf("error %v (%T) is not an *UnsafeError", err, err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "Image data ") || !strings.HasSuffix(msg, ".") {
		t.Fatalf("not a sentence for the client: %q", msg)
	}
	for i := range len(msg) {
		if msg[i] < ' ' || msg[i] > '~' {
			t.Fatalf("unprintable byte in the client's message: %q", msg)
		}
	}
}

// checkAccepted checks, independently of the inspectors' code where it can,
// that accepted data is none of what the safety checks refuse.
func checkAccepted(t *testing.T, head []byte, info Info) {
	t.Helper()
	if _, ok := descriptions[info.Format]; !ok && info.Format != Unrecognised {
		t.Fatalf("accepted as %q", info.Format)
	}
	if info.VirtualSize < 0 || info.DataSize < 0 {
		t.Fatalf("negative size: %+v", info)
	}
	if !info.rawFamily() && !Matches(string(info.Format), info) {
		t.Fatalf("disk_format %s does not accept its own data", info.Format)
	}
	if (Check("vmdk", "bare", info, false) == nil) != (info.Format == VMDK) {
		t.Fatalf("disk_format vmdk decided wrongly for %+v", info)
	}
	sparse := bytes.HasPrefix(head, []byte(vmdkSparseMagic))
	if !sparse && bytes.Contains(bytes.ToLower(textPrefix(head)), []byte("createtype")) {
		t.Fatalf("accepted a VMDK descriptor file as %q", info.Format)
	}
	switch info.Format {
	case QCOW2:
		if !bytes.Equal(head[qcow2BackingOff:qcow2BackingOff+8], make([]byte, 8)) {
			t.Fatal("accepted a qcow2 with a backing file")
		}
		if head[7] == 3 && head[qcow2IncompatOff+7]&qcow2DataFileBit != 0 {
			t.Fatal("accepted a qcow2 with an external data file")
		}
	case VMDK:
		checkAcceptedVMDK(t, head)
	case VHD:
		if binary.BigEndian.Uint32(head[vhdDiskTypeOff:]) == vhdDifferencing {
			t.Fatal("accepted a differencing VHD")
		}
	}
}

func checkAcceptedVMDK(t *testing.T, head []byte) {
	t.Helper()
	if !bytes.HasPrefix(head, []byte(vmdkSparseMagic)) || bytes.Equal(head[12:20], make([]byte, 8)) {
		t.Fatal("accepted a VMDK without a sparse header and capacity")
	}
	// What QEMU (10 KiB) and Glance (the sectors the header declares) read.
	sectors := min(binary.LittleEndian.Uint64(head[36:]), vmdkDescMax/vmdkSector+1)
	window := min(max(qemuDescWindow, int(sectors)*vmdkSector), vmdkDescMax, len(head)-vmdkDescOffset)
	desc := strings.ToLower(string(textPrefix(head[vmdkDescOffset : vmdkDescOffset+window])))
	if strings.Contains(desc, "parentfilenamehint") {
		t.Fatal("accepted a VMDK naming a parent")
	}
	extents := 0
	for line := range strings.Lines(desc) {
		word, _, _ := strings.Cut(strings.TrimSpace(strings.ReplaceAll(line, "\t", " ")), " ")
		if word == "rw" || word == "rdonly" || word == "noaccess" {
			extents++
			if strings.ContainsAny(line, `/\`) {
				t.Fatalf("accepted a VMDK extent naming a path: %q", line)
			}
		}
	}
	if extents != 1 {
		t.Fatalf("accepted a VMDK with %d extents", extents)
	}
}

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzInspect from fuzzSeeds")

// fuzzSeed is one seed: FuzzInspect's arguments.
type fuzzSeed struct {
	prefix []byte
	at     uint32
	tail   []byte
	length uint32
	size   int64
}

// trimmed drops trailing zeros, which fuzzHead puts back (length).
func trimmed(b []byte) []byte { return bytes.TrimRight(b, "\x00") }

// sparseSeed splits a sparse VMDK into header and descriptor.
func sparseSeed(capacity uint64, text string) fuzzSeed {
	b := vmdkSparse(capacity, text)
	return fuzzSeed{trimmed(b[:vmdkDescOffset]), vmdkDescOffset, []byte(text), uint32(len(b)), -1}
}

// fuzzSeeds are the committed seed corpus, by file name.
func fuzzSeeds() map[string]fuzzSeed {
	one := func(b []byte, size int64) fuzzSeed { return fuzzSeed{trimmed(b), 0, nil, uint32(len(b)), size} }
	qcow2 := func(edit func(*qcow2Hdr)) fuzzSeed { return one(qcow2With(edit), 1<<20) }
	iso := isoDescriptors(1000, 2048)
	hybrid := bootSector(mbrPart{boot: 0x80, kind: 0x17, size: 1000 * 4})
	return map[string]fuzzSeed{
		"qcow2-v3":                     qcow2(func(*qcow2Hdr) {}),
		"qcow2-v2":                     qcow2(func(h *qcow2Hdr) { h.version = 2 }),
		"qcow2-backing-file":           qcow2(func(h *qcow2Hdr) { h.backing = 112 }),
		"qcow2-data-file":              qcow2(func(h *qcow2Hdr) { h.incompat = qcow2DataFileBit }),
		"qcow2-extended-l2":            qcow2(func(h *qcow2Hdr) { h.incompat = 1 << 4 }),
		"qed":                          one([]byte("QED\x00\x00\x10\x00\x00"), 4096),
		"vmdk-monolithic-sparse":       sparseSeed(2048, vmdkDescriptorText("monolithicSparse", sparseExtent)),
		"vmdk-stream-optimized":        sparseSeed(2048, vmdkDescriptorText("streamOptimized", sparseExtent)),
		"vmdk-second-extent-shadow":    sparseSeed(2048, vmdkDescriptorText("monolithicSparse", append(sparseExtent, `RW 2048 FLAT "/etc/shadow" 0`))),
		"vmdk-parent-hint":             sparseSeed(2048, vmdkDescriptorText("monolithicSparse", sparseExtent, `# parentFileNameHint="/etc/shadow"`)),
		"vmdk-zero-capacity":           sparseSeed(0, vmdkDescriptorText("monolithicFlat", []string{`RW 1 FLAT "secret" 0`})),
		"vmdk-text-descriptor":         one([]byte(vmdkDescriptorText("monolithicFlat", []string{`RW 2048 FLAT "/etc/shadow" 0`})), -1),
		"vmdk-cowd":                    one([]byte("COWD\x01\x00\x00\x00"), 4096),
		"vhd-dynamic":                  one(vhdFooter(3, 1<<30), 1<<20),
		"vhd-differencing":             one(vhdFooter(vhdDifferencing, 1<<30), 1<<20),
		"vhdx":                         one([]byte("vhdxfile\x51\x00\x45\x00\x4d\x00\x55\x00"), 8<<20),
		"vdi":                          one(vdiHeader(1<<30), 1<<20),
		"iso":                          {nil, isoFirstVD, trimmed(iso[:isoSector]), isoFirstVD + 2*isoSector, 1000 * 2048},
		"iso-hybrid-mbr":               {trimmed(hybrid), isoFirstVD, trimmed(iso[:isoSector]), isoFirstVD + 2*isoSector, 1000 * 2048},
		"iso-hiding-qcow2":             {trimmed(plainQcow2().bytes()), isoFirstVD, trimmed(iso[:isoSector]), isoFirstVD + 2*isoSector, 1000 * 2048},
		"udf":                          {nil, isoFirstVD, []byte("\x00BEA01\x01"), isoFirstVD + isoSector, 1 << 20},
		"gpt":                          one(gptDisk(64)[:1024], 64*512),
		"mbr-boot-sector":              one(bootSector(), 1<<20),
		"mbr-partitioned":              one(bootSector(mbrPart{boot: 0x80, kind: 0x83, start: 2048, size: 2048}), 2<<20),
		"vmdk-descriptor-in-mbr":       one(append([]byte(`createType="vmfs"`+"\n"), bootSector()[18:]...), 512),
		"raw-text":                     one([]byte("just some bytes\n"), 16),
		"vmdk-descriptor-after-binary": {[]byte("\x01\xffcreatetype = \"monolithicFlat\"\r\nrw 1 flat \"x\" 0"), 0, nil, 0, -1},
	}
}

// TestFuzzSeeds keeps the committed corpus what fuzzSeeds builds; run with
// -update-seeds to rewrite it.
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzInspect")
	for name, s := range fuzzSeeds() {
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint32(%d)\n[]byte(%q)\nuint32(%d)\nint64(%d)\n", s.prefix, s.at, s.tail, s.length, s.size)
		p := filepath.Join(dir, name)
		if *updateSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != want {
			t.Errorf("seed %s is missing or stale (go test -run TestFuzzSeeds ./glance/diskformat -args -update-seeds): %v", name, err)
		}
	}
}

// TestFuzzSeedsCoverEveryVerdict makes sure the corpus starts the fuzzer
// from every format and from refusals.
func TestFuzzSeedsCoverEveryVerdict(t *testing.T) {
	formats := map[Format]bool{}
	refusals := 0
	for _, s := range fuzzSeeds() {
		info, err := Inspect(fuzzHead(s.prefix, s.at, s.tail, s.length), s.size)
		formats[info.Format] = true
		if err != nil {
			refusals++
		}
	}
	for _, f := range []Format{Unrecognised, QCOW2, VMDK, VHD, VHDX, VDI, ISO, MBR, GPT} {
		if !formats[f] {
			t.Errorf("no seed is recognised as %q", f)
		}
	}
	if refusals < 10 || !formats[QED] {
		t.Errorf("%d refusals among the seeds, QED seen %v", refusals, formats[QED])
	}
}

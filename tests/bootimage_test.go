package tests

import (
	"os"
	"path/filepath"
	"testing"

	"imagestack/compute/computetest"
)

// bootImage writes a 1 MiB raw disk whose boot sector prints marker (plus
// CR LF) to the first serial port and halts: computetest's guest, which
// the hypervisor conformance suite boots too.
func bootImage(t testing.TB, marker string) string { return computetest.BootImage(t, marker) }

// asm is a tiny x86 real-mode assembler for the instructions the test guests
// use: bytes plus 16-bit absolute fixups of labels.
type asm struct {
	code   []byte
	labels map[string]int
	abs16  map[int]string // offset of a 16-bit absolute address -> label
	rel8   map[int]string // offset of an 8-bit displacement -> label
	rel16  map[int]string // offset of a 16-bit displacement -> label
}

func newAsm() *asm {
	return &asm{labels: map[string]int{}, abs16: map[int]string{}, rel8: map[int]string{}, rel16: map[int]string{}}
}

func (a *asm) b(bs ...byte)           { a.code = append(a.code, bs...) }
func (a *asm) label(name string)      { a.labels[name] = len(a.code) }
func (a *asm) imm16(label string)     { a.abs16[len(a.code)] = label; a.b(0, 0) }
func (a *asm) jmp8(op byte, l string) { a.b(op); a.rel8[len(a.code)] = l; a.b(0) }
func (a *asm) call(label string)      { a.b(0xE8); a.rel16[len(a.code)] = label; a.b(0, 0) }

// link resolves labels for code loaded at 0x7c00.
func (a *asm) link() []byte {
	for off, l := range a.abs16 {
		v := 0x7C00 + a.labels[l]
		a.code[off], a.code[off+1] = byte(v), byte(v>>8)
	}
	for off, l := range a.rel8 {
		a.code[off] = byte(a.labels[l] - (off + 1))
	}
	for off, l := range a.rel16 {
		d := a.labels[l] - (off + 2)
		a.code[off], a.code[off+1] = byte(d), byte(d>>8)
	}
	return a.code
}

// statefulDisk writes a 1 MiB raw disk whose guest, on every boot, prints
// "STATE:<text>" where text is what sector 2 holds, then writes "CHANGED"
// there. So the first boot of initial shows STATE:<initial>, and any later
// boot of the same disk (or of a snapshot of it) shows STATE:CHANGED.
func statefulDisk(t testing.TB, initial string) string {
	t.Helper()
	a := newAsm()
	a.b(0x31, 0xC0, 0x8E, 0xD8, 0x8E, 0xC0, 0xFC) // xor ax,ax; mov ds,ax; mov es,ax; cld
	// read CHS 0/0/2 into 0x8000
	a.b(0xB8, 0x01, 0x02, 0xB9, 0x02, 0x00, 0x30, 0xF6, 0xB2, 0x80, 0xBB, 0x00, 0x80, 0xCD, 0x13)
	a.b(0xBE)
	a.imm16("prefix") // mov si, prefix
	a.call("print")
	a.b(0xBE, 0x00, 0x80) // mov si, 0x8000
	a.call("print")
	a.b(0xBE)
	a.imm16("crlf")
	a.call("print")
	a.b(0xBE)
	a.imm16("changed")                                  // mov si, changed
	a.b(0xBF, 0x00, 0x80, 0xB9, 0x08, 0x00, 0xF3, 0xA4) // mov di,0x8000; mov cx,8; rep movsb
	// write it back to CHS 0/0/2
	a.b(0xB8, 0x01, 0x03, 0xB9, 0x02, 0x00, 0x30, 0xF6, 0xB2, 0x80, 0xBB, 0x00, 0x80, 0xCD, 0x13)
	a.label("halt")
	a.b(0xF4)
	a.jmp8(0xEB, "halt")
	a.label("print")
	a.b(0xBA, 0xF8, 0x03) // mov dx, 0x3f8
	a.label("next")
	a.b(0xAC, 0x08, 0xC0) // lodsb; or al,al
	a.jmp8(0x74, "done")
	a.b(0xEE) // out dx, al
	a.jmp8(0xEB, "next")
	a.label("done")
	a.b(0xC3) // ret
	a.label("prefix")
	a.b([]byte("STATE:\x00")...)
	a.label("crlf")
	a.b('\r', '\n', 0)
	a.label("changed")
	a.b([]byte("CHANGED\x00")...)
	code := a.link()
	if len(code) > 510 {
		t.Fatal("stateful boot sector too long")
	}
	disk := make([]byte, 1<<20)
	copy(disk, code)
	disk[510], disk[511] = 0x55, 0xAA
	copy(disk[512:], append([]byte(initial), 0))
	p := filepath.Join(t.TempDir(), "stateful.raw")
	if err := os.WriteFile(p, disk, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

package tests

import (
	"os"
	"path/filepath"
	"testing"
)

// bootSector returns a 512-byte x86 boot sector that prints marker (plus
// CR LF) to the first serial port and halts: a guest that boots in well under
// a second under QEMU's software emulation.
func bootSector(marker string) []byte {
	code := []byte{
		0x31, 0xC0, // xor ax, ax
		0x8E, 0xD8, // mov ds, ax
		0xFC,             // cld
		0xBA, 0xF8, 0x03, // mov dx, 0x3f8 (COM1)
		0xBE, 0x16, 0x7C, // mov si, 0x7c16 (the message, right after this code)
		0xAC,       // next: lodsb
		0x08, 0xC0, // or al, al
		0x74, 0x03, // jz halt
		0xEE,       // out dx, al
		0xEB, 0xF8, // jmp next
		0xF4,       // halt: hlt
		0xEB, 0xFD, // jmp halt
	}
	s := append(code, []byte(marker+"\r\n\x00")...)
	if len(s) > 510 {
		panic("marker too long for a boot sector")
	}
	s = append(s, make([]byte, 510-len(s))...)
	return append(s, 0x55, 0xAA)
}

// bootImage writes a 1 MiB raw disk whose boot sector prints marker.
func bootImage(t testing.TB, marker string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "boot.raw")
	disk := make([]byte, 1<<20)
	copy(disk, bootSector(marker))
	if err := os.WriteFile(p, disk, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

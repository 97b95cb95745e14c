package computetest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// bootCode is the x86 real-mode code of BootSector: print the NUL-ended
// message that follows it to COM1, then halt forever.
var bootCode = []byte{
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

// BootSector returns a 512-byte x86 boot sector that prints marker (plus
// CR LF) to the first serial port and halts: a guest that boots in well
// under a second under QEMU's software emulation.
func BootSector(marker string) []byte {
	s := append(bytes.Clone(bootCode), []byte(marker+"\r\n\x00")...)
	if len(s) > 510 {
		panic("marker too long for a boot sector")
	}
	s = append(s, make([]byte, 510-len(s))...)
	return append(s, 0x55, 0xAA)
}

// BootImage writes a 1 MiB raw disk whose boot sector prints marker and
// returns its path.
func BootImage(t testing.TB, marker string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "boot.raw")
	disk := make([]byte, 1<<20)
	copy(disk, BootSector(marker))
	if err := os.WriteFile(p, disk, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// guestOutput is what the guest on the disk at path prints at each boot,
// as the fake hypervisor emulates it: a BootSector's message, nothing for
// any other disk.
func guestOutput(path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	sector := make([]byte, 512)
	if n, _ := f.Read(sector); n < 512 || !bytes.HasPrefix(sector, bootCode) || sector[510] != 0x55 || sector[511] != 0xAA {
		return nil
	}
	msg, _, _ := bytes.Cut(sector[len(bootCode):510], []byte{0})
	return msg
}

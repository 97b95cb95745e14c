package libvirt

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// probeSector is a boot sector that writes "K" to the first serial port and
// halts: mov dx,0x3f8; mov al,'K'; out dx,al; cli; hlt; jmp $.
var probeSector = func() []byte {
	b := make([]byte, 512)
	copy(b, []byte{0xBA, 0xF8, 0x03, 0xB0, 'K', 0xEE, 0xFA, 0xF4, 0xEB, 0xFE})
	b[510], b[511] = 0x55, 0xAA
	return b
}()

// DetectVirtType is "kvm" when KVM really runs guests on this host and
// "qemu" (software emulation) otherwise. A /dev/kvm is not enough: nested
// KVM inside some VMs opens fine and then never runs a Linux guest. So a
// boot sector is booted under KVM with QEMU's default CPU model, the one
// domains get: it must print within a few seconds, and QEMU must not say
// that the host lacks a feature of that model (a baseline x86-64 CPU: such
// a host is a broken nested one, where a kernel hangs without a word).
func DetectVirtType(ctx context.Context, emulator string) string {
	return detectVirtType(ctx, emulator, "/dev/kvm")
}

// detectVirtType is DetectVirtType with the KVM device's path.
func detectVirtType(ctx context.Context, emulator, kvmDevice string) string {
	if _, err := os.Stat(kvmDevice); err != nil {
		return "qemu"
	}
	dir, err := os.MkdirTemp("", "imagestack-kvm-probe")
	if err != nil {
		return "qemu"
	}
	defer os.RemoveAll(dir)
	disk := filepath.Join(dir, "probe.img")
	if os.WriteFile(disk, probeSector, 0o600) != nil {
		return "qemu"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, emulator, "-accel", "kvm", "-display", "none", "-nodefaults", "-monitor", "none",
		"-serial", "stdio", "-no-reboot", "-drive", "file="+disk+",format=raw,if=ide")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, _ := cmd.Output()
	if bytes.Contains(out, []byte("K")) && !bytes.Contains(stderr.Bytes(), []byte("doesn't support requested feature")) {
		return "kvm"
	}
	return "qemu"
}

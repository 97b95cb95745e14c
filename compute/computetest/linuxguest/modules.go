package linuxguest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// wantedModules are the drivers the guest loads: virtio NIC and disks, the
// IDE (pc) and SATA (q35) controllers and CD-ROM driver a config drive is
// attached through, and the filesystems a config drive may have (Nova's
// iso9660 or vfat). Modules the kernel has built in are skipped.
var wantedModules = []string{
	"virtio_pci", "virtio_net", "virtio_blk", "virtio_scsi",
	"ata_piix", "ata_generic", "ahci", "sr_mod", "sd_mod",
	"isofs", "vfat", "nls_cp437", "nls_utf8", "nls_iso8859-1",
}

// kmod is a module file (relative to /lib/modules/<version>) to load.
type kmod string

// modulesInOrder resolves wantedModules and their dependencies from the
// kernel's modules.dep, each module after what it needs.
func modulesInOrder(modDir string) ([]kmod, error) {
	deps, err := readModulesDep(filepath.Join(modDir, "modules.dep"))
	if err != nil {
		return nil, err
	}
	builtin, _ := os.ReadFile(filepath.Join(modDir, "modules.builtin"))
	byName := map[string]kmod{}
	for file := range deps {
		byName[moduleName(string(file))] = file
	}
	var order []kmod
	seen := map[kmod]bool{}
	var visit func(kmod)
	visit = func(m kmod) {
		if seen[m] {
			return
		}
		seen[m] = true
		for _, d := range deps[m] {
			visit(d)
		}
		order = append(order, m)
	}
	for _, name := range wantedModules {
		file, ok := byName[strings.ReplaceAll(name, "-", "_")]
		switch {
		case ok:
			visit(file)
		case !bytes.Contains(builtin, []byte("/"+name+".ko\n")):
			return nil, fmt.Errorf("linuxguest: kernel module %s is neither in %s nor built in", name, modDir)
		}
	}
	return order, nil
}

// readModulesDep parses modules.dep: "file: dep dep ...".
func readModulesDep(p string) (map[kmod][]kmod, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("linuxguest: %w", err)
	}
	defer f.Close()
	deps := map[kmod][]kmod{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		file, rest, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		var ds []kmod
		for _, d := range strings.Fields(rest) {
			ds = append(ds, kmod(d))
		}
		deps[kmod(file)] = ds
	}
	return deps, s.Err()
}

// moduleName is a module file's name as the kernel knows it: no
// directory, no .ko[.xz|.zst|.gz], '-' as '_'.
func moduleName(file string) string {
	base := path.Base(file)
	base, _, _ = strings.Cut(base, ".ko")
	return strings.ReplaceAll(base, "-", "_")
}

// readModule returns a module's contents, uncompressed (insmod in busybox
// cannot read compressed modules).
func readModule(modDir string, m kmod) (name string, data []byte, err error) {
	p := filepath.Join(modDir, string(m))
	name = moduleName(string(m)) + ".ko"
	var tool string
	switch filepath.Ext(p) {
	case ".ko":
		data, err = os.ReadFile(p)
		return name, data, err
	case ".xz":
		tool = "xz"
	case ".zst":
		tool = "zstd"
	case ".gz":
		tool = "gzip"
	default:
		return "", nil, fmt.Errorf("linuxguest: unknown module format %s", p)
	}
	data, err = exec.Command(tool, "-dc", p).Output()
	if err != nil {
		return "", nil, fmt.Errorf("linuxguest: %s -dc %s: %w", tool, p, err)
	}
	return name, data, nil
}

package linuxguest

import (
	"fmt"
	"io"
)

// File types of a cpio entry's mode (from <sys/stat.h>).
const (
	modeDir     = 0o040000
	modeRegular = 0o100000
	modeSymlink = 0o120000
	modeCharDev = 0o020000
)

// cpioWriter writes a cpio archive in the "newc" format the kernel unpacks
// as an initramfs: for each entry a 110-byte ASCII header, the NUL-ended
// name and the data, each padded to 4 bytes; a TRAILER!!! entry ends it.
type cpioWriter struct {
	w   io.Writer
	ino int
	err error
}

// entry writes one archive member; rdevMajor and rdevMinor are a device
// node's numbers.
func (c *cpioWriter) entry(name string, mode int, data []byte, rdevMajor, rdevMinor int) {
	if c.err != nil {
		return
	}
	c.ino++
	nlink := 1
	if mode&0o170000 == modeDir {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	c.write([]byte(hdr + name + "\x00"))
	c.pad(len(hdr) + len(name) + 1)
	c.write(data)
	c.pad(len(data))
}

func (c *cpioWriter) write(b []byte) {
	if c.err == nil {
		_, c.err = c.w.Write(b)
	}
}

func (c *cpioWriter) pad(n int) {
	if r := n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

// Dir, File, Symlink and CharDev add entries; Close writes the trailer and
// returns the first error met.
func (c *cpioWriter) Dir(name string)                      { c.entry(name, modeDir|0o755, nil, 0, 0) }
func (c *cpioWriter) File(name string, perm int, b []byte) { c.entry(name, modeRegular|perm, b, 0, 0) }
func (c *cpioWriter) Symlink(name, target string) {
	c.entry(name, modeSymlink|0o777, []byte(target), 0, 0)
}
func (c *cpioWriter) CharDev(name string, major, minor int) {
	c.entry(name, modeCharDev|0o600, nil, major, minor)
}

func (c *cpioWriter) Close() error {
	c.ino = -1 // the trailer's inode is 0
	c.entry("TRAILER!!!", 0, nil, 0, 0)
	return c.err
}

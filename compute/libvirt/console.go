package libvirt

import (
	"context"
	"errors"
	"io"
	"os"
	"strconv"

	"imagestack/compute"
)

// A server's serial console is a pty whose output libvirt hands to
// virtlogd (the domain's <log file=...>), which writes it to console.log
// and rotates it: at max_size (virtlogd.conf, 2 MiB by default) console.log
// becomes console.log.0, the older backups shift to .1, .2, ... and those
// beyond max_backups (3) are removed. A guest that prints without pause
// therefore holds at most (max_backups+1) x max_size of its host's disk: 8
// MiB with the defaults.

// maxConsoleBackups bounds how many rotated files ConsoleOutput looks at,
// whatever virtlogd keeps.
const maxConsoleBackups = 16

// ConsoleOutput implements compute.Hypervisor: the newest MaxConsoleBytes
// of the log, taken from console.log and, when that is shorter (just
// rotated), from the backups before it, newest first, as Nova reads them.
func (d *Driver) ConsoleOutput(ctx context.Context, serverID string) ([]byte, error) {
	return tailLog(d.ConsolePath(serverID), compute.MaxConsoleBytes)
}

// tailLog returns the last n bytes written to a rotated log: path, then
// path.0, path.1, ... while bytes are missing. Only those bytes are read.
func tailLog(path string, n int) ([]byte, error) {
	var out []byte
	for i := -1; i < maxConsoleBackups && len(out) < n; i++ {
		p := path
		if i >= 0 {
			p = path + "." + strconv.Itoa(i)
		}
		chunk, err := lastBytes(p, n-len(out))
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return nil, err
		}
		out = append(chunk, out...)
	}
	return out, nil
}

// lastBytes reads at most n bytes from the end of the file at path.
func lastBytes(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(0, st.Size()-int64(n))
	buf := make([]byte, st.Size()-off)
	// The file may be truncated by a rotation meanwhile: keep what was read.
	k, err := f.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:k], nil
}

package filesystem

import "golang.org/x/sys/unix"

// WithoutDirectIO makes s write through the page cache, as it does on
// filesystems that refuse O_DIRECT.
func WithoutDirectIO(s *Store) *Store { s.noDirect = true; return s }

// TempOpenedDirect creates a temporary file as Put does and reports whether
// it was opened with O_DIRECT.
func TempOpenedDirect(s *Store) (bool, error) {
	f, direct, err := s.createTemp("probe")
	if err != nil {
		return false, err
	}
	defer f.Close()
	defer unix.Unlink(f.Name())
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err != nil {
		return false, err
	}
	return direct && flags&unix.O_DIRECT != 0, nil
}

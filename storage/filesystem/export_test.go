package filesystem

// WithoutDirectIO makes s write through the page cache, as it does on
// filesystems that refuse O_DIRECT.
func WithoutDirectIO(s *Store) *Store { s.noDirect = true; return s }

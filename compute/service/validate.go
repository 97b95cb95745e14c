package service

import (
	"regexp"
	"unicode"
	"unicode/utf8"

	"imagestack/compute"
)

// Nova's limits (its API schemas) on what the compute service stores; the
// columns are sized to match, so nothing a client sends can exceed them.
const (
	maxNameLen       = 255 // names, metadata values, extra spec keys and values (characters)
	maxMetadataItems = 128 // Nova's default metadata_items quota
	maxPublicKeyLen  = 16 << 10
)

// metadataKeyPattern is Nova's metadata key (server metadata and flavor
// extra specs).
var metadataKeyPattern = regexp.MustCompile(`^[a-zA-Z0-9-_:. ]{1,255}$`)

// invalid is a 400 in Nova's schema-error wording.
func invalid(field, format string, args ...any) error {
	return compute.Errorf(compute.ErrBadRequest, "Invalid input for field/attribute "+field+". "+format, args...)
}

// printable is Nova's printable character: no control, format or
// unassigned code points, and of the separators only horizontal spaces.
func printable(r rune) bool {
	return !unicode.Is(unicode.C, r) && (!unicode.Is(unicode.Z, r) || unicode.Is(unicode.Zs, r))
}

// checkName enforces Nova's "name" (servers, flavors, snapshots): 1 to 255
// printable characters, not starting or ending with whitespace.
func checkName(field, name string) error {
	n := utf8.RuneCountInString(name)
	if n == 0 || n > maxNameLen {
		return invalid(field, "It must be 1 to %d characters long (it has %d).", maxNameLen, n)
	}
	first, _ := utf8.DecodeRuneInString(name)
	last, _ := utf8.DecodeLastRuneInString(name)
	ok := utf8.ValidString(name) && !unicode.Is(unicode.Zs, first) && !unicode.Is(unicode.Zs, last)
	for _, r := range name {
		ok = ok && printable(r)
	}
	if !ok {
		return compute.Errorf(compute.ErrBadRequest, "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace.")
	}
	return nil
}

// checkMetadata enforces Nova's metadata schema (keys of letters, digits
// and -_:. and space, values of at most 255 characters: 400) and its
// metadata_items quota (403).
func checkMetadata(field string, md map[string]string) error {
	for k, v := range md {
		if !metadataKeyPattern.MatchString(k) {
			return invalid(field, "Keys are 1 to 255 of a-z, A-Z, 0-9, space and -_:. (%q was unexpected).", compute.Clip(k))
		}
		if n := utf8.RuneCountInString(v); n > maxNameLen {
			return invalid(field+"/"+k, "The value is too long (%d characters, at most %d).", n, maxNameLen)
		}
	}
	return checkMetadataCount(len(md))
}

func checkMetadataCount(n int) error {
	if n > maxMetadataItems {
		return compute.Errorf(compute.ErrOverQuota, "Maximum number of metadata items exceeds %d", maxMetadataItems)
	}
	return nil
}

package configdrive

import (
	"fmt"
	"strings"
	"unicode"
)

// maxHostname is the longest hostname Nova keeps: dnsmasq's limit, the
// lowest of Windows', Linux's and dnsmasq's.
const maxHostname = 63

// Hostname is Nova's sanitize_hostname: name reduced to RFC 952/1123
// characters (lower-case letters, digits, '-'), at most 63 of them, with
// no leading or trailing '-' or '.'. It may return "" (a name of symbols
// only); InstanceHostname falls back as Nova does then.
func Hostname(name string) string {
	// Nova drops characters outside U+0000-U+00FF (encode latin-1, ignore)
	// and truncates before it substitutes, so a 63-character cut counts the
	// characters a user typed, not what remains.
	var kept []rune
	for _, r := range name {
		if r <= 0xFF {
			kept = append(kept, r)
		}
	}
	if len(kept) > maxHostname {
		kept = kept[:maxHostname]
	}
	var b strings.Builder
	for _, r := range kept {
		switch {
		case r == ' ' || r == '_' || r == '.' || r == '-':
			b.WriteRune('-')
		case unicode.IsLetter(r) || unicode.IsNumber(r):
			// Python's \w on str: letters and numbers (Unicode aware).
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return strings.Trim(b.String(), ".-")
}

// InstanceHostname is the hostname Nova gives a new server that asked for
// none (_populate_instance_names): Hostname(name), "Server-<uuid>" when
// that is empty, and "-<index+1>" appended when one request creates count
// > 1 servers.
func InstanceHostname(name, uuid string, count, index int) string {
	h := Hostname(name)
	switch {
	case h == "":
		return "Server-" + uuid
	case count > 1:
		return fmt.Sprintf("%s-%d", h, index+1)
	}
	return h
}

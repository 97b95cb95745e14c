package diskformat

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
	"strings"
)

// VMDK comes as a single file with a binary sparse header ("KDMV") and an
// embedded text descriptor, or as a text descriptor file whose extent lines
// name the files holding the data. Only the two single-file variants Glance
// allows are accepted: monolithicSparse and streamOptimized.
//
// What QEMU does with a VMDK (block/vmdk.c), and why each check exists:
//   - data not starting with a sparse magic is read as a descriptor file:
//     QEMU searches its first 1 MiB (up to the first NUL byte) for createType
//     and opens every extent it names, /etc/shadow included. Such data is
//     refused when recognised here, and Check refuses disk_format=vmdk for
//     anything but a sparse header, since QEMU needs no printable text or
//     particular layout to take data for a descriptor.
//   - a sparse header declaring zero capacity makes QEMU read the embedded
//     descriptor as a descriptor file, extents and all: refused.
//   - QEMU searches the 10 KiB after the header for parentFileNameHint and
//     opens the file it names as a backing image (Glance does not check
//     this): refused wherever it appears in that window.
//   - Glance parses the descriptor strictly (comments, ddb lines, key=value
//     fields, extent lines, nothing else), requires createType to be one of
//     the two allowed ones and refuses extents whose names contain "/".
//     Here the two allowed types are single-extent by definition, so exactly
//     one SPARSE extent with a plain file name (the image itself) is allowed.
//   - a streamOptimized image may keep its real header in a footer at the end
//     of the data, out of sight of a streaming inspection. The footer cannot
//     name files: QEMU reads the descriptor only from sector 1 and decides
//     on zero capacity from the first header, so it is left unchecked (oslo
//     compares it with the header).
const (
	vmdkSparseMagic = "KDMV"
	vmdkCOWDMagic   = "COWD" // VMware's older vmfsSparse header
	vmdkHeaderLen   = 44     // magic, version, flags, capacity, grain, descriptor offset and size
	vmdkSector      = 512
	vmdkDescOffset  = 1 * vmdkSector // the only descriptor location allowed, as oslo
	qemuDescWindow  = 20 * vmdkSector
	vmdkDescMax     = 1<<20 - 1 // QEMU's and oslo's limit on descriptor size
	vmdkNameMax     = 64        // longest createType or line quoted back to the client
)

// vmdkAllowedTypes maps the lower-cased createTypes allowed to their spelling.
var vmdkAllowedTypes = map[string]string{
	"monolithicsparse": "monolithicSparse",
	"streamoptimized":  "streamOptimized",
}

// inspectVMDK checks a VMDK with a sparse header and its embedded descriptor.
func inspectVMDK(v view, _ Format) (Info, error) {
	if v.hasPrefix(vmdkCOWDMagic) {
		return Info{Variant: "vmfsSparse"}, unsafef(VMDK, "Image data is a VMDK of type vmfsSparse (COWD header); only monolithicSparse and streamOptimized VMDKs are allowed.")
	}
	h := v.at(0, vmdkHeaderLen)
	if h == nil {
		return Info{}, unsafef(VMDK, "Image data is a truncated VMDK header, which is not allowed.")
	}
	if version := binary.LittleEndian.Uint32(h[4:]); version < 1 || version > 3 {
		return Info{}, unsafef(VMDK, "Image data is a VMDK of version %d; only versions 1 to 3 are allowed.", version)
	}
	capacity := binary.LittleEndian.Uint64(h[12:])
	if capacity == 0 {
		return Info{}, unsafef(VMDK, "Image data is a VMDK declaring no capacity, which makes QEMU read its descriptor as a separate descriptor file; this is not allowed.")
	}
	if capacity > math.MaxInt64/vmdkSector {
		return Info{}, unsafef(VMDK, "Image data is a VMDK declaring a capacity of %d sectors, which is not allowed.", capacity)
	}
	if binary.LittleEndian.Uint64(h[28:]) != vmdkDescOffset/vmdkSector {
		return Info{}, unsafef(VMDK, "Image data is a VMDK whose descriptor is not at sector 1, which is not allowed.")
	}
	text, err := vmdkEmbeddedDescriptor(v, binary.LittleEndian.Uint64(h[36:]))
	if err != nil {
		return Info{}, err
	}
	d, err := parseVMDKDescriptor(text)
	if err == nil {
		err = d.checkSingleFile()
	}
	return Info{Variant: d.createType, VirtualSize: int64(capacity) * vmdkSector}, err
}

// vmdkEmbeddedDescriptor returns the descriptor text after the sparse
// header, up to its first NUL: the union of what Glance parses (the sectors
// the header declares) and what QEMU searches (10 KiB).
func vmdkEmbeddedDescriptor(v view, sectors uint64) (string, error) {
	if sectors == 0 {
		return "", unsafef(VMDK, "Image data is a VMDK without a descriptor, which is not allowed.")
	}
	declared := int(min(sectors, vmdkDescMax/vmdkSector+1)) * vmdkSector
	window := min(max(qemuDescWindow, declared), vmdkDescMax)
	seg := v.b[min(len(v.b), vmdkDescOffset):]
	seg = seg[:min(len(seg), window)]
	if i := bytes.IndexByte(seg, 0); i >= 0 {
		return string(seg[:i]), nil
	}
	if v.unseen(vmdkDescOffset + window) {
		return "", unsafef(VMDK, "Image data is a VMDK whose descriptor runs past the first %d KiB, which are all that can be checked; this is not allowed.", HeadSize>>10)
	}
	return string(seg), nil
}

// vmdkDescriptor is what a descriptor says, as far as the checks care.
type vmdkDescriptor struct {
	createType string // as spelt in vmdkAllowedTypes, or as written
	extents    []vmdkExtent
}

// vmdkExtent is one extent line: ACCESS SECTORS TYPE "FILE" [OFFSET].
type vmdkExtent struct {
	kind, file string
}

// parseVMDKDescriptor reads a descriptor line by line, as Glance does:
// anything but blank lines, comments, ddb lines, key=value fields and extent
// lines is refused, so that nothing QEMU might interpret goes unread.
func parseVMDKDescriptor(text string) (vmdkDescriptor, error) {
	var d vmdkDescriptor
	if err := checkVMDKText(text); err != nil {
		return d, err
	}
	if indexFoldASCII([]byte(text), "parentfilenamehint") >= 0 {
		return d, unsafef(VMDK, "Image data is a VMDK naming a parent image (parentFileNameHint), which is not allowed.")
	}
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		lower := strings.ToLower(line)
		switch key, value, isField := strings.Cut(line, "="); {
		case line == "" || line[0] == '#' || strings.HasPrefix(lower, "ddb"):
		case isField && !strings.ContainsAny(key, " \t"):
			if !strings.EqualFold(key, "createType") {
				continue
			}
			if d.createType != "" {
				return d, unsafef(VMDK, "Image data is a VMDK whose descriptor has more than one createType, which is not allowed.")
			}
			d.createType = strings.Trim(strings.TrimSpace(value), `"`)
			if name, ok := vmdkAllowedTypes[strings.ToLower(d.createType)]; ok {
				d.createType = name
			}
		case isVMDKExtent(lower):
			e, err := parseVMDKExtent(line)
			if err != nil {
				return d, err
			}
			d.extents = append(d.extents, e)
		default:
			return d, unsafef(VMDK, "Image data is a VMDK whose descriptor has a line that is not allowed: %s.", quoteShort(line))
		}
	}
	return d, nil
}

// checkVMDKText refuses bytes a descriptor never holds: Glance refuses
// descriptors that are not ASCII, and a control character (a lone CR, a form
// feed) could split lines differently for QEMU than for this parser.
func checkVMDKText(text string) error {
	for i := range len(text) {
		c := text[i]
		lineEnd := c == '\n' || c == '\r' && i+1 < len(text) && text[i+1] == '\n'
		if (c < ' ' && c != '\t' && !lineEnd) || c > '~' {
			return unsafef(VMDK, "Image data is a VMDK whose descriptor is not plain text, which is not allowed.")
		}
	}
	return nil
}

func isVMDKExtent(lower string) bool {
	access, _, _ := strings.Cut(strings.TrimLeft(lower, " \t"), " ")
	access, _, _ = strings.Cut(access, "\t")
	return access == "rw" || access == "rdonly" || access == "noaccess"
}

// parseVMDKExtent parses ACCESS SECTORS TYPE "FILE" [OFFSET].
func parseVMDKExtent(line string) (vmdkExtent, error) {
	bad := unsafef(VMDK, "Image data is a VMDK whose descriptor has an extent line that is not allowed: %s.", quoteShort(line))
	before, rest, quoted := strings.Cut(line, `"`)
	file, after, closed := strings.Cut(rest, `"`)
	fields := strings.Fields(before)
	if !quoted || !closed || len(fields) != 3 {
		return vmdkExtent{}, bad
	}
	if n, err := strconv.ParseInt(fields[1], 10, 64); err != nil || n <= 0 {
		return vmdkExtent{}, bad
	}
	if after = strings.TrimSpace(after); after != "" {
		if _, err := strconv.ParseUint(after, 10, 63); err != nil {
			return vmdkExtent{}, bad
		}
	}
	return vmdkExtent{kind: fields[2], file: file}, nil
}

// checkSingleFile allows only the descriptor of a single-file sparse VMDK.
func (d vmdkDescriptor) checkSingleFile() error {
	if d.createType == "" {
		return unsafef(VMDK, "Image data is a VMDK whose descriptor has no createType, which is not allowed.")
	}
	if _, ok := vmdkAllowedTypes[strings.ToLower(d.createType)]; !ok {
		return unsafef(VMDK, "Image data is a VMDK of type %s; only monolithicSparse and streamOptimized VMDKs are allowed.", nameShort(d.createType))
	}
	for _, e := range d.extents {
		if strings.ContainsAny(e.file, `/\`) || e.file == "" || e.file == "." || e.file == ".." {
			return unsafef(VMDK, "Image data is a VMDK whose descriptor refers to another file (%s), which is not allowed.", quoteShort(e.file))
		}
	}
	if len(d.extents) != 1 {
		return unsafef(VMDK, "Image data is a VMDK whose descriptor lists %d extents; only one, in the image itself, is allowed.", len(d.extents))
	}
	if !strings.EqualFold(d.extents[0].kind, "SPARSE") {
		return unsafef(VMDK, "Image data is a VMDK with a %s extent; only a SPARSE extent in the image itself is allowed.", nameShort(d.extents[0].kind))
	}
	return nil
}

// detectVMDKText recognises a VMDK descriptor file the way QEMU does: data
// without a sparse magic whose text before the first NUL byte mentions
// createType (QEMU's own test is case-sensitive; this one is not).
func detectVMDKText(v view) Format {
	if v.hasPrefix(vmdkSparseMagic) || v.hasPrefix(vmdkCOWDMagic) {
		return Unrecognised
	}
	if indexFoldASCII(textPrefix(v.b), "createtype") >= 0 {
		return VMDK
	}
	return Unrecognised
}

// inspectVMDKText refuses a descriptor file: its purpose is to name the
// files holding the data, which is exactly what must not reach a host.
func inspectVMDKText(v view, _ Format) (Info, error) {
	t := descriptorCreateType(textPrefix(v.b))
	if t == "" {
		return Info{}, unsafef(VMDK, "Image data is a VMDK descriptor referring to other files, which is not allowed.")
	}
	return Info{Variant: t}, unsafef(VMDK, "Image data is a VMDK descriptor (createType=%s) referring to other files, which is not allowed.", t)
}

// textPrefix is b up to its first NUL byte.
func textPrefix(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// descriptorCreateType returns the createType a descriptor declares when it
// is a plain name, for the client's message; "" otherwise.
func descriptorCreateType(text []byte) string {
	i := indexFoldASCII(text, "createtype")
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(string(text[i+len("createtype"):min(len(text), i+len("createtype")+vmdkNameMax+8)]), " \t")
	rest, ok := strings.CutPrefix(rest, "=")
	if !ok {
		return ""
	}
	rest = strings.TrimLeft(rest, " \t")
	rest, _ = strings.CutPrefix(rest, `"`)
	name, _, _ := strings.Cut(rest, `"`)
	name, _, _ = strings.Cut(name, "\n")
	if !isPlainName(strings.TrimSpace(name)) {
		return ""
	}
	return strings.TrimSpace(name)
}

// isPlainName reports whether s is short and made of [A-Za-z0-9_.-].
func isPlainName(s string) bool {
	if s == "" || len(s) > vmdkNameMax {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// nameShort returns s as is when it is a plain name, quoted otherwise.
func nameShort(s string) string {
	if isPlainName(s) {
		return s
	}
	return quoteShort(s)
}

// quoteShort quotes s for a client message, cut to a readable length.
func quoteShort(s string) string {
	if len(s) > vmdkNameMax {
		s = s[:vmdkNameMax] + "..."
	}
	return strconv.Quote(s)
}

// indexFoldASCII returns the index of the first ASCII case-insensitive
// occurrence of lower (a lower-case ASCII word) in b, or -1.
func indexFoldASCII(b []byte, lower string) int {
	for i := 0; i+len(lower) <= len(b); i++ {
		j := 0
		for j < len(lower) && toLowerASCII(b[i+j]) == lower[j] {
			j++
		}
		if j == len(lower) {
			return i
		}
	}
	return -1
}

func toLowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

package tests

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// floodDisk writes a 1 MiB raw disk whose guest prints "FLOOD <n>\r\n" to
// the first serial port without pause, n counting up from 0 in 8 hex digits.
func floodDisk(t testing.TB) string {
	t.Helper()
	a := newAsm()
	a.b(0x31, 0xC0, 0x8E, 0xD8, 0xFC) // xor ax,ax; mov ds,ax; cld
	a.b(0xBA, 0xF8, 0x03)             // mov dx, 0x3f8 (COM1)
	a.b(0x66, 0x31, 0xDB)             // xor ebx, ebx: the counter
	a.label("line")
	a.b(0xBE)
	a.imm16("prefix") // mov si, prefix
	a.call("print")
	a.b(0xB9, 0x08, 0x00) // mov cx, 8
	a.label("digit")
	a.b(0x66, 0xC1, 0xC3, 0x04) // rol ebx, 4: the next digit in bl's low nibble
	a.b(0x88, 0xD8)             // mov al, bl
	a.b(0x24, 0x0F)             // and al, 0x0f
	a.b(0x04, '0')              // add al, '0'
	a.b(0x3C, '9'+1)            // cmp al, '9'+1
	a.jmp8(0x72, "decimal")     // jb decimal
	a.b(0x04, 'A'-'9'-1)        // add al, 'A'-'9'-1
	a.label("decimal")
	a.b(0xEE)             // out dx, al
	a.jmp8(0xE2, "digit") // loop digit
	a.b(0xBE)
	a.imm16("crlf") // mov si, crlf
	a.call("print")
	a.b(0x66, 0x43) // inc ebx
	a.jmp8(0xEB, "line")
	a.label("print")
	a.label("next")
	a.b(0xAC, 0x08, 0xC0) // lodsb; or al,al
	a.jmp8(0x74, "done")
	a.b(0xEE) // out dx, al
	a.jmp8(0xEB, "next")
	a.label("done")
	a.b(0xC3) // ret
	a.label("prefix")
	a.b([]byte("FLOOD \x00")...)
	a.label("crlf")
	a.b('\r', '\n', 0)
	code := a.link()
	disk := make([]byte, 1<<20)
	copy(disk, code)
	disk[510], disk[511] = 0x55, 0xAA
	p := filepath.Join(t.TempDir(), "flood.raw")
	if err := os.WriteFile(p, disk, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// virtlogdBound reads virtlogd's max_size and max_backups (its defaults
// when the file leaves them commented out).
func virtlogdBound(t *testing.T) (maxSize int64, files int) {
	maxSize, backups := int64(2097152), 3
	f, err := os.Open("/etc/libvirt/virtlogd.conf")
	if err != nil {
		t.Fatalf("virtlogd.conf: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch strings.TrimSpace(k) {
		case "max_size":
			maxSize = n
		case "max_backups":
			backups = int(n)
		}
	}
	if maxSize == 0 {
		t.Fatal("virtlogd.conf sets max_size = 0: console logs would grow without bound")
	}
	return maxSize, backups + 1
}

var floodLine = regexp.MustCompile(`^FLOOD ([0-9A-F]{8})$`)

// floodCounters checks that output is whole consecutive FLOOD lines (the
// first may be cut) and returns the first and last counters.
func floodCounters(t *testing.T, out string) (first, last uint64) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) > 1 {
		lines = lines[1:] // the tail may start in the middle of a line
	}
	for i, l := range lines {
		m := floodLine.FindStringSubmatch(l)
		if m == nil {
			if i == len(lines)-1 {
				break // the guest is still writing the last line
			}
			t.Fatalf("line %d of the console output is %q", i, l)
		}
		n, _ := strconv.ParseUint(m[1], 16, 32)
		if i > 0 && n != last+1 {
			t.Fatalf("console output skips from %X to %X", last, n)
		}
		if i == 0 {
			first = n
		}
		last = n
	}
	return first, last
}

// TestConsoleLogIsBounded: a guest that prints without pause fills neither
// the disk (virtlogd rotates its log: at most max_size x (max_backups+1))
// nor the API (os-getConsoleOutput answers at most 100 KiB, the newest
// output, then the last `length` lines).
func TestConsoleLogIsBounded(t *testing.T) {
	requireLibvirt(t)
	s := NewServer(t, nil, "")
	ctx := t.Context()
	ic, cc := imageClient(t, s, "demo"), computeClient(t, s, "demo")
	im, err := images.Create(ctx, ic, images.CreateOpts{Name: "flood", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(floodDisk(t))
	defer f.Close()
	if err := imagedata.Upload(ctx, ic, im.ID, f).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	srv, err := servers.Create(ctx, cc, servers.CreateOpts{Name: "flood", ImageRef: im.ID, FlavorRef: "42"}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitServer(t, ctx, cc, srv.ID, "ACTIVE")
	maxSize, files := virtlogdBound(t)
	bound := maxSize * int64(files)
	dir := filepath.Join(s.StateDir, "compute", "instances", srv.ID)
	logSizes := func() (total int64, list []string) {
		paths, _ := filepath.Glob(filepath.Join(dir, "console.log*"))
		for _, p := range paths {
			if st, err := os.Stat(p); err == nil {
				total += st.Size()
				list = append(list, fmt.Sprintf("%s=%d", filepath.Base(p), st.Size()))
			}
		}
		return total, list
	}
	// Wait until the guest has printed more than the bound: the oldest
	// backups must have been dropped. A TCG guest prints ~50 KiB/s on an
	// idle host and much less on a busy one: the wait is generous, and
	// ends as soon as the bound is passed.
	var last uint64
	start := time.Now()
	eventually(t, 8*time.Minute, func() (bool, string) {
		out, err := servers.ShowConsoleOutput(ctx, cc, srv.ID, servers.ShowConsoleOutputOpts{Length: -1}).Extract()
		if err != nil {
			return false, err.Error()
		}
		if len(out) > 100<<10 {
			t.Fatalf("console output of %d bytes", len(out))
		}
		first, newest := floodCounters(t, out)
		if newest < last {
			t.Fatalf("console output went back from line %X to %X", last, newest)
		}
		last = newest
		total, list := logSizes()
		if total > bound {
			t.Fatalf("console logs hold %d bytes (%v), above the bound of %d", total, list, bound)
		}
		written := int64(newest) * int64(len("FLOOD 00000000\r\n"))
		return written > bound+maxSize/2, fmt.Sprintf("%d bytes printed, lines %X..%X shown, logs %v", written, first, newest, list)
	})
	total, list := logSizes()
	t.Logf("%d bytes printed in %v; console logs %d bytes (%v), bound %d (%d files of %d)",
		int64(last)*16, time.Since(start).Round(time.Second), total, list, bound, files, maxSize)
	if total > bound || len(list) > files {
		t.Fatalf("console logs %v exceed %d files of %d bytes", list, files, maxSize)
	}
	out, err := servers.ShowConsoleOutput(ctx, cc, srv.ID, servers.ShowConsoleOutputOpts{Length: 10}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, "\n"); n < 9 || n > 10 {
		t.Fatalf("length 10 gave %d lines: %q", n, out)
	}
	if _, newest := floodCounters(t, "cut\n"+out); newest < last {
		t.Fatalf("length 10 shows line %X, older than %X", newest, last)
	}
	if err := servers.Delete(ctx, cc, srv.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitGoneT(t, ctx, cc, srv.ID)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("server files left after delete: %v", err)
	}
}

package linuxguest

import (
	"strconv"
	"strings"
)

// Console is what the guest reported on its serial console during its
// last boot.
type Console struct {
	Booted    bool   // the boot marker was seen
	UUID      string // instance-uuid from the config drive
	Hostname  string
	PublicKey string
	// UserData is the user data as printed, with the newline the guest adds
	// when it lacks one; HasUserData tells "" from none.
	UserData    string
	HasUserData bool
	// UserDataOutput is what a "#!" user data printed; UserDataExit its
	// exit status, -1 when it did not run (or has not finished).
	UserDataOutput string
	UserDataExit   int
	Ready          bool   // the guest serves HTTP
	IP             string // its address by DHCP, "none" without a lease
}

// ParseConsole reads a console log (a hypervisor's, or QEMU's serial
// output) from the guest's last boot marker on; lines may end in CR LF.
func ParseConsole(log []byte) Console {
	out := strings.ReplaceAll(string(log), "\r\n", "\n")
	if i := strings.LastIndex(out, BootMarker); i >= 0 {
		out = out[i:]
	}
	c := Console{UserDataExit: -1, Booted: strings.HasPrefix(out, BootMarker)}
	c.UserData, c.HasUserData = between(out, UserDataBegin+"\n", "\n"+UserDataEnd+"\n")
	switch {
	case strings.Contains(out, UserDataBegin+"\n"+UserDataEnd+"\n"):
		c.UserData, c.HasUserData = "", true // an empty file
	case c.HasUserData:
		c.UserData += "\n"
	}
	if o, ok := between(out, UserDataOutputBegin+"\n", UserDataExitMarker); ok {
		c.UserDataOutput = o
		c.UserDataExit, _ = strconv.Atoi(line(out[strings.Index(out, UserDataOutputBegin):], UserDataExitMarker))
	}
	// Lines are looked for outside the user data and its output, which may
	// print anything.
	rest := out
	if i := strings.Index(rest, UserDataBegin+"\n"); i >= 0 {
		rest = rest[:i]
	}
	c.UUID, c.Hostname, c.PublicKey = line(rest, UUIDMarker), line(rest, HostnameMarker), line(rest, PublicKeyMarker)
	if i := strings.LastIndex(out, "\n"+ReadyMarker); i >= 0 {
		c.Ready, c.IP = true, line(out[i:], ReadyMarker)
	}
	return c
}

// between is the text after the first begin and before the next end.
func between(s, begin, end string) (string, bool) {
	_, after, ok := strings.Cut(s, begin)
	if !ok {
		return "", false
	}
	v, _, ok := strings.Cut(after, end)
	return v, ok
}

// line is the rest of the first line starting with prefix.
func line(s, prefix string) string {
	for l := range strings.SplitSeq(s, "\n") {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			return v
		}
	}
	return ""
}

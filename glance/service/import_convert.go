package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"imagestack/glance"
	"imagestack/glance/diskformat"
)

// qemuFormats maps the disk_formats image_conversion converts from (and
// to) to qemu-img's format names, with the formats the inspector must find
// in the data first: exactly the claimed one, as Glance requires (raw data
// is raw, or a raw disk with a partition table). Other disk_formats (iso,
// ami, ari, aki, ploop) are stored as they are: Glance keeps iso, and a
// kernel, ramdisk or AMI is not a disk image to convert.
var qemuFormats = map[string]struct {
	name   string
	accept []diskformat.Format
}{
	"raw":   {"raw", []diskformat.Format{diskformat.Unrecognised, diskformat.MBR, diskformat.GPT}},
	"qcow2": {"qcow2", []diskformat.Format{diskformat.QCOW2}},
	"vmdk":  {"vmdk", []diskformat.Format{diskformat.VMDK}},
	"vhd":   {"vpc", []diskformat.Format{diskformat.VHD}},
	"vhdx":  {"vhdx", []diskformat.Format{diskformat.VHDX}},
	"vdi":   {"vdi", []diskformat.Format{diskformat.VDI}},
}

// outputFormats are the choices of Glance's [image_conversion] output_format.
var outputFormats = []string{"raw", "qcow2", "vmdk"}

// vmdkCreateTypes are the VMDK subformats qemu-img may read (Glance's
// default [image_format] vmdk_allowed_types).
var vmdkCreateTypes = []string{"monolithicSparse", "streamOptimized"}

// convertible reports whether image_conversion converts data of diskFormat.
func (s *Service) convertible(diskFormat string) bool {
	_, ok := qemuFormats[diskFormat]
	return ok && diskFormat != s.plugins.OutputFormat
}

// convert is image_conversion: the data at path, in im's disk_format, is
// converted by qemu-img into a new work file in the output format, whose
// path it returns; im then has the output format and container_format
// bare. As in Glance, the data is first inspected (and refused when unsafe
// or not in the claimed format) so that qemu-img never opens anything
// else, then qemu-img info checks it again with -f given.
func (s *Service) convert(ctx context.Context, im *glance.Image, path string) (string, error) {
	from := deref(im.DiskFormat)
	if !s.convertible(from) {
		return path, nil
	}
	if err := checkBeforeQemu(path, from); err != nil {
		return "", err
	}
	if err := s.qemuInfoCheck(ctx, path, from); err != nil {
		return "", err
	}
	to := s.plugins.OutputFormat
	out, err := s.workFile(im.ID, "converted", func(f *os.File) error {
		return runLimited(ctx, s.plugins.limits(), io.Discard, "qemu-img", "convert", "-f", qemuFormats[from].name,
			"-O", qemuFormats[to].name, path, f.Name())
	})
	if err != nil {
		return "", conversionError(err)
	}
	if err := s.checkConverted(out, to); err != nil {
		removeWork(out)
		return "", err
	}
	bare := "bare"
	im.DiskFormat, im.ContainerFormat = &to, &bare
	return out, nil
}

// conversionError words a failed qemu-img convert for the task.
func conversionError(err error) error {
	var ge *glance.Error
	if errors.As(err, &ge) {
		return err
	}
	if isNoSpace(err) || strings.Contains(err.Error(), "No space left on device") {
		return glance.Errorf(glance.ErrTooLarge, "The staging area has no room left for the converted image.")
	}
	return glance.Errorf(glance.ErrBadRequest, "Image conversion failed: %v", err)
}

// checkBeforeQemu runs the inspector's safety checks on the file and
// requires it to be in the claimed format.
func checkBeforeQemu(path, diskFormat string) error {
	info, err := inspectFile(path)
	if err != nil {
		return glance.Errorf(glance.ErrBadRequest, "%v", err)
	}
	if !slices.Contains(qemuFormats[diskFormat].accept, info.Format) {
		return glance.Errorf(glance.ErrBadRequest, "Image disk_format is %s, but the data is not in that format; it was not converted.", diskFormat)
	}
	return nil
}

// inspectFile inspects the head of the file at path, with its size.
func inspectFile(path string) (diskformat.Info, error) {
	head, err := readHead(path)
	if err != nil {
		return diskformat.Info{}, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return diskformat.Info{}, err
	}
	return diskformat.Inspect(head, st.Size())
}

// qemuImgInfo is what qemu-img info --output=json says that matters here.
type qemuImgInfo struct {
	Format          string `json:"format"`
	VirtualSize     int64  `json:"virtual-size"`
	BackingFilename string `json:"backing-filename"`
	FormatSpecific  struct {
		Data struct {
			DataFile   *string `json:"data-file"`
			CreateType string  `json:"create-type"`
		} `json:"data"`
	} `json:"format-specific"`
}

// qemuInfoCheck runs qemu-img info with Glance's limits and refuses what
// Glance refuses: another format than claimed, a backing file, an external
// data file, a VMDK of another create-type; and a raw result larger than
// the size cap.
func (s *Service) qemuInfoCheck(ctx context.Context, path, diskFormat string) error {
	var out bytes.Buffer
	name := qemuFormats[diskFormat].name
	err := runLimited(ctx, infoLimits, &cappedWriter{w: &out, max: 1 << 20}, "qemu-img", "info", "-f", name, "--output=json", path)
	if err != nil {
		return glance.Errorf(glance.ErrBadRequest, "Image conversion failed: qemu-img could not read the image: %v", err)
	}
	var info qemuImgInfo
	if err := json.Unmarshal(out.Bytes(), &info); err != nil {
		return fmt.Errorf("qemu-img info: %w", err)
	}
	switch {
	case info.Format != name:
		return glance.Errorf(glance.ErrBadRequest, "Image disk_format is %s, but qemu-img reads the data as %s; it was not converted.", diskFormat, info.Format)
	case info.BackingFilename != "":
		return glance.Errorf(glance.ErrBadRequest, "Image data is %s with a backing file, which is not allowed.", diskFormat)
	case info.FormatSpecific.Data.DataFile != nil:
		return glance.Errorf(glance.ErrBadRequest, "Image data is %s with an external data file, which is not allowed.", diskFormat)
	case name == "vmdk" && !slices.Contains(vmdkCreateTypes, info.FormatSpecific.Data.CreateType):
		return glance.Errorf(glance.ErrBadRequest, "Image data is a VMDK of type %q; only monolithicSparse and streamOptimized VMDKs are allowed.", info.FormatSpecific.Data.CreateType)
	case s.plugins.OutputFormat == "raw" && info.VirtualSize > s.cfg.SizeCap:
		return glance.Errorf(glance.ErrTooLarge, "Converted to raw, the image would take %d bytes, more than the size cap of %d bytes.", info.VirtualSize, s.cfg.SizeCap)
	}
	return nil
}

// checkConverted refuses a conversion result that is not plainly in the
// output format (a format hidden inside another) or is over the size cap.
func (s *Service) checkConverted(path, to string) error {
	info, err := inspectFile(path)
	if err == nil && !slices.Contains(qemuFormats[to].accept, info.Format) {
		err = fmt.Errorf("the result is not %s", to)
	}
	if err != nil {
		return glance.Errorf(glance.ErrBadRequest, "Image conversion failed: %v", err)
	}
	if info.DataSize > s.cfg.SizeCap {
		return glance.Errorf(glance.ErrTooLarge, "The converted image exceeds the size cap of %d bytes.", s.cfg.SizeCap)
	}
	return nil
}

// limits bound a helper program: CPU time and address space (setrlimit in
// the child, as oslo.concurrency's prlimit does for Glance) and wall time.
type limits struct {
	cpu          time.Duration
	addressSpace int64
	timeout      time.Duration
}

// limits are the configured limits of qemu-img convert and xz.
func (p *ImportPlugins) limits() limits {
	return limits{cpu: p.CPUTimeLimit, addressSpace: p.AddressSpaceLimit, timeout: p.Timeout}
}

// runLimited runs name with args under prlimit(1) with l, its standard
// output going to stdout. The error carries the program's own message.
func runLimited(ctx context.Context, l limits, stdout io.Writer, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	cpu := int64(math.Ceil(l.cpu.Seconds()))
	argv := append([]string{fmt.Sprintf("--as=%d", l.addressSpace), fmt.Sprintf("--cpu=%d", cpu), "--", name}, args...)
	// Messages go to the task: work file paths are shown without their directory.
	hide := strings.NewReplacer(hidePaths(args)...)
	cmd := exec.CommandContext(ctx, "prlimit", argv...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &cappedWriter{w: &stderr, max: 4 << 10}
	cmd.WaitDelay = 5 * time.Second
	// A helper outliving a crashed server would write into a work
	// directory the next start empties.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s ran longer than %s and was stopped", name, l.timeout)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && (ws.Signal() == syscall.SIGXCPU || ws.Signal() == syscall.SIGKILL) {
			return fmt.Errorf("%s used more than its %s of CPU time and was stopped", name, l.cpu)
		}
	}
	if msg := strings.TrimSpace(stderr.String()); msg != "" {
		return fmt.Errorf("%s: %s", name, strings.TrimPrefix(hide.Replace(msg), name+": "))
	}
	return fmt.Errorf("%s: %w", name, err)
}

// hidePaths pairs each absolute path in args with its base name, for
// strings.NewReplacer.
func hidePaths(args []string) []string {
	var pairs []string
	for _, a := range args {
		if filepath.IsAbs(a) {
			pairs = append(pairs, a, filepath.Base(a))
		}
	}
	return pairs
}

package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"imagestack/glance"
	"imagestack/glance/diskformat"
)

// The import plugins, by Glance's names (its [image_import_opts]
// image_import_plugins). no_op does nothing, as in Glance.
const (
	PluginDecompression = "image_decompression"
	PluginConversion    = "image_conversion"
	PluginInject        = "inject_image_metadata"
	PluginNoOp          = "no_op"
)

// OriginalDiskFormatProperty keeps the disk_format an image was imported
// in when image_conversion changed it. Glance records nothing; the name is
// in the namespace Glance keeps for itself, so clients cannot forge it.
const OriginalDiskFormatProperty = "os_glance_original_disk_format"

// ImportPlugins configures Glance's import plugins, which act on the data
// and metadata of glance-direct and web-download imports (never copy-image)
// before the data reaches a store. The zero value enables none.
type ImportPlugins struct {
	// Enabled names the plugins to run, in order (image_import_plugins).
	// image_decompression must come before image_conversion.
	Enabled []string
	// OutputFormat is what image_conversion converts to: raw (default),
	// qcow2 or vmdk ([image_conversion] output_format).
	OutputFormat string
	// CPUTimeLimit and AddressSpaceLimit bound each qemu-img convert and xz
	// run (setrlimit in the child, through prlimit); Timeout ends one that
	// runs longer. Defaults: 5 minutes of CPU, 1 GiB, 30 minutes.
	CPUTimeLimit      time.Duration
	AddressSpaceLimit int64
	Timeout           time.Duration
	// Inject are the properties inject_image_metadata adds to images that
	// callers without one of IgnoreUserRoles import ([inject_metadata_properties]
	// inject and ignore_user_roles; nil IgnoreUserRoles means admin).
	Inject          map[string]string
	IgnoreUserRoles []string
	// WorkDir holds the plugins' temporary files (under the staging area);
	// required with image_decompression or image_conversion. What a crash
	// leaves there is removed when the service starts.
	WorkDir string
}

// Defaults of ImportPlugins.
const (
	DefaultConversionCPUTime      = 5 * time.Minute
	DefaultConversionAddressSpace = 1 << 30
	DefaultConversionTimeout      = 30 * time.Minute
)

// Glance's limits on qemu-img info (glance/async_/utils.py
// QEMU_IMG_PROC_LIMITS): it only reads headers.
var infoLimits = limits{cpu: 2 * time.Second, addressSpace: 1 << 30, timeout: time.Minute}

// has reports whether plugin name is enabled.
func (p *ImportPlugins) has(name string) bool { return slices.Contains(p.Enabled, name) }

// dataPlugins reports whether any enabled plugin works on the data.
func (p *ImportPlugins) dataPlugins() bool {
	return p.has(PluginDecompression) || p.has(PluginConversion)
}

// prepare validates p, fills its defaults, finds the programs the enabled
// plugins run and empties the work directory.
func (p *ImportPlugins) prepare() error {
	if err := p.checkNames(); err != nil {
		return err
	}
	if p.OutputFormat == "" {
		p.OutputFormat = "raw"
	}
	if _, ok := qemuFormats[p.OutputFormat]; !ok || !slices.Contains(outputFormats, p.OutputFormat) {
		return fmt.Errorf("image_conversion output_format must be raw, qcow2 or vmdk, not %q", p.OutputFormat)
	}
	if p.CPUTimeLimit <= 0 {
		p.CPUTimeLimit = DefaultConversionCPUTime
	}
	if p.AddressSpaceLimit <= 0 {
		p.AddressSpaceLimit = DefaultConversionAddressSpace
	}
	if p.Timeout <= 0 {
		p.Timeout = DefaultConversionTimeout
	}
	if p.IgnoreUserRoles == nil {
		p.IgnoreUserRoles = []string{"admin"}
	}
	if err := checkInjected(p.Inject); err != nil {
		return err
	}
	return p.prepareWork()
}

// checkNames refuses unknown or repeated plugins, and conversion before
// decompression (it would be handed compressed data and fail every time).
func (p *ImportPlugins) checkNames() error {
	seen := map[string]bool{}
	for _, n := range p.Enabled {
		switch n {
		case PluginDecompression, PluginConversion, PluginInject, PluginNoOp:
		default:
			return fmt.Errorf("unknown import plugin %q (known: %s, %s, %s, %s)", n, PluginDecompression, PluginConversion, PluginInject, PluginNoOp)
		}
		if seen[n] {
			return fmt.Errorf("import plugin %s is listed twice", n)
		}
		seen[n] = true
	}
	if p.has(PluginConversion) && p.has(PluginDecompression) &&
		slices.Index(p.Enabled, PluginConversion) < slices.Index(p.Enabled, PluginDecompression) {
		return fmt.Errorf("import plugin %s must come before %s", PluginDecompression, PluginConversion)
	}
	return nil
}

// checkInjected refuses properties clients could not set themselves
// (Glance drops those in its namespace at import time; refusing them at
// start-up tells the operator at once).
func checkInjected(props map[string]string) error {
	scratch := &glance.Image{Properties: map[string]string{}}
	for k, v := range props {
		if glance.IsForbidden(k) || glance.IsCore(k) {
			return fmt.Errorf("inject_metadata_properties: %q is not an extra property an image may be given", k)
		}
		if err := glance.SetProperty(scratch, k, v); err != nil {
			return fmt.Errorf("inject_metadata_properties: %w", err)
		}
	}
	return nil
}

// prepareWork checks the programs the data plugins run and empties the
// work directory.
func (p *ImportPlugins) prepareWork() error {
	if !p.dataPlugins() {
		return nil
	}
	if p.WorkDir == "" {
		return errors.New("import plugins: a work directory is required")
	}
	progs := []string{"prlimit", "xz"}
	if p.has(PluginConversion) {
		progs = append(progs, "qemu-img")
	}
	for _, prog := range progs {
		if _, err := exec.LookPath(prog); err != nil {
			return fmt.Errorf("import plugins need %s (Debian: util-linux, xz-utils, qemu-utils): %w", prog, err)
		}
	}
	if err := os.MkdirAll(p.WorkDir, 0o700); err != nil {
		return fmt.Errorf("import plugins: %w", err)
	}
	// Emptied, not removed: it may be a mount of its own.
	left, err := os.ReadDir(p.WorkDir)
	for _, e := range left {
		if err == nil {
			err = os.RemoveAll(filepath.Join(p.WorkDir, e.Name()))
		}
	}
	if err != nil {
		return fmt.Errorf("import plugins: %w", err)
	}
	return nil
}

// injectFor is what inject_image_metadata adds to an image c imports: nil
// when the plugin is off or c has one of the ignored roles.
func (p *ImportPlugins) injectFor(c Caller) map[string]string {
	if !p.has(PluginInject) || len(p.Inject) == 0 {
		return nil
	}
	for _, r := range c.Creds.Roles {
		if slices.Contains(p.IgnoreUserRoles, r) {
			return nil
		}
	}
	return p.Inject
}

// pluginResult is what the plugins made of an import's data: the data to
// store and the image as it is stored (its formats may have changed), and
// the changes to make to the image when it becomes active.
type pluginResult struct {
	data io.ReadCloser
	im   *glance.Image
	edit func(*glance.Image)
}

// runPlugins applies the enabled plugins to src, the data of the importing
// image im. Data plugins work on files in the work directory, every one of
// which is removed on every path (the last once opened: its space is freed
// when the result is closed).
// Their changes to the image (disk and container formats, properties) are
// only made when it becomes active, so a failure leaves it as it was.
func (s *Service) runPlugins(ctx context.Context, im *glance.Image, src io.ReadCloser, inject map[string]string) (*pluginResult, error) {
	head, data, err := peekHead(src)
	if err != nil {
		src.Close()
		return nil, err
	}
	if !s.needsWork(im, head) {
		return &pluginResult{data: readCloser{data, src}, im: im, edit: injectEdit(inject, nil)}, nil
	}
	path, err := s.spool(im, data)
	src.Close()
	if err != nil {
		return nil, err
	}
	out := im.Clone()
	for _, name := range s.plugins.Enabled {
		next, err := s.runStep(ctx, name, im, out, path)
		if err != nil {
			removeWork(path)
			return nil, err
		}
		if next != path {
			removeWork(path)
			path = next
		}
	}
	f, err := os.Open(path)
	removeWork(path) // the open file stays readable
	if err != nil {
		return nil, err
	}
	return &pluginResult{data: f, im: out, edit: injectEdit(inject, formatEdit(im, out))}, nil
}

// runStep runs data plugin name on the file at path and returns the path of
// its result (path itself when it changed nothing). Conversion records the
// new formats in out.
func (s *Service) runStep(ctx context.Context, name string, im, out *glance.Image, path string) (string, error) {
	switch name {
	case PluginDecompression:
		return s.decompress(ctx, im, path)
	case PluginConversion:
		return s.convert(ctx, out, path)
	}
	return path, nil
}

// needsWork reports whether the data plugins have something to do with
// data starting with head for im: compressed data to decompress, or a
// disk_format to convert.
func (s *Service) needsWork(im *glance.Image, head []byte) bool {
	p := &s.plugins
	if p.has(PluginDecompression) && deref(im.ContainerFormat) != "compressed" && compressionOf(head) != "" {
		return true
	}
	return p.has(PluginConversion) && s.convertible(deref(im.DiskFormat))
}

// formatEdit records, on the image that becomes active, the formats
// conversion gave out (nil when unchanged), and the original disk_format.
func formatEdit(im, out *glance.Image) func(*glance.Image) {
	if sameFormats(im, out) {
		return nil
	}
	return func(cur *glance.Image) {
		cur.DiskFormat, cur.ContainerFormat = out.DiskFormat, out.ContainerFormat
		if cur.Properties == nil {
			cur.Properties = map[string]string{}
		}
		cur.Properties[OriginalDiskFormatProperty] = deref(im.DiskFormat)
	}
}

// injectEdit adds props to the image after then (if any) ran.
func injectEdit(props map[string]string, then func(*glance.Image)) func(*glance.Image) {
	if len(props) == 0 {
		return then
	}
	return func(cur *glance.Image) {
		if then != nil {
			then(cur)
		}
		if cur.Properties == nil {
			cur.Properties = map[string]string{}
		}
		for k, v := range props {
			cur.Properties[k] = v
		}
	}
}

// peekHead reads the first diskformat.HeadSize bytes of r, returning them
// and a reader of all the data.
func peekHead(r io.Reader) ([]byte, io.Reader, error) {
	head := make([]byte, diskformat.HeadSize)
	n, err := io.ReadFull(r, head)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = nil
	}
	head = head[:n]
	return head, io.MultiReader(bytes.NewReader(head), r), err
}

// readCloser reads from r and closes c.
type readCloser struct {
	io.Reader
	c io.Closer
}

func (rc readCloser) Close() error { return rc.c.Close() }

// spool writes the import's data to a new work file, within the size cap
// and through the checks staging makes, and returns its path.
func (s *Service) spool(im *glance.Image, data io.Reader) (string, error) {
	return s.workFile(im.ID, "data", func(f *os.File) error {
		_, err := io.Copy(f, newInspectingReader(&capReader{r: data, max: s.cfg.SizeCap}, s.stageCheck(im)))
		return err
	})
}

// workFile creates a work file for image id, fills it with fill and
// returns its path; on any failure the file is gone.
func (s *Service) workFile(id, what string, fill func(*os.File) error) (string, error) {
	f, err := os.CreateTemp(s.plugins.WorkDir, id+"-"+what+"-*")
	if err != nil {
		return "", workError(err)
	}
	err = fill(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", workError(err)
	}
	return f.Name(), nil
}

// workError words a failure to write a work file for the task.
func workError(err error) error {
	var ge *glance.Error
	if errors.As(err, &ge) || errors.Is(err, errTooLarge) {
		return err
	}
	if isNoSpace(err) {
		return glance.Errorf(glance.ErrTooLarge, "The staging area has no room left for the import plugins' work files.")
	}
	return err
}

// removeWork removes a work file.
func removeWork(path string) {
	if path != "" {
		_ = os.Remove(path)
	}
}

// isNoSpace reports whether err is a full disk or quota.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

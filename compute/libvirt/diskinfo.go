package libvirt

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"imagestack/compute"
)

// diskInfo is what qemu-img reads from an image file's own header.
type diskInfo struct {
	VirtualSize     int64  `json:"virtual-size"`
	BackingFilename string `json:"backing-filename"`
	FormatSpecific  struct {
		Data struct {
			DataFile string `json:"data-file"`
		} `json:"data"`
	} `json:"format-specific"`
}

// qemu-img runs over files users uploaded: bounded as Nova bounds it (1 GiB
// of address space, 30 s of CPU) so a crafted header cannot make it eat
// the host.
var qemuImgLimits = []string{"--as=1073741824", "--cpu=30"}

// imageInfo reads an image file's header with its format stated (never
// probed: a raw image holding a qcow2 header must stay raw).
// objects are qemu-img --object definitions (a secret the filename uses).
func imageInfo(ctx context.Context, path, format string, objects ...string) (diskInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	args := append(append([]string{}, qemuImgLimits...), "qemu-img", "info", "--output=json", "-U")
	for _, o := range objects {
		args = append(args, "--object", o)
	}
	if format != "" { // "": a json: filename stating its driver
		args = append(args, "-f", format)
	}
	args = append(args, path)
	out, err := exec.CommandContext(ctx, "prlimit", args...).Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg += ": " + strings.TrimSpace(string(ee.Stderr))
		}
		return diskInfo{}, fmt.Errorf("qemu-img info on the base image: %s", msg)
	}
	var info diskInfo
	if err := json.Unmarshal(out, &info); err != nil {
		return diskInfo{}, fmt.Errorf("qemu-img info on the base image: %w", err)
	}
	return info, nil
}

// fits refuses a base that an overlay of rootGB GiB (0: the base's own
// size) must not be made over.
func (i diskInfo) fits(rootGB int) error {
	const gib = int64(1) << 30
	switch {
	case i.BackingFilename != "":
		return fmt.Errorf("the image refers to a backing file (%s); only standalone images can boot", i.BackingFilename)
	case i.FormatSpecific.Data.DataFile != "":
		return fmt.Errorf("the image refers to an external data file (%s); only standalone images can boot", i.FormatSpecific.Data.DataFile)
	case i.VirtualSize <= 0:
		return fmt.Errorf("the image's virtual size is unknown")
	case rootGB > 0 && i.VirtualSize > int64(rootGB)*gib:
		return fmt.Errorf("Flavor's disk is too small for requested image. Flavor disk is %d bytes (%d GiB), image is %d bytes (its virtual size, read from the image data).",
			int64(rootGB)*gib, rootGB, i.VirtualSize)
	case rootGB == 0 && i.VirtualSize > compute.MaxZeroDiskGB*gib:
		return fmt.Errorf("the image's virtual size (%d bytes) is larger than the %d GiB a zero-disk flavor may take", i.VirtualSize, compute.MaxZeroDiskGB)
	}
	return nil
}

package diskformat

import (
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	raw := Info{Format: Unrecognised, VirtualSize: 100, DataSize: 100}
	cases := []struct {
		disk, container string
		info            Info
		requireMatch    bool
		mismatch        string // exact message of a *MismatchError
		unsafe          string // exact message of an *UnsafeError
	}{
		{disk: "qcow2", container: "bare", info: Info{Format: QCOW2}, requireMatch: true},
		{disk: "qcow2", container: "bare", info: raw, requireMatch: true}, // tempest uploads random bytes as qcow2
		{disk: "qcow2", container: "bare", info: Info{Format: VMDK}, requireMatch: true,
			mismatch: "Image disk_format is qcow2, but the data is a VMDK image; set disk_format to vmdk."},
		{disk: "qcow2", container: "bare", info: Info{Format: VMDK}, requireMatch: false},
		{disk: "qcow2", container: "bare", info: Info{Format: MBR}, requireMatch: true,
			mismatch: "Image disk_format is qcow2, but the data is a raw disk with an MBR partition table; set disk_format to raw."},
		{disk: "raw", container: "bare", info: raw, requireMatch: true},
		{disk: "raw", container: "bare", info: Info{Format: MBR}, requireMatch: true},
		{disk: "raw", container: "bare", info: Info{Format: GPT}, requireMatch: true},
		{disk: "raw", container: "bare", info: Info{Format: ISO}, requireMatch: true,
			mismatch: "Image disk_format is raw, but the data is an ISO 9660/UDF image; set disk_format to iso."},
		{disk: "raw", container: "bare", info: Info{Format: QCOW2}, requireMatch: true,
			mismatch: "Image disk_format is raw, but the data is a qcow2 image; set disk_format to qcow2."},
		{disk: "iso", container: "bare", info: Info{Format: ISO}, requireMatch: true},
		{disk: "iso", container: "bare", info: Info{Format: GPT}, requireMatch: true,
			mismatch: "Image disk_format is iso, but the data is a raw disk with a GPT partition table; set disk_format to raw."},
		{disk: "vhd", container: "bare", info: Info{Format: MBR}, requireMatch: true}, // a fixed VHD
		{disk: "vhd", container: "bare", info: Info{Format: VHDX}, requireMatch: true,
			mismatch: "Image disk_format is vhd, but the data is a VHDX image; set disk_format to vhdx."},
		{disk: "vhdx", container: "bare", info: Info{Format: VHDX}, requireMatch: true},
		{disk: "vdi", container: "bare", info: Info{Format: VDI}, requireMatch: true},
		{disk: "ami", container: "ami", info: Info{Format: GPT}, requireMatch: true},
		{disk: "aki", container: "aki", info: raw, requireMatch: true},
		{disk: "ari", container: "ari", info: Info{Format: QCOW2}, requireMatch: true,
			mismatch: "Image disk_format is ari, but the data is a qcow2 image; set disk_format to qcow2."},
		{disk: "ploop", container: "bare", info: raw, requireMatch: true},
		{disk: "ploop", container: "bare", info: Info{Format: MBR}, requireMatch: true,
			mismatch: "Image disk_format is ploop, but the data is a raw disk with an MBR partition table; set disk_format to raw."},
		{disk: "vmdk", container: "bare", info: Info{Format: VMDK}, requireMatch: true},
		{disk: "vmdk", container: "bare", info: raw, requireMatch: false,
			unsafe: "Image disk_format is vmdk, but the data is not a monolithicSparse or streamOptimized VMDK (QEMU would read it as a descriptor file naming other files), which is not allowed."},
		{disk: "vmdk", container: "ovf", info: Info{Format: QCOW2}, requireMatch: false,
			unsafe: "Image disk_format is vmdk, but the data is a qcow2 image; only monolithicSparse and streamOptimized VMDKs may be stored as vmdk."},
		{disk: "vmdk", container: "ova", info: raw, requireMatch: true}, // a tar holding the VMDK
		{disk: "qcow2", container: "docker", info: Info{Format: MBR}, requireMatch: true},
	}
	for _, c := range cases {
		err := Check(c.disk, c.container, c.info, c.requireMatch)
		var me *MismatchError
		var ue *UnsafeError
		switch {
		case c.mismatch != "":
			if !errors.As(err, &me) || !errors.Is(err, ErrMismatch) || err.Error() != c.mismatch {
				t.Errorf("%s in %s holding %q: %v, want mismatch %q", c.disk, c.container, c.info.Format, err, c.mismatch)
			}
		case c.unsafe != "":
			if !errors.As(err, &ue) || !errors.Is(err, ErrUnsafe) || err.Error() != c.unsafe {
				t.Errorf("%s in %s holding %q: %v, want refusal %q", c.disk, c.container, c.info.Format, err, c.unsafe)
			}
		case err != nil:
			t.Errorf("%s in %s holding %q: %v, want accepted", c.disk, c.container, c.info.Format, err)
		}
	}
}

// TestMatchesEveryDiskFormat keeps the table complete: each of Glance's
// default disk formats accepts its own format (or raw data) and refuses a
// qcow2 header unless it is qcow2.
func TestMatchesEveryDiskFormat(t *testing.T) {
	own := map[string]Format{"qcow2": QCOW2, "vmdk": VMDK, "vhd": VHD, "vhdx": VHDX, "vdi": VDI, "iso": ISO}
	for _, disk := range []string{"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"} {
		if f, ok := own[disk]; ok && !Matches(disk, Info{Format: f}) {
			t.Errorf("%s does not accept its own format", disk)
		}
		if disk != "vmdk" && !Matches(disk, Info{}) {
			t.Errorf("%s refuses unrecognised data", disk)
		}
		if disk != "qcow2" && Matches(disk, Info{Format: QCOW2}) {
			t.Errorf("%s accepts qcow2 data", disk)
		}
	}
	if Matches("dmg", Info{Format: MBR}) || !Matches("dmg", Info{}) {
		t.Error("a disk_format outside the table must accept unrecognised data only")
	}
}

func TestVirtualSizeFor(t *testing.T) {
	for _, c := range []struct {
		disk string
		info Info
		want int64
	}{
		{"qcow2", Info{Format: QCOW2, VirtualSize: 1 << 30, DataSize: 200000}, 1 << 30},
		{"qcow2", Info{Format: Unrecognised, VirtualSize: 512, DataSize: 512}, 0},
		{"raw", Info{Format: MBR, VirtualSize: 1 << 20, DataSize: 1 << 20}, 1 << 20},
		{"raw", Info{Format: QCOW2, VirtualSize: 1 << 30, DataSize: 200000}, 200000},
		{"iso", Info{Format: ISO, VirtualSize: 4 << 20, DataSize: 4 << 20}, 4 << 20},
		{"vhd", Info{Format: MBR, VirtualSize: 1 << 20, DataSize: 1 << 20}, 0},
		{"vhdx", Info{Format: VHDX, DataSize: 1 << 20}, 0},
	} {
		if got := c.info.VirtualSizeFor(c.disk); got != c.want {
			t.Errorf("%s holding %+v: %d, want %d", c.disk, c.info, got, c.want)
		}
	}
}

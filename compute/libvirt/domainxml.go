package libvirt

import (
	"fmt"
	"strings"

	"libvirt.org/go/libvirtxml"

	"imagestack/compute"
)

// defaultCmdline is the kernel command line of a server booted directly
// from a kernel whose image sets no os_command_line, as Nova's libvirt
// driver writes it: the root disk, and the consoles on the serial port
// (which the console log records) and the screen. Software emulation
// (virt_type qemu) adds no_timer_check, as Nova does.
const defaultCmdline = "root=/dev/vda console=tty0 console=ttyS0 console=hvc0"

// domainXML builds the domain definition: the root disk, then the config
// drive, the NICs in order, the serial console logged by virtlogd and a
// VNC screen on a unix socket in the server's directory.
func (d *Driver) domainXML(spec compute.SpawnSpec) (string, error) {
	dom := &libvirtxml.Domain{
		Type: d.cfg.VirtType,
		Name: domainName(spec.ServerID),
		UUID: spec.ServerID,
		Metadata: &libvirtxml.DomainMetadata{
			XML: fmt.Sprintf(`<imagestack:server xmlns:imagestack="https://imagestack.local/xmlns/server/1" name=%q/>`, xmlEscape(spec.Name)),
		},
		Memory:     &libvirtxml.DomainMemory{Value: uint(spec.MemoryMiB), Unit: "MiB"},
		VCPU:       &libvirtxml.DomainVCPU{Value: uint(spec.VCPUs)},
		OS:         d.osXML(spec),
		OnPoweroff: "destroy",
		OnReboot:   "restart",
		OnCrash:    "destroy",
		Devices: &libvirtxml.DomainDeviceList{
			Emulator:   d.qemu,
			Disks:      d.disksXML(spec),
			Interfaces: nicsXML(spec.NICs),
			// A pty logged through virtlogd, which rotates the log (see
			// console.go); append keeps the output of earlier boots.
			Serials: []libvirtxml.DomainSerial{{
				Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
				Target: &libvirtxml.DomainSerialTarget{Port: new(uint)},
				Log:    &libvirtxml.DomainChardevLog{File: d.ConsolePath(spec.ServerID), Append: "on"},
			}},
			Graphics: []libvirtxml.DomainGraphic{{VNC: &libvirtxml.DomainGraphicVNC{
				Listeners: []libvirtxml.DomainGraphicListener{{
					Socket: &libvirtxml.DomainGraphicListenerSocket{Socket: d.VNCSocketPath(spec.ServerID)},
				}},
			}}},
			// Nova's video model for x86 guests (virtio, which falls back
			// to plain VGA for guests without its driver) and its default
			// pointer, a USB tablet, whose absolute coordinates keep a VNC
			// client's pointer in step with the guest's.
			Videos: []libvirtxml.DomainVideo{{Model: libvirtxml.DomainVideoModel{Type: "virtio"}}},
			Inputs: []libvirtxml.DomainInput{{Type: "tablet", Bus: "usb"}},
		},
	}
	if spec.LazyBase != nil {
		backing, err := lazyBackingXML(*spec.LazyBase, spec.BaseFormat)
		if err != nil {
			return "", err
		}
		dom.Devices.Disks[0].BackingStore = backing
	}
	return dom.Marshal()
}

// osXML boots the server from its disk, or, when spec names a kernel,
// directly from that kernel and ramdisk (Nova's kernel_id, ramdisk_id and
// os_command_line; the disk stays attached, as root=/dev/vda).
func (d *Driver) osXML(spec compute.SpawnSpec) *libvirtxml.DomainOS {
	o := &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Arch: "x86_64", Machine: "pc", Type: "hvm"}}
	if spec.Kernel == "" {
		o.BootDevices = []libvirtxml.DomainBootDevice{{Dev: "hd"}}
		return o
	}
	o.Kernel, o.Initrd, o.Cmdline = spec.Kernel, spec.Ramdisk, spec.Cmdline
	if o.Cmdline == "" {
		o.Cmdline = defaultCmdline
		if d.cfg.VirtType == "qemu" {
			o.Cmdline += " no_timer_check"
		}
	}
	return o
}

// disksXML is the root disk (vda, virtio) and, when spec has one, the
// config drive as Nova attaches an ISO 9660 one to a pc machine: a
// read-only cdrom on the IDE bus, its first free device (hda).
func (d *Driver) disksXML(spec compute.SpawnSpec) []libvirtxml.DomainDisk {
	disks := []libvirtxml.DomainDisk{{
		Device: "disk",
		Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2", Cache: "none"},
		Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: d.diskPath(spec.ServerID)}},
		Target: &libvirtxml.DomainDiskTarget{Dev: "vda", Bus: "virtio"},
	}}
	if spec.ConfigDrive != "" {
		disks = append(disks, libvirtxml.DomainDisk{
			Device:   "cdrom",
			Driver:   &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "raw", Cache: "none"},
			Source:   &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: spec.ConfigDrive}},
			Target:   &libvirtxml.DomainDiskTarget{Dev: "hda", Bus: "ide"},
			ReadOnly: &libvirtxml.DomainDiskReadOnly{},
		})
	}
	return disks
}

// nicsXML is one <interface type='bridge'> per VIF, in order, as Nova's
// vif driver writes them for a Linux bridge: libvirt creates the tap named
// Device, plugs it into the bridge (which must exist), and removes it when
// the VM stops.
func nicsXML(vifs []compute.VIF) []libvirtxml.DomainInterface {
	var nics []libvirtxml.DomainInterface
	for _, v := range vifs {
		nic := libvirtxml.DomainInterface{
			MAC:    &libvirtxml.DomainInterfaceMAC{Address: v.MAC},
			Source: &libvirtxml.DomainInterfaceSource{Bridge: &libvirtxml.DomainInterfaceSourceBridge{Bridge: v.Bridge}},
			Target: &libvirtxml.DomainInterfaceTarget{Dev: v.Device},
			Model:  &libvirtxml.DomainInterfaceModel{Type: "virtio"},
		}
		if v.MTU > 0 {
			nic.MTU = &libvirtxml.DomainInterfaceMTU{Size: uint(v.MTU)}
		}
		nics = append(nics, nic)
	}
	return nics
}

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
}

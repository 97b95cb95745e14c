// Package configdrive builds Nova's config drive: the ISO 9660 image,
// labelled config-2, from which cloud-init and similar agents read a
// server's metadata, key, user data and network configuration
// (nova/virt/configdrive.py with nova/api/metadata/base.py's files).
package configdrive

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"imagestack/compute"
)

// Label is the volume label guests look for.
const Label = "config-2"

// DefaultDomain is Nova's default [api] dhcp_domain.
const DefaultDomain = "novalocal"

// MaxUserData is the most user data a server can have, decoded: what
// compute.MaxUserData base64 characters decode to (49149 bytes).
const MaxUserData = compute.MaxUserData / 4 * 3

// Metadata is what a config drive tells the guest.
type Metadata struct {
	UUID     string
	Name     string // the display name
	Hostname string // the server's, see InstanceHostname
	// Domain, when set, is appended to Hostname in the metadata, as Nova's
	// [api] dhcp_domain (DefaultDomain unless configured otherwise).
	Domain           string
	ProjectID        string
	AvailabilityZone string // "" is written as null
	AdminPass        string // "" writes no admin_pass
	LaunchIndex      int
	// KeyName, PublicKey and KeyType (ssh or x509) are the server's key
	// pair; no KeyName, no keys.
	KeyName, PublicKey, KeyType string
	Meta                        map[string]string // the server's metadata
	UserData                    []byte            // decoded; nil writes no user_data
	NICs                        []compute.NIC
	// DHCP says the NICs' subnets have a DHCP server (Neutron's enable_dhcp
	// with a DHCP port): Nova then writes "ipv4_dhcp" networks without
	// addresses and links without mtu, and guests ask DHCP. Otherwise the
	// networks are static, with address, netmask, default route and DNS.
	DHCP bool
}

// Build writes md's config drive to dst. dst appears complete or not at
// all: the image is built beside it and renamed into place, and nothing
// is left behind on error. It runs genisoimage with Nova's options.
func Build(ctx context.Context, dst string, md Metadata) error {
	if len(md.UserData) > MaxUserData {
		return compute.Errorf(compute.ErrBadRequest, "User data too large. User data must be no larger than %d bytes once base64 encoded.", compute.MaxUserData)
	}
	if md.UUID == "" {
		return fmt.Errorf("configdrive: no server uuid")
	}
	staging, err := os.MkdirTemp("", "configdrive-")
	if err != nil {
		return fmt.Errorf("configdrive: %w", err)
	}
	defer os.RemoveAll(staging)
	if err := writeTree(staging, md); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.tmp")
	if err != nil {
		return fmt.Errorf("configdrive: %w", err)
	}
	tmp.Close()
	if err := mkisofs(ctx, tmp.Name(), staging); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("configdrive: %w", err)
	}
	return nil
}

// mkisofs runs genisoimage as Nova's _make_iso9660 does.
func mkisofs(ctx context.Context, out, dir string) error {
	cmd := exec.CommandContext(ctx, "genisoimage", "-o", out, "-ldots", "-allow-lowercase",
		"-allow-multidot", "-l", "-publisher", "imagestack", "-quiet", "-J", "-r", "-V", Label, dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("configdrive: %w", ctx.Err())
		}
		return fmt.Errorf("configdrive: genisoimage: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

// writeTree writes the files of every metadata version under dir, as
// Nova's metadata_for_config_drive lists them (the ec2/ tree aside).
func writeTree(dir string, md Metadata) error {
	nd, err := networkData(md)
	if err != nil {
		return err
	}
	for _, folder := range append(versions, "latest") {
		meta, err := metaData(md, folder)
		if err != nil {
			return fmt.Errorf("configdrive: %w", err)
		}
		files := map[string][]byte{"meta_data.json": meta}
		if md.UserData != nil {
			files["user_data"] = md.UserData
		}
		if since(folder, havana) {
			files["vendor_data.json"] = []byte("{}") // no vendordata_jsonfile_path
		}
		if since(folder, liberty) {
			files["network_data.json"] = nd
		}
		if since(folder, newtonTwo) {
			files["vendor_data2.json"] = []byte(`{"static": {}}`) // StaticJSON only
		}
		if err := writeFiles(filepath.Join(dir, "openstack", folder), files); err != nil {
			return err
		}
	}
	return nil
}

func writeFiles(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("configdrive: %w", err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("configdrive: %w", err)
		}
	}
	return nil
}

// ForServer is the metadata of a server's config drive: its identity,
// hostname (in domain, "" for none), zone, key, metadata, user data and
// NICs (on networks whose DHCP server hands out the fixed addresses),
// with adminPass as the guest's password.
func ForServer(sv *compute.Server, zone, domain, adminPass string) Metadata {
	md := Metadata{UUID: sv.ID, Name: sv.Name, Hostname: sv.Hostname, Domain: domain, ProjectID: sv.ProjectID,
		AvailabilityZone: zone, AdminPass: adminPass, LaunchIndex: sv.LaunchIndex, Meta: sv.Metadata,
		UserData: sv.UserData, NICs: sv.NICs, DHCP: true}
	if sv.KeyName != "" {
		md.KeyName, md.PublicKey, md.KeyType = sv.KeyName, sv.KeyData, "ssh"
	}
	return md
}

package libvirt

import (
	"context"
	"encoding/json"
	"net/url"
	"os"

	"libvirt.org/go/libvirtxml"

	"imagestack/compute"
)

// A lazy base (compute.SpawnSpec.LazyBase) is still arriving when the
// server boots: QEMU reads it through the image cache's loopback endpoint
// with its curl block driver (Range requests, the cookie in each), as the
// backing store the domain XML names. The overlay's own header names the
// base's local path, where the verified base will be, so that qemu-img
// works on the disk offline (snapshots, resizes) once the base is here.

// cookieSecretID names the secret object by which qemu-img is given the
// endpoint's cookie: never on its command line, which any local user can
// read in /proc.
const cookieSecretID = "imagestack-base-cookie"

// lazyJSON is the json: filename by which qemu-img reads a lazy base, its
// format stated (never probed), the cookie taken from cookieSecretID.
func lazyJSON(lazy compute.LazyBase, format string) (string, error) {
	b, err := json.Marshal(map[string]any{"driver": format, "file": map[string]string{
		"driver": "http", "url": lazy.URL, "cookie-secret": cookieSecretID}})
	return "json:" + string(b), err
}

// createLazyDisk is CreateDisk over a base still arriving: the same checks
// on the base's header, read through the endpoint, then an overlay naming
// base, which is not there yet.
func (d *Driver) createLazyDisk(ctx context.Context, id string, lazy compute.LazyBase, base, format string, rootGB int) error {
	src, err := lazyJSON(lazy, format)
	if err != nil {
		return err
	}
	secret, err := writeSecret(lazy.CookieName + "=" + lazy.Cookie)
	if err != nil {
		return err
	}
	defer os.Remove(secret)
	// "": the json: filename states its driver.
	return d.createOverlay(ctx, id, overlaySpec{read: src, readFormat: "", base: base, format: format, rootGB: rootGB,
		objects: []string{"secret,id=" + cookieSecretID + ",file=" + secret}})
}

// writeSecret writes value to a new file only its owner reads (os.CreateTemp
// creates it 0600) and returns its path.
func writeSecret(value string) (string, error) {
	f, err := os.CreateTemp("", "imagestack-secret-*")
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// lazyBackingXML is the backing store of a root disk over a lazy base: the
// endpoint's URL over http, with the cookie, and nothing below it.
func lazyBackingXML(lazy compute.LazyBase, format string) (*libvirtxml.DomainDiskBackingStore, error) {
	u, err := url.Parse(lazy.URL)
	if err != nil {
		return nil, err
	}
	return &libvirtxml.DomainDiskBackingStore{
		Format: &libvirtxml.DomainDiskFormat{Type: format},
		Source: &libvirtxml.DomainDiskSource{
			Network: &libvirtxml.DomainDiskSourceNetwork{Protocol: u.Scheme, Name: u.Path,
				Hosts: []libvirtxml.DomainDiskSourceHost{{Name: u.Hostname(), Port: u.Port()}}},
			Cookies: &libvirtxml.DomainDiskCookies{Cookies: []libvirtxml.DomainDiskCookie{{Name: lazy.CookieName, Value: lazy.Cookie}}},
			// A read waits for its chunk, which may queue behind others.
			Timeout: &libvirtxml.DomainDiskSourceTimeout{Seconds: "120"},
		},
		BackingStore: &libvirtxml.DomainDiskBackingStore{},
	}, nil
}

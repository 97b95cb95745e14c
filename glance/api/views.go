package api

import (
	"strings"
	"time"

	"imagestack/glance"
)

// glanceTime is Glance's timestamp format.
func glanceTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// imageView renders an image as Glance does: every core field present (null
// when unset), extra properties as strings, and the self/file/schema links.
func imageView(im *glance.Image) map[string]any {
	v := make(map[string]any, 22+len(im.Properties))
	for k, val := range im.Properties {
		v[k] = val
	}
	tags := im.Tags
	if tags == nil {
		tags = []string{}
	}
	v["id"] = im.ID
	v["name"] = im.Name
	v["status"] = im.Status
	v["visibility"] = im.Visibility
	v["protected"] = im.Protected
	v["os_hidden"] = im.OSHidden
	v["checksum"] = im.Checksum
	v["os_hash_algo"] = im.OSHashAlgo
	v["os_hash_value"] = im.OSHashValue
	v["owner"] = im.Owner
	v["size"] = im.Size
	v["virtual_size"] = im.VirtualSize
	v["container_format"] = im.ContainerFormat
	v["disk_format"] = im.DiskFormat
	v["min_ram"] = im.MinRAM
	v["min_disk"] = im.MinDisk
	v["created_at"] = glanceTime(im.CreatedAt)
	v["updated_at"] = glanceTime(im.UpdatedAt)
	v["tags"] = tags
	v["self"] = "/v2/images/" + im.ID
	v["file"] = "/v2/images/" + im.ID + "/file"
	v["schema"] = "/v2/schemas/image"
	return v
}

// view is the image as this API shows it.
func (a *API) view(im *glance.Image) map[string]any { return renderImage(im, a.svc.MultiStore()) }

// renderImage is imageView plus, with several stores, the stores holding the data.
func renderImage(im *glance.Image, multiStore bool) map[string]any {
	v := imageView(im)
	if multiStore {
		if st := im.ActiveStores(); len(st) > 0 {
			v["stores"] = strings.Join(st, ",")
		}
	}
	return v
}

// memberView renders a membership.
func memberView(m glance.Member) map[string]any {
	return map[string]any{
		"image_id": m.ImageID, "member_id": m.MemberID, "status": m.Status,
		"created_at": glanceTime(m.CreatedAt), "updated_at": glanceTime(m.UpdatedAt),
		"schema": "/v2/schemas/member",
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"imagestack/compute"
	"imagestack/glance"
	glanceservice "imagestack/glance/service"
	"imagestack/policy"
)

// localImages gives compute the embedded image service, acting with the
// credentials of the user whose server needs the image.
type localImages struct{ svc *glanceservice.Service }

var _ compute.Images = localImages{}

func (l localImages) Get(ctx context.Context, user policy.Credentials, id string) (compute.ImageInfo, error) {
	im, err := l.svc.Get(ctx, l.svc.NewCaller(user), id)
	switch {
	case errors.Is(err, glance.ErrNotFound):
		return compute.ImageInfo{}, fmt.Errorf("image %s: %w", id, compute.ErrNotFound)
	case errors.Is(err, glance.ErrUnavailable): // the database or store is out of reach: 503
		return compute.ImageInfo{}, fmt.Errorf("image %s: %w: %w", id, compute.ErrUnavailable, err)
	}
	if err != nil {
		return compute.ImageInfo{}, err
	}
	return imageInfo(im), nil
}

// imageInfo is what compute needs of an image.
func imageInfo(im *glance.Image) compute.ImageInfo {
	info := compute.ImageInfo{ID: im.ID, Status: im.Status, MinRAM: im.MinRAM, MinDisk: im.MinDisk, Properties: im.Properties}
	if im.Name != nil {
		info.Name = *im.Name
	}
	if im.DiskFormat != nil {
		info.DiskFormat = *im.DiskFormat
	}
	if im.Checksum != nil {
		info.Checksum = *im.Checksum
	}
	if im.Size != nil {
		info.Size = *im.Size
	}
	if im.VirtualSize != nil {
		info.VirtualSize = *im.VirtualSize
	}
	return info
}

func (l localImages) Download(ctx context.Context, user policy.Credentials, id string, w io.Writer) error {
	im, err := l.svc.Downloadable(ctx, l.svc.NewCaller(user), id)
	if err != nil {
		return err
	}
	if !glanceservice.HasData(im) {
		return fmt.Errorf("image %s has no data", id)
	}
	rc, err := l.svc.ReadData(ctx, im, 0, -1)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(w, rc)
	return err
}

func (l localImages) DownloadRange(ctx context.Context, user policy.Credentials, id string, off, n int64, w io.Writer) error {
	im, err := l.svc.Downloadable(ctx, l.svc.NewCaller(user), id)
	if err != nil {
		return err
	}
	if !glanceservice.HasData(im) {
		return fmt.Errorf("image %s has no data", id)
	}
	rc, err := l.svc.ReadData(ctx, im, off, n)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(w, rc)
	return err
}

func (l localImages) Create(ctx context.Context, user policy.Credentials, req compute.NewImage) (string, error) {
	n := glance.NewImage{Name: &req.Name, Visibility: glance.VisibilityPrivate, DiskFormat: &req.DiskFormat,
		ContainerFormat: &req.ContainerFormat, MinRAM: req.MinRAM, MinDisk: req.MinDisk,
		Properties: map[string]string{}}
	for k, v := range req.Properties {
		if !glance.IsCore(k) && !glance.IsForbidden(k) {
			n.Properties[k] = v
		}
	}
	im, err := l.svc.Create(ctx, l.svc.NewCaller(user), n)
	if err != nil {
		return "", err
	}
	return im.ID, nil
}

func (l localImages) Upload(ctx context.Context, user policy.Credentials, id string, r io.Reader) error {
	_, err := l.svc.Upload(ctx, l.svc.NewCaller(user), id, r, "")
	return err
}

func (l localImages) Delete(ctx context.Context, user policy.Credentials, id string) error {
	return l.svc.Delete(ctx, l.svc.NewCaller(user), id)
}

func (l localImages) List(ctx context.Context, user policy.Credentials, properties map[string]string) ([]compute.ImageInfo, error) {
	ims, err := l.svc.List(ctx, l.svc.NewCaller(user), glance.ListQuery{Properties: properties,
		Sort: []glance.SortKey{{Key: "created_at", Desc: true}}})
	if err != nil {
		return nil, err
	}
	out := make([]compute.ImageInfo, len(ims))
	for i, im := range ims {
		out[i] = imageInfo(im)
	}
	return out, nil
}

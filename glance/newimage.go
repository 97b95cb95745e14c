package glance

import "sort"

// NewImage is what a client gives a new image: the writable core fields,
// typed, and the extra properties. The zero value of a field means "not
// given" (the image gets Glance's default).
type NewImage struct {
	// ID is the image id to use ("" for a generated one): a UUID.
	ID string
	// Name, ContainerFormat and DiskFormat are nil when not given.
	Name                        *string
	ContainerFormat, DiskFormat *string
	// Visibility is "" for Glance's default (shared).
	Visibility          string
	Protected, OSHidden bool
	// Owner replaces the creator's project as owner when OwnerSet (nil:
	// no owner); the policy decides whether the caller may.
	Owner    *string
	OwnerSet bool
	MinRAM   int
	MinDisk  int
	// Tags are nil when not given; duplicates count once.
	Tags []string
	// Properties are the extra properties (base properties such as
	// kernel_id included), as strings.
	Properties map[string]string
}

// NewImageFromJSON reads a decoded JSON object (numbers as json.Number)
// into a NewImage, applying the image schema to every attribute, in name
// order so that the error reported is always the same: read-only and
// reserved attributes are 403, values of the wrong type or out of range 400.
func NewImageFromJSON(body map[string]any) (NewImage, error) {
	names := make([]string, 0, len(body))
	for k := range body {
		names = append(names, k)
	}
	sort.Strings(names)
	im := &Image{Properties: map[string]string{}}
	for _, k := range names {
		if IsForbidden(k) {
			return NewImage{}, ForbiddenAttribute(k)
		}
		if err := SetProperty(im, k, body[k]); err != nil {
			return NewImage{}, err
		}
	}
	_, ownerSet := body["owner"]
	_, tagsSet := body["tags"]
	n := NewImage{ID: im.ID, Name: im.Name, ContainerFormat: im.ContainerFormat, DiskFormat: im.DiskFormat,
		Visibility: im.Visibility, Protected: im.Protected, OSHidden: im.OSHidden, Owner: im.Owner, OwnerSet: ownerSet,
		MinRAM: im.MinRAM, MinDisk: im.MinDisk, Properties: im.Properties}
	if tagsSet {
		n.Tags = im.Tags
	}
	return n, nil
}

// Apply validates n by the image schema, as NewImageFromJSON does, and
// writes it into im (a fresh image with the service's defaults).
func (n NewImage) Apply(im *Image) error {
	values, err := n.given()
	if err != nil {
		return err
	}
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if IsForbidden(k) {
			return ForbiddenAttribute(k)
		}
		if err := SetProperty(im, k, values[k]); err != nil {
			return err
		}
	}
	return nil
}

// given lists the attributes n sets, with the values SetProperty reads.
func (n NewImage) given() (map[string]any, error) {
	v := make(map[string]any, 12+len(n.Properties))
	for k, p := range n.Properties {
		if IsCore(k) {
			return nil, Errorf(ErrBadRequest, "Invalid property name '%s': it is an image field.", k)
		}
		v[k] = p
	}
	set := func(name string, given bool, value any) {
		if given {
			v[name] = value
		}
	}
	set("id", n.ID != "", n.ID)
	set("name", n.Name != nil, stringValue(n.Name))
	set("container_format", n.ContainerFormat != nil, stringValue(n.ContainerFormat))
	set("disk_format", n.DiskFormat != nil, stringValue(n.DiskFormat))
	set("visibility", n.Visibility != "", n.Visibility)
	set("protected", n.Protected, true)
	set("os_hidden", n.OSHidden, true)
	set("owner", n.OwnerSet, stringValue(n.Owner))
	set("min_ram", n.MinRAM != 0, n.MinRAM)
	set("min_disk", n.MinDisk != 0, n.MinDisk)
	set("tags", n.Tags != nil, n.Tags)
	return v, nil
}

// stringValue is p as SetProperty reads it: a string, or nil.
func stringValue(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

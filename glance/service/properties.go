package service

import (
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"unicode/utf8"

	"imagestack/glance"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// setProperty validates value (decoded JSON) for name and writes it into im.
// It enforces the image schema; read-only, reserved and os_glance_*
// attributes are refused with 403 by the callers before this.
func setProperty(im *glance.Image, name string, value any) error {
	bad := func(format string, args ...any) error { return glance.Errorf(glance.ErrBadRequest, format, args...) }
	optString := func(max int) (*string, error) {
		if value == nil {
			return nil, nil
		}
		s, ok := value.(string)
		if !ok {
			return nil, bad("Invalid value for '%s': %v is not of type 'null', 'string'", name, jsonText(value))
		}
		if utf8.RuneCountInString(s) > max {
			return nil, bad("Invalid value for '%s': it is longer than %d characters", name, max)
		}
		return &s, nil
	}
	enum := func(allowed []string) (*string, error) {
		s, err := optString(255)
		if err != nil {
			return nil, err
		}
		if s != nil && !slices.Contains(allowed, *s) {
			return nil, bad("Invalid value '%s' for '%s': must be one of %v", *s, name, allowed)
		}
		return s, nil
	}
	boolean := func() (bool, error) {
		b, ok := value.(bool)
		if !ok {
			return false, bad("Invalid value for '%s': %v is not of type 'boolean'", name, jsonText(value))
		}
		return b, nil
	}
	nonNegInt := func() (int, error) {
		n, ok := value.(json.Number)
		if !ok {
			return 0, bad("Invalid value for '%s': %v is not of type 'integer'", name, jsonText(value))
		}
		v, err := n.Int64()
		if err != nil || v < 0 || v > math.MaxInt32 {
			return 0, bad("Invalid value for '%s': %s must be an integer between 0 and %d", name, n, math.MaxInt32)
		}
		return int(v), nil
	}
	var err error
	switch name {
	case "id":
		s, ok := value.(string)
		if !ok || !uuidPattern.MatchString(s) {
			return bad("Invalid value for 'id': %v does not match the UUID pattern", jsonText(value))
		}
		im.ID = s
	case "name":
		im.Name, err = optString(255)
	case "owner":
		im.Owner, err = optString(255)
	case "visibility":
		var v *string
		v, err = enum(glance.Visibilities)
		if err == nil && v == nil {
			err = bad("Invalid value for 'visibility': null is not one of %v", glance.Visibilities)
		}
		if err == nil {
			im.Visibility = *v
		}
	case "protected":
		im.Protected, err = boolean()
	case "os_hidden":
		im.OSHidden, err = boolean()
	case "container_format":
		im.ContainerFormat, err = enum(glance.ContainerFormats)
	case "disk_format":
		im.DiskFormat, err = enum(glance.DiskFormats)
	case "min_ram":
		im.MinRAM, err = nonNegInt()
	case "min_disk":
		im.MinDisk, err = nonNegInt()
	case "tags":
		list, ok := value.([]any)
		if !ok {
			return bad("Invalid value for 'tags': %v is not of type 'array'", jsonText(value))
		}
		tags := []string{}
		for _, t := range list {
			s, ok := t.(string)
			if !ok {
				return bad("Invalid value for 'tags': %v is not of type 'string'", jsonText(t))
			}
			if err := checkTag(s); err != nil {
				return err
			}
			if !slices.Contains(tags, s) {
				tags = append(tags, s)
			}
		}
		slices.Sort(tags)
		im.Tags = tags
	case "kernel_id", "ramdisk_id":
		// Base properties of Glance's schema: a UUID, or null to unset.
		if value == nil {
			delete(im.Properties, name)
			return nil
		}
		s, ok := value.(string)
		if !ok || !uuidPattern.MatchString(s) {
			return bad("Invalid value for '%s': %v does not match the UUID pattern", name, jsonText(value))
		}
		im.Properties[name] = s
	case "cinder_encryption_key_deletion_policy":
		s, ok := value.(string)
		if !ok || (s != "on_image_deletion" && s != "do_not_delete") {
			return bad("Invalid value for '%s': must be on_image_deletion or do_not_delete", name)
		}
		im.Properties[name] = s
	default:
		if utf8.RuneCountInString(name) > 255 || name == "" {
			return bad("Invalid property name '%s'", name)
		}
		s, ok := value.(string)
		if !ok {
			return bad("Invalid value for '%s': %v is not of type 'string'", name, jsonText(value))
		}
		if len(s) > maxPropertyValue {
			return bad("Invalid value for '%s': it is longer than %d bytes", name, maxPropertyValue)
		}
		if im.Properties == nil {
			im.Properties = map[string]string{}
		}
		im.Properties[name] = s
	}
	return err
}

func checkTag(s string) error {
	if utf8.RuneCountInString(s) > 255 {
		return glance.Errorf(glance.ErrBadRequest, "Invalid tag: it is longer than 255 characters")
	}
	return nil
}

// forbiddenAttribute answers a client trying to write a protected attribute,
// in Glance's words.
func forbiddenAttribute(name string) error {
	if glance.IsReserved(name) {
		return glance.Errorf(glance.ErrForbidden, "Attribute '%s' is reserved.", name)
	}
	return glance.Errorf(glance.ErrForbidden, "Attribute '%s' is read-only.", name)
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

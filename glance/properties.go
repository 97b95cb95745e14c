package glance

import (
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxPropertyValue bounds one extra property's value, in bytes: what a
// MySQL TEXT column holds.
const MaxPropertyValue = 65535

// Attribute is one row of the image schema: how clients may write one
// attribute of an image. Names absent from the table are extra properties
// (a string of at most MaxPropertyValue bytes).
type Attribute struct {
	// Core attributes are the image's own fields: never removed, and never
	// added by the v2.0 PATCH dialect (they always exist).
	Core bool
	// ReadOnly attributes are the service's own (403 "read-only").
	ReadOnly bool
	// Reserved attributes are kept for the service's use and may not be
	// extra properties either (403 "reserved").
	Reserved bool
	// CreateOnly attributes may be given at creation only (the id).
	CreateOnly bool
	// AdminOnly attributes are changed by admins only, even to the same
	// value, as in Glance (the owner).
	AdminOnly bool
	// QueuedOnly attributes describe data being (or once) inspected: they
	// change only before any data arrives (the formats).
	QueuedOnly bool
	// set checks a decoded JSON value (numbers as json.Number) and writes it.
	set func(im *Image, name string, value any) error
}

// imageSchema is the table of named attributes; see Attribute.
var imageSchema = map[string]Attribute{
	"id":               {Core: true, CreateOnly: true, set: setID},
	"name":             {Core: true, set: optString(func(im *Image) **string { return &im.Name })},
	"owner":            {Core: true, AdminOnly: true, set: optString(func(im *Image) **string { return &im.Owner })},
	"visibility":       {Core: true, set: setVisibility},
	"protected":        {Core: true, set: boolean(func(im *Image) *bool { return &im.Protected })},
	"os_hidden":        {Core: true, set: boolean(func(im *Image) *bool { return &im.OSHidden })},
	"container_format": {Core: true, QueuedOnly: true, set: optEnum(ContainerFormats, func(im *Image) **string { return &im.ContainerFormat })},
	"disk_format":      {Core: true, QueuedOnly: true, set: optEnum(DiskFormats, func(im *Image) **string { return &im.DiskFormat })},
	"min_ram":          {Core: true, set: count(func(im *Image) *int { return &im.MinRAM })},
	"min_disk":         {Core: true, set: count(func(im *Image) *int { return &im.MinDisk })},
	"tags":             {Core: true, set: setTags},
	"status":           {Core: true, ReadOnly: true},
	"checksum":         {Core: true, ReadOnly: true},
	"os_hash_algo":     {Core: true, ReadOnly: true},
	"os_hash_value":    {Core: true, ReadOnly: true},
	"size":             {Core: true, ReadOnly: true},
	"virtual_size":     {Core: true, ReadOnly: true},
	"created_at":       {Core: true, ReadOnly: true},
	"updated_at":       {Core: true, ReadOnly: true},
	"self":             {ReadOnly: true},
	"file":             {ReadOnly: true},
	"schema":           {ReadOnly: true},
	"location":         {Reserved: true},
	"locations":        {Reserved: true},
	"deleted":          {Reserved: true},
	"deleted_at":       {Reserved: true},
	"direct_url":       {Reserved: true},
	"stores":           {Reserved: true},
	// Base properties of Glance's schema, stored as extra properties.
	"kernel_id":                             {set: optUUIDProperty},
	"ramdisk_id":                            {set: optUUIDProperty},
	"cinder_encryption_key_deletion_policy": {set: choiceProperty("on_image_deletion", "do_not_delete")},
}

// AttributeOf returns the schema row of name (the zero Attribute, an extra
// property, when the table does not name it). The os_glance_ namespace is
// reserved.
func AttributeOf(name string) Attribute {
	if a, ok := imageSchema[name]; ok {
		return a
	}
	if strings.HasPrefix(name, "os_glance") {
		return Attribute{Reserved: true}
	}
	return Attribute{}
}

// IsReserved reports whether name is kept for the service's own use.
func IsReserved(name string) bool { return AttributeOf(name).Reserved }

// IsCore reports whether name is one of the image's own fields.
func IsCore(name string) bool { return AttributeOf(name).Core }

// IsForbidden reports whether clients may never write name: read-only and
// reserved attributes, and the os_glance_ namespace Glance keeps for itself.
func IsForbidden(name string) bool {
	a := AttributeOf(name)
	return a.ReadOnly || a.Reserved
}

// ForbiddenAttribute answers a client trying to write a protected
// attribute, in Glance's words.
func ForbiddenAttribute(name string) error {
	if IsReserved(name) {
		return Errorf(ErrForbidden, "Attribute '%s' is reserved.", name)
	}
	return Errorf(ErrForbidden, "Attribute '%s' is read-only.", name)
}

// SetProperty validates value for name and writes it into im, by the image
// schema. value is decoded JSON (numbers as json.Number, as a PATCH brings
// them) or the Go value of the field (string, bool, int, []string, nil). Read-only, reserved and
// os_glance_* attributes must be refused (ForbiddenAttribute) before this.
func SetProperty(im *Image, name string, value any) error {
	if set := AttributeOf(name).set; set != nil {
		return set(im, name, value)
	}
	return setExtraProperty(im, name, value)
}

// CheckTag refuses a tag longer than Glance's schema allows.
func CheckTag(s string) error {
	if utf8.RuneCountInString(s) > 255 {
		return Errorf(ErrBadRequest, "Invalid tag: it is longer than 255 characters")
	}
	return nil
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func bad(format string, args ...any) error { return Errorf(ErrBadRequest, format, args...) }

// stringOrNull reads a string of at most max characters, or null.
func stringOrNull(name string, value any, max int) (*string, error) {
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

// enumOrNull reads one of allowed, or null.
func enumOrNull(name string, value any, allowed []string) (*string, error) {
	s, err := stringOrNull(name, value, 255)
	if err != nil {
		return nil, err
	}
	if s != nil && !slices.Contains(allowed, *s) {
		return nil, bad("Invalid value '%s' for '%s': must be one of %v", *s, name, allowed)
	}
	return s, nil
}

func optString(field func(*Image) **string) func(*Image, string, any) error {
	return func(im *Image, name string, value any) error {
		s, err := stringOrNull(name, value, 255)
		if err == nil {
			*field(im) = s
		}
		return err
	}
}

func optEnum(allowed []string, field func(*Image) **string) func(*Image, string, any) error {
	return func(im *Image, name string, value any) error {
		s, err := enumOrNull(name, value, allowed)
		if err == nil {
			*field(im) = s
		}
		return err
	}
}

func boolean(field func(*Image) *bool) func(*Image, string, any) error {
	return func(im *Image, name string, value any) error {
		b, ok := value.(bool)
		if !ok {
			return bad("Invalid value for '%s': %v is not of type 'boolean'", name, jsonText(value))
		}
		*field(im) = b
		return nil
	}
}

// count reads an integer between 0 and 2^31-1 (Glance's column type): a
// json.Number, or an int (NewImage's fields).
func count(field func(*Image) *int) func(*Image, string, any) error {
	return func(im *Image, name string, value any) error {
		if i, ok := value.(int); ok {
			value = json.Number(strconv.Itoa(i))
		}
		n, ok := value.(json.Number)
		if !ok {
			return bad("Invalid value for '%s': %v is not of type 'integer'", name, jsonText(value))
		}
		v, err := n.Int64()
		if err != nil || v < 0 || v > math.MaxInt32 {
			return bad("Invalid value for '%s': %s must be an integer between 0 and %d", name, n, math.MaxInt32)
		}
		*field(im) = int(v)
		return nil
	}
}

func setID(im *Image, name string, value any) error {
	s, ok := value.(string)
	if !ok || !uuidPattern.MatchString(s) {
		return bad("Invalid value for 'id': %v does not match the UUID pattern", jsonText(value))
	}
	im.ID = s
	return nil
}

func setVisibility(im *Image, name string, value any) error {
	v, err := enumOrNull(name, value, Visibilities)
	if err == nil && v == nil {
		err = bad("Invalid value for 'visibility': null is not one of %v", Visibilities)
	}
	if err == nil {
		im.Visibility = *v
	}
	return err
}

// setTags replaces the tags, unique and sorted: a JSON array, or a
// []string (NewImage's field).
func setTags(im *Image, name string, value any) error {
	if strs, ok := value.([]string); ok {
		value = toAny(strs)
	}
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
		if err := CheckTag(s); err != nil {
			return err
		}
		if !slices.Contains(tags, s) {
			tags = append(tags, s)
		}
	}
	slices.Sort(tags)
	im.Tags = tags
	return nil
}

// optUUIDProperty is a UUID-valued property (kernel_id, ramdisk_id): null
// unsets it.
func optUUIDProperty(im *Image, name string, value any) error {
	if value == nil {
		delete(im.Properties, name)
		return nil
	}
	s, ok := value.(string)
	if !ok || !uuidPattern.MatchString(s) {
		return bad("Invalid value for '%s': %v does not match the UUID pattern", name, jsonText(value))
	}
	im.Properties[name] = s
	return nil
}

// choiceProperty is a property with two allowed values.
func choiceProperty(a, b string) func(*Image, string, any) error {
	return func(im *Image, name string, value any) error {
		s, ok := value.(string)
		if !ok || (s != a && s != b) {
			return bad("Invalid value for '%s': must be %s or %s", name, a, b)
		}
		im.Properties[name] = s
		return nil
	}
}

func setExtraProperty(im *Image, name string, value any) error {
	if utf8.RuneCountInString(name) > 255 || name == "" {
		return bad("Invalid property name '%s'", name)
	}
	s, ok := value.(string)
	if !ok {
		return bad("Invalid value for '%s': %v is not of type 'string'", name, jsonText(value))
	}
	if len(s) > MaxPropertyValue {
		return bad("Invalid value for '%s': it is longer than %d bytes", name, MaxPropertyValue)
	}
	if im.Properties == nil {
		im.Properties = map[string]string{}
	}
	im.Properties[name] = s
	return nil
}

func toAny(strs []string) []any {
	out := make([]any, len(strs))
	for i, s := range strs {
		out[i] = s
	}
	return out
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

package compute

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Server tags (Nova 2.26): a server has at most MaxServerTags, each of 1
// to MaxTagLength characters and without '/' or ',' (the list filters
// split on commas; the API's paths on slashes).
const (
	MaxServerTags = 50
	MaxTagLength  = 60
)

// ValidTag reports whether t may be a server tag.
func ValidTag(t string) bool {
	n := utf8.RuneCountInString(t)
	return n >= 1 && n <= MaxTagLength && !strings.ContainsAny(t, "/,")
}

// SortKey is one key of a server listing's order: a Nova sort key name
// (ServerSortKeys) and its direction.
type SortKey struct {
	Key  string
	Desc bool
}

// ServerSortKeys are the Nova sort keys a ServerRepository orders by,
// each a field of Server: display_name (Name), uuid (ID), image_ref,
// instance_type_id (FlavorID) and the fields named as Nova's columns.
// Nova's other keys (host, node, kernel_id, progress, ...) have the same
// value for every server here and order nothing.
var ServerSortKeys = []string{
	"access_ip_v4", "access_ip_v6", "availability_zone", "config_drive", "created_at", "display_name",
	"hostname", "image_ref", "instance_type_id", "key_name", "launch_index", "locked", "locked_by",
	"power_state", "project_id", "task_state", "updated_at", "user_id", "uuid", "vm_state",
}

// ServerFilterMore are the filters of a server listing beyond Nova 2.1's
// first few (ServerFilter embeds them).
type ServerFilterMore struct {
	// Sort orders the listing, first key first. The repository ends it
	// with created_at and uuid, in the first key's direction, unless they
	// are among the keys (Nova's process_sort_params); none is created_at
	// and uuid descending.
	Sort []SortKey
	// UserID "" = any user.
	UserID string
	// Deleted: nil lists live servers, or live and deleted ones when
	// ChangesSince or ChangesBefore is set (Nova); true deleted servers
	// only; false live servers only.
	Deleted *bool
	// ChangesBefore: updated at or before.
	ChangesBefore *time.Time
	// Tags: every one of them; TagsAny: at least one; NotTags: not every
	// one of them; NotTagsAny: none of them (Nova 2.26).
	Tags, TagsAny, NotTags, NotTagsAny []string
	// Locked and ConfigDrive nil = either.
	Locked, ConfigDrive *bool
	// KeyName is a regular expression as Name.
	KeyName string
	// Host "" = any: the compute host the servers were placed on.
	Host string
	// IP and IP6 are regular expressions one of the server's IPv4 (IP) or
	// IPv6 (IP6) addresses must match from its start (Nova's re.match).
	IP, IP6 string
}

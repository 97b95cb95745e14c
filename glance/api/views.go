package api

import (
	"strings"
	"time"

	"imagestack/glance"
	"imagestack/glance/service"
)

// glanceTime is Glance's timestamp format.
func glanceTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// imageBody is an image as Glance shows it (gophercloud's images.Image):
// every core field present, null when unset, and the extra properties
// flattened into the same object.
type imageBody struct {
	ID              string   `json:"id"`
	Name            *string  `json:"name"`
	Status          string   `json:"status"`
	Visibility      string   `json:"visibility"`
	Protected       bool     `json:"protected"`
	OSHidden        bool     `json:"os_hidden"`
	Checksum        *string  `json:"checksum"`
	OSHashAlgo      *string  `json:"os_hash_algo"`
	OSHashValue     *string  `json:"os_hash_value"`
	Owner           *string  `json:"owner"`
	Size            *int64   `json:"size"`
	VirtualSize     *int64   `json:"virtual_size"`
	ContainerFormat *string  `json:"container_format"`
	DiskFormat      *string  `json:"disk_format"`
	MinRAM          int      `json:"min_ram"`
	MinDisk         int      `json:"min_disk"`
	CreatedAt       string   `json:"created_at"`
	UpdatedAt       string   `json:"updated_at"`
	Tags            []string `json:"tags"`
	Self            string   `json:"self"`
	File            string   `json:"file"`
	Schema          string   `json:"schema"`
	// Stores lists the stores holding the data, only with several stores.
	Stores string `json:"stores,omitempty"`
	// Locations (show_multiple_locations: an empty list for callers not
	// allowed to see them) and DirectURL (show_image_direct_url).
	Locations *[]locationBody `json:"locations,omitempty"`
	DirectURL string          `json:"direct_url,omitempty"`
	// Properties are the extra properties (MarshalJSON flattens them).
	Properties map[string]string `json:"-"`
}

// imageFields are the keys imageBody always writes: an extra property of
// the same name is not shown (the image's own field wins).
var imageFields = []string{"id", "name", "status", "visibility", "protected", "os_hidden", "checksum",
	"os_hash_algo", "os_hash_value", "owner", "size", "virtual_size", "container_format", "disk_format",
	"min_ram", "min_disk", "created_at", "updated_at", "tags", "self", "file", "schema"}

// MarshalJSON writes the core fields, then the extra properties in the same
// object, as Glance flattens them (see appendJSON).
func (b imageBody) MarshalJSON() ([]byte, error) { return b.appendJSON(nil), nil }

// view is the image as this API shows it.
func (a *API) view(im *glance.Image) imageBody { return renderImage(im, a.svc.MultiStore()) }

// renderImage renders an image; with several stores, it names the stores
// holding the data.
func renderImage(im *glance.Image, multiStore bool) imageBody {
	tags := im.Tags
	if tags == nil {
		tags = []string{}
	}
	b := imageBody{
		ID: im.ID, Name: im.Name, Status: im.Status, Visibility: im.Visibility, Protected: im.Protected,
		OSHidden: im.OSHidden, Checksum: im.Checksum, OSHashAlgo: im.OSHashAlgo, OSHashValue: im.OSHashValue,
		Owner: im.Owner, Size: im.Size, VirtualSize: im.VirtualSize, ContainerFormat: im.ContainerFormat,
		DiskFormat: im.DiskFormat, MinRAM: im.MinRAM, MinDisk: im.MinDisk,
		CreatedAt: glanceTime(im.CreatedAt), UpdatedAt: glanceTime(im.UpdatedAt), Tags: tags,
		Self: "/v2/images/" + im.ID, File: "/v2/images/" + im.ID + "/file", Schema: "/v2/schemas/image",
		Properties: im.Properties,
	}
	if multiStore {
		b.Stores = strings.Join(im.ActiveStores(), ",")
	}
	return b
}

// imageList is one page of GET /v2/images.
type imageList struct {
	Images []imageBody `json:"images"`
	First  string      `json:"first"`
	// Next is the link to the following page, only after a full page.
	Next   string `json:"next,omitempty"`
	Schema string `json:"schema"`
}

// MarshalJSON writes the page (see appendJSON).
func (l imageList) MarshalJSON() ([]byte, error) { return l.appendJSON(nil), nil }

// memberBody is a membership (gophercloud's members.Member).
type memberBody struct {
	ImageID   string `json:"image_id"`
	MemberID  string `json:"member_id"`
	Status    string `json:"status"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
	Schema    string `json:"schema"`
}

// memberView renders a membership.
func memberView(m glance.Member) memberBody {
	return memberBody{ImageID: m.ImageID, MemberID: m.MemberID, Status: m.Status,
		CreatedAt: glanceTime(m.CreatedAt), UpdatedAt: glanceTime(m.UpdatedAt), Schema: "/v2/schemas/member"}
}

// memberList is GET /v2/images/{id}/members.
type memberList struct {
	Members []memberBody `json:"members"`
	Schema  string       `json:"schema"`
}

// taskTime is the format of timestamps in GET /v2/images/{id}/tasks: no
// zone, as Glance dumps its rows there (GET /v2/tasks uses glanceTime).
func taskTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

// taskBody is a task of GET /v2/images/{id}/tasks, where Glance shows the
// whole row. Input and Result are the documents the task recorded; Glance
// never shows deleted tasks, so deleted is always false and deleted_at
// null. GET /v2/tasks shows tasks otherwise (taskDetail, taskStub).
type taskBody struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Status    string         `json:"status"`
	Owner     string         `json:"owner"`
	ImageID   string         `json:"image_id"`
	RequestID string         `json:"request_id"`
	UserID    string         `json:"user_id"`
	Input     map[string]any `json:"input"`
	Result    map[string]any `json:"result"`
	Message   string         `json:"message"`
	CreatedAt string         `json:"created_at"`
	UpdatedAt string         `json:"updated_at"`
	ExpiresAt *string        `json:"expires_at"`
	Deleted   bool           `json:"deleted"`
	DeletedAt *string        `json:"deleted_at"`
	Self      string         `json:"self"`
	Schema    string         `json:"schema"`
}

func taskView(t *glance.Task) taskBody {
	b := taskBody{ID: t.ID, Type: t.Type, Status: t.Status, Owner: t.Owner, ImageID: t.ImageID,
		RequestID: t.RequestID, UserID: t.UserID, Input: t.Input, Result: t.Result, Message: t.Message,
		CreatedAt: taskTime(t.CreatedAt), UpdatedAt: taskTime(t.UpdatedAt),
		Self: "/v2/tasks/" + t.ID, Schema: "/v2/schemas/task"}
	if t.ExpiresAt != nil {
		at := taskTime(*t.ExpiresAt)
		b.ExpiresAt = &at
	}
	return b
}

// taskList is GET /v2/images/{id}/tasks.
type taskList struct {
	Tasks []taskBody `json:"tasks"`
}

// storeBody is one store of /v2/info/stores; type and properties only in
// the detail.
type storeBody struct {
	ID          string `json:"id"`
	Description string `json:"description,omitempty"`
	// Default is "true" on the default store: a string, as Glance sends it.
	Default    string         `json:"default,omitempty"`
	Type       *string        `json:"type,omitempty"`
	Properties map[string]any `json:"properties,omitzero"`
}

// storeList is GET /v2/info/stores{,/detail}.
type storeList struct {
	Stores []storeBody `json:"stores"`
}

// storesView renders /v2/info/stores{,/detail}.
func storesView(infos []service.StoreInfo, def string, detail bool) storeList {
	out := make([]storeBody, len(infos))
	for i, in := range infos {
		st := storeBody{ID: in.ID, Description: in.Description}
		if in.ID == def {
			st.Default = "true"
		}
		if detail {
			st.Type, st.Properties = &in.Type, in.Properties
			if st.Properties == nil {
				st.Properties = map[string]any{}
			}
		}
		out[i] = st
	}
	return storeList{Stores: out}
}

// importInfo is GET /v2/info/import.
type importInfo struct {
	ImportMethods struct {
		Description string   `json:"description"`
		Type        string   `json:"type"`
		Value       []string `json:"value"`
	} `json:"import-methods"`
}

// usageBody is GET /v2/info/usage: each limited resource's limit (-1:
// unlimited) and usage, sizes in MiB.
type usageBody struct {
	Usage map[string]usageView `json:"usage"`
}

type usageView struct {
	Limit int64 `json:"limit"`
	Usage int64 `json:"usage"`
}

package glance

import (
	"context"
	"time"
)

// Metadata definitions (Glance's metadefs) are catalogs of the properties
// clients may set on images, flavors, volumes and other resources: Horizon's
// "Update Metadata" dialogs offer them. A namespace holds property
// definitions, objects (named groups of properties) and tags, and is
// associated with resource types (OS::Glance::Image, OS::Nova::Flavor, ...),
// each association possibly prefixing the property names.

// MetadefNamespace is one namespace, without its contents.
type MetadefNamespace struct {
	Namespace   string // unique name, at most 80 characters
	DisplayName *string
	Description *string
	Visibility  string // public or private
	Protected   bool   // a protected namespace and its contents cannot be deleted
	Owner       string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Associations are the resource types the namespace applies to (Get
	// and List fill them).
	Associations []MetadefAssociation
}

// MetadefAssociation ties a namespace to a resource type.
type MetadefAssociation struct {
	Name             string // the resource type, e.g. OS::Glance::Image
	Prefix           string // prepended to property names on that resource type
	PropertiesTarget string // e.g. "image" for Cinder volume image metadata
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// MetadefResourceType is a kind of resource namespaces apply to.
type MetadefResourceType struct {
	Name      string
	Protected bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MetadefKind names what a namespace contains besides associations.
type MetadefKind string

// The kinds of namespace contents.
const (
	MetadefProperties MetadefKind = "property"
	MetadefObjects    MetadefKind = "object"
	MetadefTags       MetadefKind = "tag"
)

// MetadefEntry is one stored property, object or tag of a namespace: its
// name and, for properties and objects, its definition as JSON (the
// service owns the shape). Names are unique within a namespace and kind;
// tag names case-insensitively, as in Glance.
type MetadefEntry struct {
	Name      string
	Body      []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MetadefNamespaceQuery is a validated namespace list request.
type MetadefNamespaceQuery struct {
	// The caller: non-admins see public namespaces and their project's own.
	ProjectID string
	IsAdmin   bool

	Visibility    string   // "", public or private
	ResourceTypes []string // namespaces associated with any of them
	SortKey       string   // a column of MetadefSortKeys
	SortDesc      bool
	Limit         int
	Marker        string // name of the last namespace of the previous page
}

// MetadefSortKeys are the keys namespaces can be sorted by.
var MetadefSortKeys = []string{"created_at", "updated_at", "namespace", "display_name", "visibility", "protected", "owner"}

// MetadefContents are what a new namespace is created with.
type MetadefContents struct {
	Associations []MetadefAssociation
	Entries      map[MetadefKind][]MetadefEntry
}

// MetadefRepository persists metadata definitions. Namespaces are named by
// their unique name; ErrNotFound when a named namespace (or entry,
// association) is absent, ErrConflict when a name is taken. Every method
// that writes several rows writes all or none.
type MetadefRepository interface {
	// CreateNamespace stores a namespace with its initial contents; resource
	// types named by the associations are created when missing.
	CreateNamespace(ctx context.Context, ns *MetadefNamespace, c MetadefContents) error
	// GetNamespace returns a namespace with its associations, oldest first.
	GetNamespace(ctx context.Context, name string) (*MetadefNamespace, error)
	// ListNamespaces returns one page in the query's order, with
	// associations. An unknown marker is ErrNotFound.
	ListNamespaces(ctx context.Context, q MetadefNamespaceQuery) ([]*MetadefNamespace, error)
	// UpdateNamespace replaces the fields of the namespace called name
	// (ns.Namespace may rename it; its contents follow).
	UpdateNamespace(ctx context.Context, name string, ns *MetadefNamespace) error
	// DeleteNamespace removes a namespace, its contents and associations.
	DeleteNamespace(ctx context.Context, name string) error

	// ListResourceTypes returns every resource type, oldest first.
	ListResourceTypes(ctx context.Context) ([]MetadefResourceType, error)
	// Associate adds an association to a namespace, creating the resource
	// type when missing; ErrConflict when it exists.
	Associate(ctx context.Context, namespace string, a MetadefAssociation) error
	// Dissociate removes an association; ErrNotFound when absent.
	Dissociate(ctx context.Context, namespace, resourceType string) error

	// ListEntries returns a namespace's entries of a kind, oldest first.
	ListEntries(ctx context.Context, namespace string, kind MetadefKind) ([]MetadefEntry, error)
	// GetEntry returns one entry.
	GetEntry(ctx context.Context, namespace string, kind MetadefKind, name string) (MetadefEntry, error)
	// CreateEntries adds entries; with replace, the kind's other entries
	// are removed first (tag create-multiple without append).
	CreateEntries(ctx context.Context, namespace string, kind MetadefKind, es []MetadefEntry, replace bool) error
	// UpdateEntry replaces the entry called name (e.Name may rename it).
	UpdateEntry(ctx context.Context, namespace string, kind MetadefKind, name string, e MetadefEntry) error
	// DeleteEntry removes one entry.
	DeleteEntry(ctx context.Context, namespace string, kind MetadefKind, name string) error
	// DeleteEntries removes every entry of a kind from a namespace.
	DeleteEntries(ctx context.Context, namespace string, kind MetadefKind) error
}

package api

import (
	"net/http"

	"imagestack/policy/keystone"
)

// The response bodies of the identity API, in the shape of gophercloud v2's
// identity results (openstack/identity/v3/*/results.go). Fields that are
// always null here (Keystone features this subset does not have) are
// pointers left nil; `omitempty`/`omitzero` marks what Keystone leaves out.
// The bodies are pinned by TestWireBodies (testdata/views).

// selfLinks is the "links" object of one resource.
type selfLinks struct {
	Self string `json:"self"`
}

// listLinks is the "links" object of every list: the identity API does not
// page, so previous and next are always null.
type listLinks struct {
	Self     string  `json:"self"`
	Previous *string `json:"previous"`
	Next     *string `json:"next"`
}

// ref is an id with a name, as tokens and named role assignments carry
// their user, project, domain and roles.
type ref struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// options are Keystone's resource options: free-form, always empty here.
type options map[string]any

// domainView is a domain (gophercloud domains.Domain).
type domainView struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Enabled     bool      `json:"enabled"`
	Tags        []string  `json:"tags"`
	Options     options   `json:"options"`
	Links       selfLinks `json:"links"`
}

// projectView is a project (gophercloud projects.Project); every project's
// parent is its domain, as hierarchies are not supported.
type projectView struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	DomainID    string    `json:"domain_id"`
	Description string    `json:"description"`
	Enabled     bool      `json:"enabled"`
	ParentID    string    `json:"parent_id"`
	IsDomain    bool      `json:"is_domain"`
	Tags        []string  `json:"tags"`
	Options     options   `json:"options"`
	Links       selfLinks `json:"links"`
}

// userView is a user (gophercloud users.User); the optional attributes are
// left out when empty, as Keystone leaves out extra attributes never set.
type userView struct {
	ID                string    `json:"id"`
	Name              string    `json:"name"`
	DomainID          string    `json:"domain_id"`
	Enabled           bool      `json:"enabled"`
	PasswordExpiresAt *string   `json:"password_expires_at"`
	Options           options   `json:"options"`
	Links             selfLinks `json:"links"`
	DefaultProjectID  string    `json:"default_project_id,omitempty"`
	Email             string    `json:"email,omitempty"`
	Description       string    `json:"description,omitempty"`
}

// roleView is a role (gophercloud roles.Role); roles are never
// domain-specific here, so domain_id is null.
type roleView struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	DomainID    *string   `json:"domain_id"`
	Description string    `json:"description"`
	Options     options   `json:"options"`
	Links       selfLinks `json:"links"`
}

// tokenView is a token body (gophercloud tokens: User, Project, Domain,
// Roles, ServiceCatalog, ExpiresAt, IssuedAt). A project-scoped token has a
// project and is_domain, a domain-scoped one a domain; only scoped tokens
// carry roles and (unless ?nocatalog) the catalog.
type tokenView struct {
	Methods   []string                `json:"methods"`
	User      tokenUser               `json:"user"`
	AuditIDs  []string                `json:"audit_ids"`
	ExpiresAt string                  `json:"expires_at"`
	IssuedAt  string                  `json:"issued_at"`
	Project   *tokenProject           `json:"project,omitempty"`
	IsDomain  *bool                   `json:"is_domain,omitempty"`
	Domain    *ref                    `json:"domain,omitempty"`
	Roles     []ref                   `json:"roles,omitzero"`
	Catalog   []keystone.CatalogEntry `json:"catalog,omitzero"`
}

// tokenUser is the user a token was issued to.
type tokenUser struct {
	ID                string  `json:"id"`
	Name              string  `json:"name"`
	Domain            ref     `json:"domain"`
	PasswordExpiresAt *string `json:"password_expires_at"`
}

// tokenProject is the project a token is scoped to.
type tokenProject struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Domain ref    `json:"domain"`
}

// assignmentView is one entry of /v3/role_assignments (gophercloud
// roles.RoleAssignment); names and domains appear with include_names only.
type assignmentView struct {
	Role  assignee        `json:"role"`
	User  assignee        `json:"user"`
	Scope assignmentScope `json:"scope"`
	Links assignmentLinks `json:"links"`
}

// assignee is the role, user or target of an assignment.
type assignee struct {
	ID     string  `json:"id"`
	Name   *string `json:"name,omitempty"`
	Domain *ref    `json:"domain,omitempty"`
}

// assignmentScope holds the one target of an assignment.
type assignmentScope struct {
	Project *assignee `json:"project,omitempty"`
	Domain  *assignee `json:"domain,omitempty"`
}

// assignmentLinks point at the grant an assignment comes from; prior_role
// is there when the role is implied by another.
type assignmentLinks struct {
	Assignment string `json:"assignment"`
	PriorRole  string `json:"prior_role,omitempty"`
}

// serviceView is one service of /v3/services.
type serviceView struct {
	ID      string    `json:"id"`
	Type    string    `json:"type"`
	Name    string    `json:"name"`
	Enabled bool      `json:"enabled"`
	Links   selfLinks `json:"links"`
}

// endpointView is one endpoint of /v3/endpoints.
type endpointView struct {
	ID        string    `json:"id"`
	Interface string    `json:"interface"`
	Region    string    `json:"region"`
	RegionID  string    `json:"region_id"`
	URL       string    `json:"url"`
	ServiceID string    `json:"service_id"`
	Enabled   bool      `json:"enabled"`
	Links     selfLinks `json:"links"`
}

// regionView is one region of /v3/regions; regions have no parents here.
type regionView struct {
	ID             string    `json:"id"`
	Description    string    `json:"description"`
	ParentRegionID *string   `json:"parent_region_id"`
	Links          selfLinks `json:"links"`
}

// versionView describes an API version in version discovery.
type versionView struct {
	ID         string        `json:"id"`
	Status     string        `json:"status"`
	Updated    string        `json:"updated"`
	Links      []versionLink `json:"links"`
	MediaTypes []mediaType   `json:"media-types"`
}

// versionLink is a link of a version document.
type versionLink struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// mediaType is a media type a version accepts.
type mediaType struct {
	Base string `json:"base"`
	Type string `json:"type"`
}

// errorView is Keystone's error body.
type errorView struct {
	Error errorDetail `json:"error"`
}

// errorDetail says what went wrong; title is the status text.
type errorDetail struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Title   string `json:"title"`
}

// collectionLinks is the "links" object of every Keystone list response.
func (a *API) collectionLinks(r *http.Request) listLinks {
	self := a.baseURL + r.URL.Path
	if r.URL.RawQuery != "" {
		self += "?" + r.URL.RawQuery
	}
	return listLinks{Self: self}
}

// selfLink links a resource at path.
func (a *API) selfLink(path string) selfLinks { return selfLinks{Self: a.baseURL + path} }

// registeredLimitView is one registered limit (/v3/registered_limits).
type registeredLimitView struct {
	ID           string    `json:"id"`
	ServiceID    string    `json:"service_id"`
	RegionID     *string   `json:"region_id"`
	ResourceName string    `json:"resource_name"`
	DefaultLimit int64     `json:"default_limit"`
	Description  *string   `json:"description"`
	Links        selfLinks `json:"links"`
}

// limitView is one project or domain limit (/v3/limits).
type limitView struct {
	ID            string    `json:"id"`
	ProjectID     *string   `json:"project_id"`
	DomainID      *string   `json:"domain_id"`
	ResourceLimit int64     `json:"resource_limit"`
	Description   *string   `json:"description"`
	ServiceID     string    `json:"service_id"`
	RegionID      *string   `json:"region_id"`
	ResourceName  string    `json:"resource_name"`
	Links         selfLinks `json:"links"`
}

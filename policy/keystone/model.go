// Package keystone is the embedded Keystone v3 subset: domains, projects, users,
// roles and role assignments kept in the metadata database, password and token
// authentication, and token validation for the other APIs.
package keystone

import (
	"context"
	"errors"
	"time"

	"imagestack/common/apierr"
)

// DefaultDomainID is the id of the domain every bootstrap entity lives in, as in
// Keystone ("default", named "Default").
const DefaultDomainID = "default"

// Domain is a Keystone domain.
type Domain struct {
	ID, Name, Description string
	Enabled               bool
}

// Project is a Keystone project (a tenant); it always belongs to a domain.
type Project struct {
	ID, Name, DomainID, Description string
	Enabled                         bool
	CreatedAt                       time.Time
}

// User is a local Keystone user. PasswordHash is never sent to clients.
type User struct {
	ID, Name, DomainID string
	DefaultProjectID   string
	Email, Description string
	Enabled            bool
	PasswordHash       string
	CreatedAt          time.Time
	// FailedAuthCount counts consecutive failed password logins and
	// FailedAuthAt is the time of the last one (zero when none): the state of
	// Keystone's lockout, changed only by RecordFailedAuth/ResetFailedAuth.
	FailedAuthCount int
	FailedAuthAt    time.Time
}

// Role is a global role (Keystone's domain-specific roles are not supported).
type Role struct {
	ID, Name, Description string
}

// Target types of a role assignment.
const (
	TargetProject = "project"
	TargetDomain  = "domain"
)

// Assignment grants RoleID to UserID on a project or a domain.
type Assignment struct {
	UserID, TargetType, TargetID, RoleID string
}

// TokenRecord is the persisted part of an issued token. Only a hash of the
// token id is stored, so a database dump yields no usable token.
type TokenRecord struct {
	Hash      string
	UserID    string
	ProjectID string // set for project-scoped tokens
	DomainID  string // set for domain-scoped tokens
	Methods   []string
	AuditIDs  []string // own audit id first, then the parent's (token method)
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// ProjectFilter narrows ListProjects; empty fields match everything.
type ProjectFilter struct {
	Name, DomainID string
	IDs            []string // when non-nil, only these ids
	Enabled        *bool
}

// UserFilter narrows ListUsers.
type UserFilter struct {
	Name, DomainID string
	Enabled        *bool
}

// AssignmentFilter narrows ListAssignments.
type AssignmentFilter struct {
	UserID, TargetType, TargetID, RoleID string
}

// Repository persists identity data. Implementations return errors wrapping
// ErrNotFound when an addressed entity is absent and ErrConflict when a unique
// constraint (an id, a name within its domain) would be violated; other errors
// are internal failures. All methods are safe for concurrent use.
type Repository interface {
	LimitRepository

	CreateDomain(ctx context.Context, d Domain) error
	GetDomain(ctx context.Context, id string) (Domain, error)
	// FindDomain looks a domain up by its unique name.
	FindDomain(ctx context.Context, name string) (Domain, error)
	ListDomains(ctx context.Context, name string) ([]Domain, error)

	CreateProject(ctx context.Context, p Project) error
	GetProject(ctx context.Context, id string) (Project, error)
	// FindProject looks a project up by name within a domain.
	FindProject(ctx context.Context, domainID, name string) (Project, error)
	// ListProjects returns matching projects ordered by name, then id.
	ListProjects(ctx context.Context, f ProjectFilter) ([]Project, error)
	// UpdateProject overwrites name, description and enabled of p.ID.
	UpdateProject(ctx context.Context, p Project) error
	// DeleteProject removes the project, its role assignments and the tokens scoped to it.
	DeleteProject(ctx context.Context, id string) error

	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, id string) (User, error)
	FindUser(ctx context.Context, domainID, name string) (User, error)
	ListUsers(ctx context.Context, f UserFilter) ([]User, error)
	// UpdateUser overwrites every mutable field of u.ID (name, default project,
	// email, description, enabled, password hash), never the failed-login state.
	UpdateUser(ctx context.Context, u User) error
	// RecordFailedAuth adds one to the user's failed-login count and sets the
	// time of the last failure to at, in one atomic update, so that concurrent
	// failures all count.
	RecordFailedAuth(ctx context.Context, userID string, at time.Time) error
	// ResetFailedAuth clears the user's failed-login count and time.
	ResetFailedAuth(ctx context.Context, userID string) error
	// DeleteUser removes the user, its role assignments and its tokens.
	DeleteUser(ctx context.Context, id string) error

	CreateRole(ctx context.Context, r Role) error
	GetRole(ctx context.Context, id string) (Role, error)
	FindRole(ctx context.Context, name string) (Role, error)
	ListRoles(ctx context.Context, name string) ([]Role, error)
	UpdateRole(ctx context.Context, r Role) error
	// DeleteRole removes the role and every assignment of it.
	DeleteRole(ctx context.Context, id string) error

	// AddAssignment grants a role; granting an existing assignment again succeeds.
	AddAssignment(ctx context.Context, a Assignment) error
	// RemoveAssignment revokes a role; ErrNotFound when it was not granted.
	RemoveAssignment(ctx context.Context, a Assignment) error
	ListAssignments(ctx context.Context, f AssignmentFilter) ([]Assignment, error)

	CreateToken(ctx context.Context, t TokenRecord) error
	GetToken(ctx context.Context, hash string) (TokenRecord, error)
	DeleteToken(ctx context.Context, hash string) error
	// DeleteUserTokens revokes every token of a user (password change, disable).
	DeleteUserTokens(ctx context.Context, userID string) error
	// DeleteExpiredTokens removes tokens that expired before t, returning how many.
	DeleteExpiredTokens(ctx context.Context, t time.Time) (int64, error)

	// Bootstrap runs fn with a Repository bound to one transaction and records, in
	// that same transaction, that the identity database has been bootstrapped.
	// Unless force is set it does nothing when that record already exists, and
	// reports whether fn ran. When fn fails nothing of it is kept, the record
	// included, so an interrupted first bootstrap runs again in full next time.
	// Concurrent callers are serialized: only one runs fn without force.
	Bootstrap(ctx context.Context, force bool, fn func(tx Repository) error) (ran bool, err error)
}

// Error kinds. Every error the service returns wraps one of them; the HTTP
// layer maps kinds to statuses in one table.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrBadRequest   = errors.New("validation failed")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	// ErrUnavailable: the identity database cannot be reached or did not
	// answer in time (503 with Retry-After; never mistaken for bad credentials).
	ErrUnavailable = errors.New("service unavailable")
	// ErrLockedOut marks (besides ErrUnauthorized) a login refused because
	// the account is locked after failed attempts; clients see only the
	// generic 401 text.
	ErrLockedOut = errors.New("account locked after failed logins")
)

// Error is an error of a given kind with the message clients see.
type Error = apierr.Error

// errorf builds an *Error of kind with a client-facing message.
func errorf(kind error, format string, args ...any) error { return apierr.New(kind, format, args...) }

// Message returns the client-facing message of err: the text of an *Error, or
// a generic text for anything else (internal details stay in the logs).
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return "Could not find the requested resource."
	case errors.Is(err, ErrConflict):
		return "Conflict occurred attempting to store the resource."
	case errors.Is(err, ErrUnauthorized):
		return "The request you have made requires authentication."
	case errors.Is(err, ErrForbidden):
		return "You are not authorized to perform the requested action."
	}
	return "An unexpected error prevented the server from fulfilling your request."
}

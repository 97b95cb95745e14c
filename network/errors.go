package network

import (
	"errors"
	"fmt"
)

// Error kinds of the network service; the network API maps them to HTTP
// statuses in one table.
var (
	ErrBadRequest  = errors.New("bad request")
	ErrForbidden   = errors.New("forbidden")
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("conflict")
	ErrUnavailable = errors.New("service unavailable")
)

// Error is a network service error: a kind, Neutron's exception name for
// it (the "type" of a NeutronError body, e.g. NetworkNotFound) and the
// message clients see.
type Error struct {
	Kind error
	Type string
	Msg  string
}

// Error returns the client-facing message.
func (e *Error) Error() string { return e.Msg }

// Unwrap returns the kind.
func (e *Error) Unwrap() error { return e.Kind }

// Errorf returns an *Error of kind named typ with a formatted message.
func Errorf(kind error, typ, format string, args ...any) error {
	return &Error{Kind: kind, Type: typ, Msg: fmt.Sprintf(format, args...)}
}

// NotFound is Neutron's <Resource>NotFound error, e.g. NotFound("Network",
// "network", id): "Network <id> could not be found.".
func NotFound(resource, id string) error {
	return Errorf(ErrNotFound, resource+"NotFound", "%s %s could not be found.", resourceWords[resource], id)
}

// resourceWords are the words Neutron's not-found messages start with.
var resourceWords = map[string]string{
	"Network": "Network", "Subnet": "Subnet", "Port": "Port", "SecurityGroup": "Security group",
	"SecurityGroupRule": "Security group rule",
}

// TypeOf is the Neutron exception name of err, "" when it has none.
func TypeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Type
	}
	return ""
}

// Message is the client-facing text of err; errors without one (internal
// ones) get a generic text, their details stay in the logs.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return "Request Failed: internal server error while processing your request."
}

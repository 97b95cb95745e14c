// Package apierr is the error shape every service layer returns: a kind (a
// sentinel the API family maps to a status in its one error table) and the
// message clients see.
package apierr

import (
	"errors"
	"fmt"
)

// Error is an error of a kind with a client-facing message.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

// New returns an *Error of kind with a formatted message.
func New(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Message returns the client-facing text of err, or fallback when err carries
// none (internal details stay in the logs).
func Message(err error, fallback string) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return fallback
}

package glance

import (
	"errors"
	"fmt"
)

// Error kinds. Every error of the image service wraps one of them; the image
// API turns kinds into statuses in one table.
var (
	ErrBadRequest    = errors.New("bad request")
	ErrForbidden     = errors.New("forbidden")
	ErrNotFound      = errors.New("not found")
	ErrConflict      = errors.New("conflict")
	ErrTooLarge      = errors.New("request entity too large")
	ErrGone          = errors.New("gone")
	ErrUnavailable   = errors.New("service unavailable")
	ErrUnsupported   = errors.New("unsupported media type")
	ErrUnsatisfiable = errors.New("range not satisfiable")
)

// Error is an error of a kind with the message clients see.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

// Errorf returns an *Error of kind with a client-facing message.
func Errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Message is the client-facing text of err.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return "An unexpected error occurred."
}

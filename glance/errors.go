package glance

import (
	"errors"

	"imagestack/common/apierr"
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
	ErrPrecondition  = errors.New("precondition failed")
	ErrTimeout       = errors.New("request timeout")
)

// Error is an error of a kind with the message clients see.
type Error = apierr.Error

// Errorf returns an *Error of kind with a client-facing message.
func Errorf(kind error, format string, args ...any) error { return apierr.New(kind, format, args...) }

// Message is the client-facing text of err.
func Message(err error) string { return apierr.Message(err, "An unexpected error occurred.") }

package compute

import (
	"errors"
	"unicode/utf8"

	"imagestack/common/apierr"
)

// Error kinds of the compute service; the compute API maps them to Nova's
// fault names and statuses in one table.
var (
	ErrBadRequest  = errors.New("bad request")
	ErrForbidden   = errors.New("forbidden")
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("conflict")
	ErrOverQuota   = errors.New("over quota")
	ErrUnavailable = errors.New("service unavailable")
)

// Errorf returns a compute error of kind with a client-facing message.
func Errorf(kind error, format string, args ...any) error { return apierr.New(kind, format, args...) }

// Message is the client-facing text of err.
func Message(err error) string {
	return apierr.Message(err, "Unexpected API Error. Please report this at the operator's support channel.")
}

// Clip shortens client-sent text quoted in a message, so that an error
// never echoes a whole request back.
func Clip(s string) string {
	if utf8.RuneCountInString(s) <= 64 {
		return s
	}
	return string([]rune(s)[:64]) + "..."
}

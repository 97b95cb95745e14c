package db

import (
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// Kinds are a domain's own "not found" and "conflict" errors, which
// Classify wraps so that repositories hand their callers domain errors only.
type Kinds struct {
	NotFound, Conflict error
}

// Classify converts a gorm/driver error into the domain's kinds: a missing
// row becomes kinds.NotFound, a unique-key violation kinds.Conflict; other
// errors are wrapped as they are. what names the object for the message.
func (k Kinds) Classify(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("%s: %w", what, k.NotFound)
	case IsDuplicate(err):
		return fmt.Errorf("%s: %w", what, k.Conflict)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// IsDuplicate reports a unique-key violation on either engine. The pure-Go
// SQLite driver reports them only as text, which gorm's translator misses.
func IsDuplicate(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "Duplicate entry")
}

package keystone

import (
	"strings"
	"unicode/utf8"
)

// checkName validates the name of a new or renamed project, user or role.
func checkName(kind, name string) error {
	if strings.TrimSpace(name) == "" {
		return errorf(ErrBadRequest, "Invalid input for field 'name': the %s name must not be empty.", kind)
	}
	if utf8.RuneCountInString(name) > 64 {
		return errorf(ErrBadRequest, "Invalid input for field 'name': '%s' is too long (maximum 64 characters).", name)
	}
	return nil
}

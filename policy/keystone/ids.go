package keystone

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// stableID derives a constant 32-hex id from its parts, so catalog ids do not
// change between restarts (clients cache them).
func stableID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// tokenHash is what the store keeps instead of the token id.
func tokenHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

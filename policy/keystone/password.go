package keystone

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// DefaultPasswordIterations is the PBKDF2-SHA256 work factor for new hashes.
// Stored hashes carry their own count, so raising it later keeps old ones valid.
const DefaultPasswordIterations = 120_000

// HashPassword returns a self-describing salted hash:
// "pbkdf2-sha256$<iterations>$<salt b64>$<key b64>".
func HashPassword(password string, iterations int) (string, error) {
	if iterations <= 0 {
		iterations = DefaultPasswordIterations
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, iterations, 32)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", iterations, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches hash, in constant time with
// respect to the key. A malformed or empty hash never matches.
func CheckPassword(hash, password string) bool {
	h, ok := parseHash(hash)
	if !ok {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, password, h.salt, h.iterations, len(h.key))
	return err == nil && subtle.ConstantTimeCompare(got, h.key) == 1
}

// wellFormedHash reports whether CheckPassword would really compute hash's key.
func wellFormedHash(hash string) bool {
	_, ok := parseHash(hash)
	return ok
}

type parsedHash struct {
	iterations int
	salt, key  []byte
}

// parseHash splits "pbkdf2-sha256$<iterations>$<salt b64>$<key b64>".
func parseHash(hash string) (parsedHash, bool) {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return parsedHash{}, false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter <= 0 || iter > 10_000_000 {
		return parsedHash{}, false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[2])
	key, err2 := enc.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(key) == 0 {
		return parsedHash{}, false
	}
	return parsedHash{iterations: iter, salt: salt, key: key}, true
}

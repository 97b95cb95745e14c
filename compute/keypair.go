package compute

import (
	"context"
	"time"
)

// Key pair types (Nova's, chosen from microversion 2.2).
const (
	KeyTypeSSH  = "ssh"  // an OpenSSH public key
	KeyTypeX509 = "x509" // a PEM certificate (Windows guests' WinRM)
)

// KeyPair is a user's public key (SSH, or an X.509 certificate), injected
// into servers by name.
type KeyPair struct {
	UserID, Name string
	PublicKey    string
	Fingerprint  string
	Type         string // KeyTypeSSH or KeyTypeX509
	CreatedAt    time.Time
}

// KeyPairRepository persists key pairs per user.
type KeyPairRepository interface {
	// CreateKeyPair stores a key pair; ErrConflict when the user has one of that name.
	CreateKeyPair(ctx context.Context, k KeyPair) error
	// GetKeyPair returns one, or ErrNotFound.
	GetKeyPair(ctx context.Context, userID, name string) (KeyPair, error)
	// ListKeyPairs returns a user's key pairs by name.
	ListKeyPairs(ctx context.Context, userID string) ([]KeyPair, error)
	// DeleteKeyPair removes one, or ErrNotFound.
	DeleteKeyPair(ctx context.Context, userID, name string) error
}

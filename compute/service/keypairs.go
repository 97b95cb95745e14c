package service

import (
	"context"
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/crypto/ssh"

	"imagestack/compute"
	"imagestack/policy"
)

var keyNamePattern = regexp.MustCompile(`^[a-zA-Z0-9 _.@-]{1,255}$`)

func (s *Service) keypairRule(c Caller, rule string) error {
	return s.authorize(c, "os_compute_api:os-keypairs:"+rule, policy.Target{"user_id": c.Creds.UserID})
}

// fingerprint is the MD5 fingerprint Nova shows for ssh keys.
func fingerprint(pub ssh.PublicKey) string {
	sum := md5.Sum(pub.Marshal())
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02x", b)
	}
	return strings.Join(parts, ":")
}

// CreateKeyPair imports publicKey or, when empty, generates a key pair and
// returns its private key (shown once, never stored). keyType is
// compute.KeyTypeSSH ("" too) or compute.KeyTypeX509.
func (s *Service) CreateKeyPair(ctx context.Context, c Caller, name, publicKey, keyType string) (compute.KeyPair, string, error) {
	if err := s.keypairRule(c, "create"); err != nil {
		return compute.KeyPair{}, "", err
	}
	if !keyNamePattern.MatchString(name) {
		return compute.KeyPair{}, "", compute.Errorf(compute.ErrBadRequest, "Keypair data is invalid: Keypair name contains unsafe characters")
	}
	if len(publicKey) > maxPublicKeyLen {
		// Four times the largest RSA key; what is stored stays bounded.
		return compute.KeyPair{}, "", compute.Errorf(compute.ErrBadRequest, "Keypair data is invalid: the public key is longer than %d bytes", maxPublicKeyLen)
	}
	k := compute.KeyPair{UserID: c.Creds.UserID, Name: name, PublicKey: publicKey, Type: compute.KeyTypeSSH, CreatedAt: s.now().UTC()}
	private, err := "", error(nil)
	switch keyType {
	case "", compute.KeyTypeSSH:
		private, err = sshKey(&k)
	case compute.KeyTypeX509:
		k.Type = compute.KeyTypeX509
		private, err = x509Key(&k)
	default:
		err = compute.Errorf(compute.ErrBadRequest, "Keypair data is invalid: unknown key type %s", keyType)
	}
	if err != nil {
		return k, "", err
	}
	if err := s.checkKeyPairQuota(ctx, c); err != nil {
		return k, "", err
	}
	if err := s.KeyPairs.CreateKeyPair(ctx, k); err != nil {
		if errors.Is(err, compute.ErrConflict) {
			return k, "", compute.Errorf(compute.ErrConflict, "Key pair '%s' already exists.", name)
		}
		return k, "", err
	}
	return k, private, nil
}

// sshKey fingerprints k's OpenSSH public key or, when it has none,
// generates an ed25519 key pair for it and returns the private key.
func sshKey(k *compute.KeyPair) (string, error) {
	private := ""
	if k.PublicKey == "" {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return "", err
		}
		block, err := ssh.MarshalPrivateKey(priv, k.Name)
		if err != nil {
			return "", err
		}
		private = string(pem.EncodeToMemory(block))
		sshPub, err := ssh.NewPublicKey(pub)
		if err != nil {
			return "", err
		}
		k.PublicKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " Generated-by-imagestack"
	}
	parsed, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.PublicKey))
	if err != nil {
		return "", compute.Errorf(compute.ErrBadRequest, "Keypair data is invalid: failed to generate fingerprint")
	}
	k.Fingerprint = fingerprint(parsed)
	return private, nil
}

// KeyPairs lists the caller's key pairs.
func (s *Service) ListKeyPairs(ctx context.Context, c Caller) ([]compute.KeyPair, error) {
	if err := s.keypairRule(c, "index"); err != nil {
		return nil, err
	}
	return s.KeyPairs.ListKeyPairs(ctx, c.Creds.UserID)
}

// GetKeyPair shows one of the caller's key pairs.
func (s *Service) GetKeyPair(ctx context.Context, c Caller, name string) (compute.KeyPair, error) {
	if err := s.keypairRule(c, "show"); err != nil {
		return compute.KeyPair{}, err
	}
	k, err := s.KeyPairs.GetKeyPair(ctx, c.Creds.UserID, name)
	if errors.Is(err, compute.ErrNotFound) {
		return k, compute.Errorf(compute.ErrNotFound, "Keypair %s not found for user %s", name, c.Creds.UserID)
	}
	return k, err
}

// DeleteKeyPair removes one of the caller's key pairs.
func (s *Service) DeleteKeyPair(ctx context.Context, c Caller, name string) error {
	if err := s.keypairRule(c, "delete"); err != nil {
		return err
	}
	err := s.KeyPairs.DeleteKeyPair(ctx, c.Creds.UserID, name)
	if errors.Is(err, compute.ErrNotFound) {
		return compute.Errorf(compute.ErrNotFound, "Keypair %s not found for user %s", name, c.Creds.UserID)
	}
	return err
}

// checkKeyPairQuota refuses a user's key pair beyond the key_pairs quota
// (403, Nova's words).
func (s *Service) checkKeyPairQuota(ctx context.Context, c Caller) error {
	limits, err := s.limitsOf(ctx, c.Creds.ProjectID, c.Creds.UserID)
	if err != nil {
		return err
	}
	keys, err := s.KeyPairs.ListKeyPairs(ctx, c.Creds.UserID)
	if err != nil {
		return err
	}
	if len(keys)+1 > room(limits[compute.QuotaKeyPairs], 0) {
		return compute.Errorf(compute.ErrOverQuota, "Quota exceeded, too many key pairs.")
	}
	return nil
}

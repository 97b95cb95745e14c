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
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"imagestack/compute"
	"imagestack/policy"
)

var keyNamePattern = regexp.MustCompile(`^[a-zA-Z0-9 _.@-]{1,255}$`)

// keypairRule checks a keypair rule for the key pairs of userID ("": the
// caller's, which is what it returns; others' need admin by default, as
// from microversion 2.10).
func (s *Service) keypairRule(c Caller, rule, userID string) (string, error) {
	if userID == "" {
		userID = c.Creds.UserID
	}
	return userID, s.authorize(c, "os_compute_api:os-keypairs:"+rule, policy.Target{"user_id": userID})
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
	return s.CreateKeyPairFor(ctx, c, "", name, publicKey, keyType)
}

// CreateKeyPairFor is CreateKeyPair for the user userID ("": the caller;
// another user's need admin by default, as from microversion 2.10).
func (s *Service) CreateKeyPairFor(ctx context.Context, c Caller, userID, name, publicKey, keyType string) (compute.KeyPair, string, error) {
	userID, err := s.keypairRule(c, "create", userID)
	if err != nil {
		return compute.KeyPair{}, "", err
	}
	if !keyNamePattern.MatchString(name) {
		return compute.KeyPair{}, "", compute.Errorf(compute.ErrBadRequest, "Keypair data is invalid: Keypair name contains unsafe characters")
	}
	if len(publicKey) > maxPublicKeyLen {
		// Four times the largest RSA key; what is stored stays bounded.
		return compute.KeyPair{}, "", compute.Errorf(compute.ErrBadRequest, "Keypair data is invalid: the public key is longer than %d bytes", maxPublicKeyLen)
	}
	k := compute.KeyPair{UserID: userID, Name: name, PublicKey: publicKey, Type: compute.KeyTypeSSH, CreatedAt: s.now().UTC()}
	private := ""
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

// ListKeyPairs lists a user's key pairs ("": the caller's) by name: at
// most limit (< 0: all) after the one named marker ("": from the first;
// unknown: 400).
func (s *Service) ListKeyPairs(ctx context.Context, c Caller, userID string, limit int, marker string) ([]compute.KeyPair, error) {
	userID, err := s.keypairRule(c, "index", userID)
	if err != nil {
		return nil, err
	}
	ks, err := s.KeyPairs.ListKeyPairs(ctx, userID)
	if err != nil {
		return nil, err
	}
	if marker != "" {
		i := slices.IndexFunc(ks, func(k compute.KeyPair) bool { return k.Name == marker })
		if i < 0 {
			return nil, compute.Errorf(compute.ErrBadRequest, "Marker %s could not be found.", compute.Clip(marker))
		}
		ks = ks[i+1:]
	}
	if limit >= 0 && len(ks) > limit {
		ks = ks[:limit]
	}
	return ks, nil
}

// GetKeyPair shows one of a user's key pairs ("": the caller's).
func (s *Service) GetKeyPair(ctx context.Context, c Caller, userID, name string) (compute.KeyPair, error) {
	userID, err := s.keypairRule(c, "show", userID)
	if err != nil {
		return compute.KeyPair{}, err
	}
	k, err := s.KeyPairs.GetKeyPair(ctx, userID, name)
	if errors.Is(err, compute.ErrNotFound) {
		return k, compute.Errorf(compute.ErrNotFound, "Keypair %s not found for user %s", name, userID)
	}
	return k, err
}

// DeleteKeyPair removes one of a user's key pairs ("": the caller's).
func (s *Service) DeleteKeyPair(ctx context.Context, c Caller, userID, name string) error {
	userID, err := s.keypairRule(c, "delete", userID)
	if err != nil {
		return err
	}
	err = s.KeyPairs.DeleteKeyPair(ctx, userID, name)
	if errors.Is(err, compute.ErrNotFound) {
		return compute.Errorf(compute.ErrNotFound, "Keypair %s not found for user %s", name, userID)
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

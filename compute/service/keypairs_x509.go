package service

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"time"

	"imagestack/compute"
)

// x509Key fingerprints k's PEM certificate or, when it has none, generates
// one as Nova does for WinRM (RSA 2048, self-signed, CN the user's id,
// client authentication, ten years; without Nova's UPN subject alternative
// name) and returns its private key (PKCS #1 PEM).
func x509Key(k *compute.KeyPair) (string, error) {
	private := ""
	if k.PublicKey == "" {
		key, cert, err := newClientCert(k.UserID)
		if err != nil {
			return "", err
		}
		private = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
		k.PublicKey = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert}))
	}
	block, _ := pem.Decode([]byte(k.PublicKey))
	if block == nil || block.Type != "CERTIFICATE" {
		return "", compute.Errorf(compute.ErrBadRequest, "Keypair data is invalid: failed to generate X509 fingerprint. Error message: not a PEM certificate")
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return "", compute.Errorf(compute.ErrBadRequest, "Keypair data is invalid: failed to generate X509 fingerprint. Error message: %v", err)
	}
	sum := sha1.Sum(block.Bytes)
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02x", b)
	}
	k.Fingerprint = strings.Join(hexes, ":")
	return private, nil
}

// newClientCert makes a self-signed client certificate for user; it
// returns the key and the certificate's DER.
func newClientCert(user string) (*rsa.PrivateKey, []byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: user},
		NotBefore: now.Add(-time.Minute), NotAfter: now.AddDate(10, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	return key, der, err
}

package api_test

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"

	"imagestack/compute/computetest"
)

// TestKeyPairTypes: from microversion 2.2 a key pair has a type (ssh by
// default, or x509: a generated or imported PEM certificate fingerprinted
// with SHA-1), create answers 201 and delete 204, as in Nova; 2.1 keeps
// 200, 202 and no type.
func TestKeyPairTypes(t *testing.T) {
	srv := computetest.NewSetup(t, computetest.WithAPI()).Server
	at22 := []string{"OpenStack-API-Version", "compute 2.2"}
	resp, body := do(t, srv, "POST", "/v2.1/os-keypairs", "member", `{"keypair": {"name": "k-ssh"}}`, at22...)
	if k, _ := body["keypair"].(map[string]any); resp.StatusCode != 201 || k["type"] != "ssh" || k["private_key"] == "" {
		t.Fatalf("create at 2.2: %d %v", resp.StatusCode, body)
	}
	resp, body = do(t, srv, "POST", "/v2.1/os-keypairs", "member", `{"keypair": {"name": "k-x509", "type": "x509"}}`, at22...)
	k, _ := body["keypair"].(map[string]any)
	if resp.StatusCode != 201 || k["type"] != "x509" || !strings.HasPrefix(fmt.Sprint(k["private_key"]), "-----BEGIN RSA PRIVATE KEY-----") {
		t.Fatalf("create x509: %d %v", resp.StatusCode, body)
	}
	block, _ := pem.Decode([]byte(fmt.Sprint(k["public_key"])))
	if block == nil {
		t.Fatalf("x509 public key is no PEM: %v", k["public_key"])
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		t.Fatalf("x509 public key: %v", err)
	}
	if sum := sha1.Sum(block.Bytes); strings.ReplaceAll(fmt.Sprint(k["fingerprint"]), ":", "") != fmt.Sprintf("%x", sum) {
		t.Fatalf("x509 fingerprint %v, want the certificate's SHA-1", k["fingerprint"])
	}
	imported := strings.ReplaceAll(fmt.Sprint(k["public_key"]), "\n", `\n`)
	resp, body = do(t, srv, "POST", "/v2.1/os-keypairs", "member", `{"keypair": {"name": "k-imp", "type": "x509", "public_key": "`+imported+`"}}`, at22...)
	if k2, _ := body["keypair"].(map[string]any); resp.StatusCode != 201 || k2["fingerprint"] != k["fingerprint"] || k2["private_key"] != nil {
		t.Fatalf("import x509: %d %v", resp.StatusCode, body)
	}
	for _, c := range []struct{ body, msg string }{
		{`{"keypair": {"name": "k-bad", "type": "rsa"}}`, "'rsa' is not one of ['ssh', 'x509']"},
		{`{"keypair": {"name": "k-bad", "type": "x509", "public_key": "ssh-ed25519 AAAA"}}`, "failed to generate X509 fingerprint"},
	} {
		resp, body = do(t, srv, "POST", "/v2.1/os-keypairs", "member", c.body, at22...)
		if msg, _ := body["badRequest"].(map[string]any)["message"].(string); resp.StatusCode != 400 || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: %d %v, want 400 saying %q", c.body, resp.StatusCode, body, c.msg)
		}
	}
	_, body = do(t, srv, "GET", "/v2.1/os-keypairs/k-x509", "member", "", at22...)
	if body["keypair"].(map[string]any)["type"] != "x509" {
		t.Errorf("show at 2.2: %v", body)
	}
	_, body = do(t, srv, "GET", "/v2.1/os-keypairs", "member", "")
	for _, kp := range body["keypairs"].([]any) {
		if _, has := kp.(map[string]any)["keypair"].(map[string]any)["type"]; has {
			t.Errorf("list at 2.1 shows a type: %v", kp)
		}
	}
	if resp, _ := do(t, srv, "POST", "/v2.1/os-keypairs", "member", `{"keypair": {"name": "k-21"}}`); resp.StatusCode != 200 {
		t.Errorf("create at 2.1: %d", resp.StatusCode)
	}
	if resp, _ := do(t, srv, "DELETE", "/v2.1/os-keypairs/k-21", "member", ""); resp.StatusCode != 202 {
		t.Errorf("delete at 2.1: %d", resp.StatusCode)
	}
	if resp, _ := do(t, srv, "DELETE", "/v2.1/os-keypairs/k-ssh", "member", "", at22...); resp.StatusCode != 204 {
		t.Errorf("delete at 2.2: %d", resp.StatusCode)
	}
}

package main

// Bootstrap files: the default accounts' passwords and clouds.yaml, kept in
// the state directory. Only this command reads and writes them; the identity
// service itself knows nothing of files.

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"imagestack/policy/keystone"
)

// randomPassword returns 18 random bytes, URL-safe base64 encoded (24
// characters), as bootstrap passwords always were.
func randomPassword() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// loadOrCreatePasswords reads the bootstrap passwords kept in path (mode 0600),
// generating random ones for names that have none and saving them. They are
// kept so that clouds.yaml can be rewritten on every start.
func loadOrCreatePasswords(path string, names []string) (map[string]string, error) {
	pw := map[string]string{}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &pw); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	dirty := false
	for _, n := range names {
		if pw[n] == "" {
			pw[n] = randomPassword()
			dirty = true
		}
	}
	if dirty {
		out, _ := json.MarshalIndent(pw, "", "  ")
		if err := writeFileAtomic(path, out, 0o600); err != nil {
			return nil, err
		}
	}
	return pw, nil
}

// cloudsYAML renders a clouds.yaml with one cloud per account, as openstack
// CLI and openstacksdk read it.
func cloudsYAML(authURL, region string, accounts []keystone.BootstrapAccount, passwords map[string]string) []byte {
	var b strings.Builder
	b.WriteString("# Written by imagestack on every start. Use with:\n")
	b.WriteString("#   OS_CLIENT_CONFIG_FILE=<this file> OS_CLOUD=demo openstack image list\n")
	b.WriteString("clouds:\n")
	for _, a := range accounts {
		fmt.Fprintf(&b, "  %s:\n", a.Name)
		b.WriteString("    auth:\n")
		fmt.Fprintf(&b, "      auth_url: %q\n", authURL)
		fmt.Fprintf(&b, "      username: %q\n", a.Name)
		fmt.Fprintf(&b, "      password: %q\n", passwords[a.Name])
		fmt.Fprintf(&b, "      project_name: %q\n", a.Project)
		b.WriteString("      user_domain_name: \"Default\"\n")
		b.WriteString("      project_domain_name: \"Default\"\n")
		fmt.Fprintf(&b, "    region_name: %q\n", region)
		b.WriteString("    interface: \"public\"\n")
		b.WriteString("    identity_api_version: 3\n")
	}
	return []byte(b.String())
}

// writeCloudsYAML writes cloudsYAML to path (mode 0600: it holds passwords).
func writeCloudsYAML(path, authURL, region string, accounts []keystone.BootstrapAccount, passwords map[string]string) error {
	return writeFileAtomic(path, cloudsYAML(authURL, region, accounts, passwords), 0o600)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

package keystone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DefaultRoles are created at bootstrap, as keystone-manage bootstrap does.
var DefaultRoles = []string{"admin", "member", "reader"}

// BootstrapAccount is a user created on first start with one role on its own
// project (both named Name unless Project says otherwise).
type BootstrapAccount struct {
	Name, Project, Role string
}

// DefaultAccounts are the two clouds of clouds.yaml.
var DefaultAccounts = []BootstrapAccount{
	{Name: "admin", Project: "admin", Role: "admin"},
	{Name: "demo", Project: "demo", Role: "member"},
}

// Bootstrap makes sure the default domain, the default roles and the given
// accounts exist. It only creates what is missing and never resets an existing
// user's password, so operators' later changes survive restarts. passwords
// supplies the password for a user that has to be created.
func (s *Service) Bootstrap(ctx context.Context, accounts []BootstrapAccount, passwords map[string]string) error {
	if _, err := s.store.GetDomain(ctx, DefaultDomainID); errors.Is(err, ErrNotFound) {
		d := Domain{ID: DefaultDomainID, Name: "Default", Description: "The default domain", Enabled: true}
		if err := s.store.CreateDomain(ctx, d); err != nil && !errors.Is(err, ErrConflict) {
			return fmt.Errorf("bootstrap default domain: %w", err)
		}
	} else if err != nil {
		return err
	}
	roles := map[string]Role{}
	for _, name := range DefaultRoles {
		r, err := s.store.FindRole(ctx, name)
		if errors.Is(err, ErrNotFound) {
			r, err = s.CreateRole(ctx, Role{Name: name})
		}
		if err != nil {
			return fmt.Errorf("bootstrap role %s: %w", name, err)
		}
		roles[name] = r
	}
	for _, acct := range accounts {
		p, err := s.store.FindProject(ctx, DefaultDomainID, acct.Project)
		if errors.Is(err, ErrNotFound) {
			p, err = s.CreateProject(ctx, Project{Name: acct.Project, DomainID: DefaultDomainID,
				Description: "Bootstrap project " + acct.Project, Enabled: true})
		}
		if err != nil {
			return fmt.Errorf("bootstrap project %s: %w", acct.Project, err)
		}
		u, err := s.store.FindUser(ctx, DefaultDomainID, acct.Name)
		if errors.Is(err, ErrNotFound) {
			pw := passwords[acct.Name]
			if pw == "" {
				return fmt.Errorf("bootstrap user %s: no password given", acct.Name)
			}
			u, err = s.CreateUser(ctx, User{Name: acct.Name, DomainID: DefaultDomainID, DefaultProjectID: p.ID, Enabled: true}, pw)
		}
		if err != nil {
			return fmt.Errorf("bootstrap user %s: %w", acct.Name, err)
		}
		role, ok := roles[acct.Role]
		if !ok {
			return fmt.Errorf("bootstrap user %s: unknown role %s", acct.Name, acct.Role)
		}
		if err := s.Grant(ctx, Assignment{UserID: u.ID, TargetType: TargetProject, TargetID: p.ID, RoleID: role.ID}); err != nil {
			return fmt.Errorf("bootstrap role %s for %s: %w", acct.Role, acct.Name, err)
		}
	}
	return nil
}

// LoadOrCreatePasswords reads the bootstrap passwords kept in path (mode 0600),
// generating random ones for names that have none and saving them. They are
// kept so that clouds.yaml can be rewritten on every start.
func LoadOrCreatePasswords(path string, names []string) (map[string]string, error) {
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
			pw[n] = randomToken(18)
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

// CloudsYAML renders a clouds.yaml with one cloud per account, as openstack
// CLI and openstacksdk read it.
func CloudsYAML(authURL, region string, accounts []BootstrapAccount, passwords map[string]string) []byte {
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

// WriteCloudsYAML writes CloudsYAML to path (mode 0600: it holds passwords).
func WriteCloudsYAML(path, authURL, region string, accounts []BootstrapAccount, passwords map[string]string) error {
	return writeFileAtomic(path, CloudsYAML(authURL, region, accounts, passwords), 0o600)
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

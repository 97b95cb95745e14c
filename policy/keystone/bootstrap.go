package keystone

import (
	"context"
	"errors"
	"fmt"
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

// BootstrapOptions say what an explicit Bootstrap may change in the default
// accounts besides creating what is missing.
type BootstrapOptions struct {
	// ResetPasswords sets each default user's password back to the given one
	// (revoking the user's tokens) where it differs, as keystone-manage
	// bootstrap does with --bootstrap-password.
	ResetPasswords bool
}

// BootstrapFirstStart creates the default domain, the default roles and the
// given accounts if the identity database has never been bootstrapped, and
// reports whether it did. The database itself records that it was, in the
// same transaction as the bootstrap: later starts leave it alone, so users,
// projects and grants an operator removed stay removed, and a start that
// died half-way through the first bootstrap left nothing, so the next start
// does it all. passwords supplies each account's password.
func (s *Service) BootstrapFirstStart(ctx context.Context, accounts []BootstrapAccount, passwords map[string]string) (bool, error) {
	ran, _, err := s.bootstrap(ctx, false, accounts, passwords, BootstrapOptions{})
	return ran, err
}

// Bootstrap is the operator's `imagestack manage bootstrap`, Keystone's
// keystone-manage bootstrap: it re-creates whatever is missing of the default
// domain, roles, accounts and their grants, re-enables a disabled default
// user (which also ends a lockout) and, with opts.ResetPasswords, restores
// their passwords. It never resets a password otherwise, so an operator's
// changes survive it. It returns what it changed, one line per change.
func (s *Service) Bootstrap(ctx context.Context, accounts []BootstrapAccount, passwords map[string]string, opts BootstrapOptions) ([]string, error) {
	_, changes, err := s.bootstrap(ctx, true, accounts, passwords, opts)
	return changes, err
}

func (s *Service) bootstrap(ctx context.Context, force bool, accounts []BootstrapAccount, passwords map[string]string, opts BootstrapOptions) (bool, []string, error) {
	b := &bootstrapper{svc: s, repair: force, opts: opts}
	ran, err := s.repo.Bootstrap(ctx, force, func(tx Repository) error {
		b.st = tx
		return b.run(ctx, accounts, passwords)
	})
	if err != nil {
		return false, nil, err
	}
	if ran {
		s.changed()
	}
	return ran, b.changes, nil
}

// bootstrapper does one bootstrap inside the transaction of st.
type bootstrapper struct {
	svc     *Service
	st      Repository
	repair  bool // an explicit bootstrap: also re-enable users, maybe reset passwords
	opts    BootstrapOptions
	changes []string
}

func (b *bootstrapper) changed(format string, args ...any) {
	b.changes = append(b.changes, fmt.Sprintf(format, args...))
}

func (b *bootstrapper) run(ctx context.Context, accounts []BootstrapAccount, passwords map[string]string) error {
	if err := b.domain(ctx); err != nil {
		return fmt.Errorf("bootstrap default domain: %w", err)
	}
	roles := map[string]Role{}
	for _, name := range DefaultRoles {
		r, err := b.role(ctx, name)
		if err != nil {
			return fmt.Errorf("bootstrap role %s: %w", name, err)
		}
		roles[name] = r
	}
	for _, acct := range accounts {
		role, ok := roles[acct.Role]
		if !ok {
			return fmt.Errorf("bootstrap user %s: unknown role %s", acct.Name, acct.Role)
		}
		p, err := b.project(ctx, acct.Project)
		if err != nil {
			return fmt.Errorf("bootstrap project %s: %w", acct.Project, err)
		}
		u, err := b.user(ctx, acct.Name, p.ID, passwords[acct.Name])
		if err != nil {
			return fmt.Errorf("bootstrap user %s: %w", acct.Name, err)
		}
		a := Assignment{UserID: u.ID, TargetType: TargetProject, TargetID: p.ID, RoleID: role.ID}
		if err := b.grant(ctx, a, fmt.Sprintf("role %s on project %s to user %s", role.Name, p.Name, u.Name)); err != nil {
			return fmt.Errorf("bootstrap role %s for %s: %w", acct.Role, acct.Name, err)
		}
	}
	return nil
}

func (b *bootstrapper) domain(ctx context.Context) error {
	_, err := b.st.GetDomain(ctx, DefaultDomainID)
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	b.changed("created domain Default")
	return b.st.CreateDomain(ctx, Domain{ID: DefaultDomainID, Name: "Default", Description: "The default domain", Enabled: true})
}

func (b *bootstrapper) role(ctx context.Context, name string) (Role, error) {
	r, err := b.st.FindRole(ctx, name)
	if !errors.Is(err, ErrNotFound) {
		return r, err
	}
	r = Role{ID: newID(), Name: name}
	b.changed("created role %s", name)
	return r, b.st.CreateRole(ctx, r)
}

func (b *bootstrapper) project(ctx context.Context, name string) (Project, error) {
	p, err := b.st.FindProject(ctx, DefaultDomainID, name)
	if !errors.Is(err, ErrNotFound) {
		return p, err
	}
	p = Project{ID: newID(), Name: name, DomainID: DefaultDomainID, Description: "Bootstrap project " + name,
		Enabled: true, CreatedAt: b.svc.now().UTC()}
	b.changed("created project %s", name)
	return p, b.st.CreateProject(ctx, p)
}

// user finds or creates a default user; an explicit bootstrap also repairs it.
func (b *bootstrapper) user(ctx context.Context, name, projectID, password string) (User, error) {
	if password == "" {
		return User{}, errors.New("no password given")
	}
	u, err := b.st.FindUser(ctx, DefaultDomainID, name)
	if errors.Is(err, ErrNotFound) {
		u = User{ID: newID(), Name: name, DomainID: DefaultDomainID, DefaultProjectID: projectID, Enabled: true,
			CreatedAt: b.svc.now().UTC()}
		if u.PasswordHash, err = HashPassword(password, b.svc.cfg.PasswordIterations); err != nil {
			return User{}, err
		}
		b.changed("created user %s", name)
		return u, b.st.CreateUser(ctx, u)
	}
	if err != nil || !b.repair {
		return u, err
	}
	return u, b.repairUser(ctx, u, password)
}

// repairUser re-enables u, ends its lockout and, when asked, restores its password.
func (b *bootstrapper) repairUser(ctx context.Context, u User, password string) error {
	update, revoke := false, false
	if !u.Enabled {
		u.Enabled, update = true, true
		b.changed("enabled user %s", u.Name)
	}
	if b.opts.ResetPasswords && !CheckPassword(u.PasswordHash, password) {
		h, err := HashPassword(password, b.svc.cfg.PasswordIterations)
		if err != nil {
			return err
		}
		u.PasswordHash, update, revoke = h, true, true
		b.changed("reset the password of user %s", u.Name)
	}
	if update {
		if err := b.st.UpdateUser(ctx, u); err != nil {
			return err
		}
	}
	if revoke {
		if err := b.st.DeleteUserTokens(ctx, u.ID); err != nil {
			return err
		}
	}
	if u.FailedAuthCount > 0 {
		b.changed("cleared the failed logins of user %s", u.Name)
		return b.st.ResetFailedAuth(ctx, u.ID)
	}
	return nil
}

func (b *bootstrapper) grant(ctx context.Context, a Assignment, what string) error {
	have, err := b.st.ListAssignments(ctx, AssignmentFilter(a))
	if err != nil || len(have) > 0 {
		return err
	}
	b.changed("granted %s", what)
	return b.st.AddAssignment(ctx, a)
}

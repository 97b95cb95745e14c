package keystone

import "imagestack/policy"

// Authorizer is the policy engine as the identity service needs it (the
// rules are Defaults, named as Keystone names them, plus the operator's file).
type Authorizer interface {
	// Enforce reports whether creds may perform rule on target.
	Enforce(rule string, target policy.Target, creds policy.Credentials) bool
}

// authorize answers ErrForbidden, naming the rule as Keystone does, unless
// creds may perform rule on target. A Service without an Authorizer serves
// only its trusted operations (authentication, validation, bootstrap).
func (s *Service) authorize(creds policy.Credentials, rule string, target policy.Target) error {
	if target == nil {
		target = policy.Target{}
	}
	if s.authz == nil || !s.authz.Enforce(rule, target, creds) {
		return errorf(ErrForbidden, "You are not authorized to perform the requested action: %s.", rule)
	}
	return nil
}

// Keystone enforces policy before it reads the request of these calls, so a
// caller without the right gets 403 even for a malformed body or query. The
// API checks these first; the operations check again.

// MayListProjects is the permission check of ListProjects.
func (s *Service) MayListProjects(creds policy.Credentials) error {
	return s.authorize(creds, "identity:list_projects", nil)
}

// MayUpdateProject is the permission check of UpdateProject.
func (s *Service) MayUpdateProject(creds policy.Credentials, id string) error {
	return s.authorize(creds, "identity:update_project", policy.Target{"target.project.id": id})
}

// MayListUsers is the permission check of ListUsers.
func (s *Service) MayListUsers(creds policy.Credentials) error {
	return s.authorize(creds, "identity:list_users", nil)
}

// MayUpdateUser is the permission check of UpdateUser.
func (s *Service) MayUpdateUser(creds policy.Credentials, id string) error {
	return s.authorize(creds, "identity:update_user", policy.Target{"target.user.id": id})
}

// MayChangePassword is the permission check of ChangePassword.
func (s *Service) MayChangePassword(creds policy.Credentials, id string) error {
	return s.authorize(creds, "identity:change_password", policy.Target{"target.user.id": id})
}

// MayCreateRole is the permission check of CreateRole.
func (s *Service) MayCreateRole(creds policy.Credentials) error {
	return s.authorize(creds, "identity:create_role", nil)
}

// MayUpdateRole is the permission check of UpdateRole.
func (s *Service) MayUpdateRole(creds policy.Credentials, id string) error {
	return s.authorize(creds, "identity:update_role", policy.Target{"target.role.id": id})
}

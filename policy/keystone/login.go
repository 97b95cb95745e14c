package keystone

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"imagestack/policy"
)

// loginGuard is what password checks share: a dummy hash, so that a login
// for a user who does not exist costs what a wrong password costs, and the
// per-user locks that serialize the checks of one user while lockout is on.
type loginGuard struct {
	dummyOnce sync.Once
	dummy     string

	mu    sync.Mutex
	users map[string]*userLock
}

type userLock struct {
	sync.Mutex
	refs int
}

// lock serializes password checks of userID and returns the unlock function.
// Without it, N concurrent guesses would all pass the lockout check before the
// first failure is counted, and an attacker would get N guesses instead of
// lockout_failure_attempts.
func (g *loginGuard) lock(userID string) (unlock func()) {
	g.mu.Lock()
	if g.users == nil {
		g.users = map[string]*userLock{}
	}
	l := g.users[userID]
	if l == nil {
		l = &userLock{}
		g.users[userID] = l
	}
	l.refs++
	g.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		g.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(g.users, userID)
		}
		g.mu.Unlock()
	}
}

// burnPassword spends the time of one password check on a hash nobody has,
// with the configured work factor, so that refusing an unknown user, an
// unknown or disabled domain or a user without a password is not faster than
// refusing a wrong password: login timing must not tell which names exist.
func (s *Service) burnPassword(password string) {
	s.logins.dummyOnce.Do(func() {
		h, err := HashPassword(randomToken(16), s.cfg.PasswordIterations)
		if err != nil {
			panic("keystone: cannot hash the dummy password: " + err.Error())
		}
		s.logins.dummy = h
	})
	CheckPassword(s.logins.dummy, password)
}

// verifyPassword is CheckPassword that costs a full check even when the user
// has no usable hash (a user created without a password).
func (s *Service) verifyPassword(hash, password string) bool {
	if !wellFormedHash(hash) {
		s.burnPassword(password)
		return false
	}
	return CheckPassword(hash, password)
}

// passwordUser returns the user that p names if the password is right. Every
// refusal for bad credentials is errAuth and costs one password check.
func (s *Service) passwordUser(ctx context.Context, p PasswordIdentity) (User, error) {
	id, err := s.passwordUserID(ctx, p)
	if errors.Is(err, ErrNotFound) || err == errAuth {
		s.burnPassword(p.Password)
		return User{}, errAuth
	}
	if err != nil {
		return User{}, err
	}
	return s.checkPassword(ctx, id, p.Password)
}

// passwordUserID resolves the user a password identity names to its id.
// Unknown users and domains are ErrNotFound, a disabled domain errAuth.
func (s *Service) passwordUserID(ctx context.Context, p PasswordIdentity) (string, error) {
	switch {
	case p.UserID != "":
		return p.UserID, nil
	case p.UserName != "":
		domainID, err := s.domainRef(ctx, p.DomainID, p.DomainName)
		if err != nil {
			return "", err
		}
		u, err := s.repo.FindUser(ctx, domainID, p.UserName)
		return u.ID, err
	}
	return "", errorf(ErrBadRequest, "Expecting to find id or name in user.")
}

// checkPassword checks the password of user id, with Keystone's lockout when
// it is configured: a locked-out user is refused even with the right password,
// a wrong password counts one failure (also for a disabled user, as in
// Keystone), and a success clears the count.
func (s *Service) checkPassword(ctx context.Context, id, password string) (User, error) {
	if s.cfg.LockoutFailureAttempts > 0 {
		// Read the user under its lock, to see the failures counted by the
		// checks this one waited for.
		defer s.logins.lock(id)()
	}
	user, err := s.repo.GetUser(ctx, id)
	if errors.Is(err, ErrNotFound) {
		s.burnPassword(password)
		return User{}, errAuth
	}
	if err != nil {
		return User{}, err
	}
	now := s.now().UTC()
	if locked, err := s.lockedOut(ctx, &user, now); err != nil || locked {
		if err == nil {
			s.burnPassword(password)
			// Keystone answers a locked account with the generic 401 text
			// unless insecure_debug is on: a distinct message would tell
			// which user names exist.
			s.log.Warn("login refused: account locked after failed attempts", "user", user.ID)
			err = fmt.Errorf("user %s: %w: %w", user.ID, ErrLockedOut, errAuth)
		}
		return User{}, err
	}
	if !s.verifyPassword(user.PasswordHash, password) {
		if s.cfg.LockoutFailureAttempts > 0 {
			if err := s.repo.RecordFailedAuth(ctx, user.ID, now); err != nil && !errors.Is(err, ErrNotFound) {
				return User{}, err
			}
		}
		return User{}, errAuth
	}
	if !user.Enabled {
		return User{}, errAuth
	}
	if user.FailedAuthCount > 0 {
		if err := s.repo.ResetFailedAuth(ctx, user.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return User{}, err
		}
	}
	return user, nil
}

// lockedOut reports whether u has failed too often to log in at now. A
// lockout that has run its course is cleared, so that the user has every
// attempt again rather than being locked by the next single failure.
func (s *Service) lockedOut(ctx context.Context, u *User, now time.Time) (bool, error) {
	limit := s.cfg.LockoutFailureAttempts
	if limit <= 0 || u.FailedAuthCount < limit {
		return false, nil
	}
	if d := s.cfg.LockoutDuration; d <= 0 || now.Before(u.FailedAuthAt.Add(d)) {
		return true, nil
	}
	if err := s.repo.ResetFailedAuth(ctx, u.ID); err != nil {
		return false, err
	}
	u.FailedAuthCount, u.FailedAuthAt = 0, time.Time{}
	return false, nil
}

// ChangePassword is the self-service password change
// (identity:change_password): the original password is checked like a login
// (it counts towards the lockout), then replaced.
func (s *Service) ChangePassword(ctx context.Context, creds policy.Credentials, userID, original, password string) error {
	if err := s.MayChangePassword(creds, userID); err != nil {
		return err
	}
	if _, err := s.repo.GetUser(ctx, userID); err != nil {
		return NotFound(err, "user", userID)
	}
	if _, err := s.checkPassword(ctx, userID, original); err != nil {
		return err
	}
	_, err := s.updateUser(ctx, userID, UserPatch{Password: &password})
	return err
}

package keystone_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"imagestack/policy/keystone"
	"imagestack/policy/keystone/keystonetest"
)

// lockoutFixture bootstraps with Keystone's lockout: 3 failures, 30 minutes.
func lockoutFixture(t *testing.T, duration time.Duration) *fixture {
	return newFixture(t, keystonetest.WithConfig(func(c *keystone.Config) {
		c.LockoutFailureAttempts, c.LockoutDuration = 3, duration
	}))
}

func isLocked(err error, userID string) bool {
	return errors.Is(err, keystone.ErrUnauthorized) && errors.Is(err, keystone.ErrLockedOut) && strings.Contains(err.Error(), userID) &&
		keystone.Message(err) == "The request you have made requires authentication."
}

// isBadCredentials is the answer to a wrong password: 401 with the generic text.
func isBadCredentials(err error) bool {
	return errors.Is(err, keystone.ErrUnauthorized) && !errors.Is(err, keystone.ErrLockedOut) &&
		keystone.Message(err) == "The request you have made requires authentication."
}

func TestLockoutAfterFailedLogins(t *testing.T) {
	f := lockoutFixture(t, 30*time.Minute)
	demo := f.user(t, "demo")
	// Failures below the limit are reset by a success.
	for range 2 {
		if _, err := f.password("demo", "wrong", keystone.Scope{}); !isBadCredentials(err) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	if u := f.user(t, "demo"); u.FailedAuthCount != 2 || !u.FailedAuthAt.Equal(f.Now) {
		t.Fatalf("after two failures: count %d at %v", u.FailedAuthCount, u.FailedAuthAt)
	}
	if _, err := f.password("demo", "demopw", keystone.Scope{}); err != nil {
		t.Fatalf("right password under the limit: %v", err)
	}
	if u := f.user(t, "demo"); u.FailedAuthCount != 0 || !u.FailedAuthAt.IsZero() {
		t.Fatalf("a success must reset the count: %d %v", u.FailedAuthCount, u.FailedAuthAt)
	}

	// The third consecutive failure locks: even the right password is refused.
	for range 3 {
		if _, err := f.password("demo", "wrong", keystone.Scope{}); !isBadCredentials(err) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	lockedAt := f.Now
	f.Now = f.Now.Add(10 * time.Minute)
	if _, err := f.password("demo", "demopw", keystone.Scope{}); !isLocked(err, demo.ID) {
		t.Fatalf("right password during lockout: %v", err)
	}
	// Attempts during the lockout neither count nor extend it.
	if _, err := f.password("demo", "wrong", keystone.Scope{}); !isLocked(err, demo.ID) {
		t.Fatalf("wrong password during lockout: %v", err)
	}
	if u := f.user(t, "demo"); u.FailedAuthCount != 3 || !u.FailedAuthAt.Equal(lockedAt) {
		t.Fatalf("lockout changed by attempts: count %d at %v", u.FailedAuthCount, u.FailedAuthAt)
	}
	// Other users are not affected.
	if _, err := f.password("admin", "adminpw", keystone.Scope{}); err != nil {
		t.Fatalf("admin during demo's lockout: %v", err)
	}
	// Locked until last failure + duration, not a moment less.
	f.Now = lockedAt.Add(30*time.Minute - time.Second)
	if _, err := f.password("demo", "demopw", keystone.Scope{}); !isLocked(err, demo.ID) {
		t.Fatalf("a second before the lockout ends: %v", err)
	}
	f.Now = lockedAt.Add(30 * time.Minute)
	// An expired lockout starts the count over: one failure does not lock again.
	if _, err := f.password("demo", "wrong", keystone.Scope{}); !isBadCredentials(err) {
		t.Fatalf("first failure after the lockout: %v", err)
	}
	if u := f.user(t, "demo"); u.FailedAuthCount != 1 {
		t.Fatalf("count after an expired lockout and one failure = %d, want 1", u.FailedAuthCount)
	}
	if _, err := f.password("demo", "demopw", keystone.Scope{}); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
}

func TestLockoutEndsWhenAdminEnablesUser(t *testing.T) {
	f := lockoutFixture(t, 0) // 0: locked until enabled again
	demo := f.user(t, "demo")
	for range 3 {
		_, _ = f.password("demo", "wrong", keystone.Scope{})
	}
	f.Now = f.Now.Add(365 * 24 * time.Hour)
	if _, err := f.password("demo", "demopw", keystone.Scope{}); !isLocked(err, demo.ID) {
		t.Fatalf("without a duration the lockout must last: %v", err)
	}
	on := true
	if _, err := f.Service.UpdateUser(f.Ctx, asAdmin, demo.ID, keystone.UserPatch{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.password("demo", "demopw", keystone.Scope{}); err != nil {
		t.Fatalf("after the admin set enabled: %v", err)
	}
}

// TestLockoutCountsEveryPasswordCheck: a disabled user's wrong passwords and
// the original password of a self-service change count too, as in Keystone.
func TestLockoutCountsEveryPasswordCheck(t *testing.T) {
	f := lockoutFixture(t, time.Hour)
	demo := f.user(t, "demo")
	for range 3 {
		if err := f.Service.ChangePassword(f.Ctx, asAdmin, demo.ID, "wrong", "new"); !isBadCredentials(err) {
			t.Fatalf("password change with a wrong original: %v", err)
		}
	}
	if err := f.Service.ChangePassword(f.Ctx, asAdmin, demo.ID, "demopw", "new"); !isLocked(err, demo.ID) {
		t.Fatalf("password change during lockout: %v", err)
	}
	if err := f.Service.ChangePassword(f.Ctx, asAdmin, "nobody", "x", "y"); !errors.Is(err, keystone.ErrNotFound) {
		t.Fatalf("password change of a missing user: %v", err)
	}
	f.Now = f.Now.Add(time.Hour)
	if err := f.Service.ChangePassword(f.Ctx, asAdmin, demo.ID, "demopw", "new"); err != nil {
		t.Fatalf("password change after the lockout: %v", err)
	}
	off := false
	if _, err := f.Service.UpdateUser(f.Ctx, asAdmin, demo.ID, keystone.UserPatch{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, _ = f.password("demo", "wrong", keystone.Scope{})
	}
	if u := f.user(t, "demo"); u.FailedAuthCount != 3 {
		t.Fatalf("failures of a disabled user counted %d, want 3", u.FailedAuthCount)
	}
	if _, err := f.password("demo", "new", keystone.Scope{}); !isLocked(err, demo.ID) {
		t.Fatalf("locked and disabled user: %v", err)
	}
}

// TestLockoutHoldsUnderConcurrentGuesses: guesses sent at once get no more
// tries than guesses sent one by one.
func TestLockoutHoldsUnderConcurrentGuesses(t *testing.T) {
	f := newFixture(t, keystonetest.WithConfig(func(c *keystone.Config) {
		c.LockoutFailureAttempts, c.LockoutDuration, c.PasswordIterations = 3, time.Hour, 20_000
	}))
	demo := f.user(t, "demo")
	const n = 12
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = f.password("demo", fmt.Sprintf("guess-%d", i), keystone.Scope{})
		}()
	}
	close(start)
	wg.Wait()
	checked, locked := 0, 0
	for _, err := range errs {
		switch {
		case isBadCredentials(err):
			checked++
		case isLocked(err, demo.ID):
			locked++
		default:
			t.Fatalf("unexpected answer: %v", err)
		}
	}
	if checked != 3 || locked != n-3 {
		t.Fatalf("%d concurrent guesses: %d checked, %d refused as locked; want 3 and %d", n, checked, locked, n-3)
	}
	if u := f.user(t, "demo"); u.FailedAuthCount != 3 {
		t.Fatalf("failure count %d, want 3", u.FailedAuthCount)
	}
}

// TestLoginTimingHidesUserNames: refusing an unknown user, an unknown domain,
// a disabled user or a user without a password takes as long as refusing a
// wrong password, so response times do not tell which names exist.
func TestLoginTimingHidesUserNames(t *testing.T) {
	f := newFixture(t, keystonetest.WithConfig(func(c *keystone.Config) {
		c.PasswordIterations = 20_000 // a few ms per check: clear of scheduling noise, quick to run
		c.LockoutFailureAttempts, c.LockoutDuration = 1_000_000, time.Hour
	}))
	if _, err := f.Service.CreateUser(f.Ctx, asAdmin, keystone.User{Name: "off", Enabled: false}, "offpw"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Service.CreateUser(f.Ctx, asAdmin, keystone.User{Name: "nopw", Enabled: true}, ""); err != nil {
		t.Fatal(err)
	}
	type attempt struct{ name, user, domain, userID string }
	attempts := []attempt{
		{name: "wrong password", user: "demo", domain: "Default"},
		{name: "unknown user", user: "ghost", domain: "Default"},
		{name: "unknown domain", user: "demo", domain: "Nowhere"},
		{name: "unknown user id", userID: "0123456789abcdef0123456789abcdef"},
		{name: "disabled user", user: "off", domain: "Default"},
		{name: "user without password", user: "nopw", domain: "Default"},
	}
	const rounds = 9
	samples := make([][]time.Duration, len(attempts))
	for range rounds {
		for i, a := range attempts { // interleaved, so that load changes hit every kind alike
			start := time.Now()
			_, err := f.Service.Authenticate(f.Ctx, keystone.AuthRequest{Methods: []string{"password"},
				Password: &keystone.PasswordIdentity{UserID: a.userID, UserName: a.user, DomainName: a.domain, Password: "wrong"}})
			samples[i] = append(samples[i], time.Since(start))
			if !isBadCredentials(err) {
				t.Fatalf("%s: %v", a.name, err)
			}
		}
	}
	// The fastest of each kind is its cost without the noise of other
	// processes (a loaded machine only ever adds time); a leak shows as a
	// kind whose fastest try is far from the others'.
	fastest := func(d []time.Duration) time.Duration { return slices.Min(d) }
	base := fastest(samples[0])
	for i, a := range attempts[1:] {
		m := fastest(samples[i+1])
		ratio := float64(m) / float64(base)
		t.Logf("%s: fastest %v, %.2f x wrong password (%v)", a.name, m, ratio, base)
		if ratio < 0.5 || ratio > 2 {
			t.Errorf("%s takes %v, wrong password %v: ratio %.2f outside 0.5..2", a.name, m, base, ratio)
		}
	}
}

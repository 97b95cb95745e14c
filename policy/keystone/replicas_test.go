package keystone_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	commondb "imagestack/common/db"
	"imagestack/common/db/dbtest"
	"imagestack/policy"
	"imagestack/policy/keystone"
	keystonedb "imagestack/policy/keystone/db"
	"imagestack/policy/keystone/keystonetest"
)

// replicaPair is two identity services (API replicas) on one database,
// each with its own connections, sharing a clock the test moves.
type replicaPair struct {
	a, b *keystone.Service
	now  time.Time
	ctx  context.Context
}

func newReplicaPair(t *testing.T, dsn string) *replicaPair {
	t.Helper()
	p := &replicaPair{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), ctx: context.Background()}
	enforcer, err := policy.NewEnforcer("", keystone.Defaults)
	if err != nil {
		t.Fatal(err)
	}
	open := func() *keystone.Service {
		gdb, err := commondb.Open(p.ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if sqlDB, err := gdb.DB(); err == nil {
				sqlDB.Close()
			}
		})
		repo, err := keystonedb.New(gdb)
		if err != nil {
			t.Fatal(err)
		}
		svc := keystone.New(repo, enforcer, keystone.Config{PasswordIterations: 1000}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		svc.SetClock(func() time.Time { return p.now })
		return svc
	}
	p.a, p.b = open(), open()
	if _, err := p.a.BootstrapFirstStart(p.ctx, keystone.DefaultAccounts, keystonetest.Passwords); err != nil {
		t.Fatal(err)
	}
	return p
}

// demoToken issues a token for demo on its project through A and has B
// validate (and cache) it.
func (p *replicaPair) demoToken(t *testing.T) *keystone.Token {
	t.Helper()
	tok, err := p.a.Authenticate(p.ctx, keystone.AuthRequest{Methods: []string{"password"},
		Password: &keystone.PasswordIdentity{UserName: "demo", DomainName: "Default", Password: keystonetest.Passwords["demo"]},
		Scope:    keystone.Scope{ProjectName: "demo", ProjectDomainID: keystone.DefaultDomainID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.b.Validate(p.ctx, tok.ID); err != nil {
		t.Fatalf("B refuses a fresh token: %v", err)
	}
	return tok
}

// Token revocation and role changes made through one replica take effect
// on every other replica sharing the database within
// keystone.DefaultValidationCacheTTL (on the replica that made them, at
// once).
func TestChangesReachOtherReplicasWithinCacheTTL(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		changesReachOtherReplicas(t, newReplicaPair(t, "sqlite:"+filepath.Join(t.TempDir(), "identity.db")))
	})
	t.Run("mysql", func(t *testing.T) { changesReachOtherReplicas(t, newReplicaPair(t, dbtest.MySQLDSN(t))) })
}

func changesReachOtherReplicas(t *testing.T, p *replicaPair) {
	revoked := p.demoToken(t)
	if err := p.a.Revoke(p.ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := p.a.Validate(p.ctx, revoked.ID); !errors.Is(err, keystone.ErrNotFound) {
		t.Fatalf("A accepts the token it revoked: %v", err)
	}
	held := p.demoToken(t)
	for _, r := range held.Roles {
		a := keystone.Assignment{UserID: held.User.ID, TargetType: keystone.TargetProject, TargetID: held.Project.ID, RoleID: r.ID}
		if err := p.a.Ungrant(p.ctx, keystonetest.Admin, a); err != nil && !errors.Is(err, keystone.ErrNotFound) {
			t.Fatal(err) // implied roles are not assignments of their own
		}
	}
	p.now = p.now.Add(keystone.DefaultValidationCacheTTL)
	if _, err := p.b.Validate(p.ctx, revoked.ID); !errors.Is(err, keystone.ErrNotFound) {
		t.Fatalf("B accepts a token revoked on A %v ago: %v", keystone.DefaultValidationCacheTTL, err)
	}
	if tok, err := p.b.Validate(p.ctx, held.ID); !errors.Is(err, keystone.ErrNotFound) {
		t.Fatalf("B accepts a token whose user lost every role on A %v ago: %+v %v", keystone.DefaultValidationCacheTTL, tok, err)
	}
}

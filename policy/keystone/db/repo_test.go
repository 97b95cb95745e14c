package db_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"imagestack/common/db"
	"imagestack/common/db/dbtest"
	"imagestack/policy/keystone"
	keystonedb "imagestack/policy/keystone/db"
	"imagestack/policy/keystone/repotest"
)

func TestRepositoryConformance(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		s, err := keystonedb.New(gdb)
		if err != nil {
			t.Fatal(err)
		}
		repotest.Run(t, s)
	})
}

func TestBootstrapConformance(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		s, err := keystonedb.New(gdb)
		if err != nil {
			t.Fatal(err)
		}
		repotest.RunBootstrap(t, s)
	})
}

// TestUpgradeMarksBootstrapped: a database an older version bootstrapped
// (users, no marker) is marked by the upgrade, so that a restart after the
// upgrade does not bring deleted default accounts back; one without users
// is not, so an interrupted first start still completes.
func TestUpgradeMarksBootstrapped(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, fresh *gorm.DB) {
		open := dbtest.OpenSQLite
		if db.EngineOf(fresh) == db.MySQL {
			open = dbtest.OpenMySQL
		}
		for _, withUsers := range []bool{true, false} {
			old := open(t)
			if err := db.MigrateTo(old, keystonedb.Component, keystonedb.Migrations, 4); err != nil {
				t.Fatal(err)
			}
			if err := old.Exec("INSERT INTO identity_domains (id, name, description, enabled) VALUES ('default','Default','',1)").Error; err != nil {
				t.Fatal(err)
			}
			if withUsers {
				if err := old.Exec("INSERT INTO identity_users (id, name, domain_id, default_project_id, enabled, password_hash, created_at) VALUES ('u1','ann','default','',1,'x',?)", time.Now().UTC()).Error; err != nil {
					t.Fatal(err)
				}
			}
			s, err := keystonedb.New(old)
			if err != nil {
				t.Fatal(err)
			}
			ran, err := s.Bootstrap(context.Background(), false, func(keystone.Repository) error { return nil })
			if err != nil || ran == withUsers {
				t.Fatalf("with users=%v: bootstrap after upgrade ran=%v err=%v", withUsers, ran, err)
			}
		}
	})
}

// TestUpgradeMatchesFresh builds the schema of each older version, stores data
// in it, upgrades, and checks the result equals a fresh database and kept the data.
func TestUpgradeMatchesFresh(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, fresh *gorm.DB) {
		if err := db.Migrate(fresh, keystonedb.Component, keystonedb.Migrations); err != nil {
			t.Fatal(err)
		}
		want, err := db.Describe(fresh, keystonedb.Tables...)
		if err != nil {
			t.Fatal(err)
		}
		for _, must := range []string{"table identity_users", "column email", "column password_hash", "column failed_auth_count", "table identity_bootstrap", "index uq_identity_projects_domain_name [domain_id name] unique=true", "table identity_tokens"} {
			if !strings.Contains(want, must) {
				t.Fatalf("schema description lacks %q:\n%s", must, want)
			}
		}
		latest := keystonedb.Migrations[len(keystonedb.Migrations)-1].Version
		for from := 1; from < latest; from++ {
			var old *gorm.DB
			if db.EngineOf(fresh) == db.MySQL {
				old = dbtest.OpenMySQL(t)
			} else {
				old = dbtest.OpenSQLite(t)
			}
			if err := db.MigrateTo(old, keystonedb.Component, keystonedb.Migrations, from); err != nil {
				t.Fatalf("migrate to %d: %v", from, err)
			}
			if err := old.Exec("INSERT INTO identity_domains (id, name, description, enabled) VALUES ('default','Default','',1)").Error; err != nil {
				t.Fatal(err)
			}
			if err := old.Exec("INSERT INTO identity_users (id, name, domain_id, default_project_id, enabled, password_hash, created_at) VALUES ('u1','ann','default','',1,'x',?)", time.Now().UTC()).Error; err != nil {
				t.Fatal(err)
			}
			s, err := keystonedb.New(old)
			if err != nil {
				t.Fatalf("upgrade from %d: %v", from, err)
			}
			got, err := db.Describe(old, keystonedb.Tables...)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("schema upgraded from v%d differs from fresh:\n--- upgraded\n%s\n--- fresh\n%s", from, got, want)
			}
			u, err := s.GetUser(context.Background(), "u1")
			if err != nil || u.Name != "ann" || u.DomainID != keystone.DefaultDomainID {
				t.Fatalf("data lost in upgrade from v%d: %+v %v", from, u, err)
			}
			v, _ := db.Version(old, keystonedb.Component)
			if v != latest {
				t.Fatalf("version after upgrade = %d, want %d", v, latest)
			}
		}
	})
}

func TestRefusesNewerSchema(t *testing.T) {
	gdb := dbtest.OpenSQLite(t)
	future := append([]db.Migration{}, keystonedb.Migrations...)
	future = append(future, db.Migration{Version: 999, Name: "future", Up: func(*gorm.DB) error { return nil }})
	if err := db.Migrate(gdb, keystonedb.Component, future); err != nil {
		t.Fatal(err)
	}
	if _, err := keystonedb.New(gdb); err == nil {
		t.Fatal("a database newer than the program must be refused")
	}
}

package db_test

import (
	"context"
	"errors"
	"testing"

	"imagestack/common/db/dbtest"
	"imagestack/policy/keystone"
	keystonedb "imagestack/policy/keystone/db"
)

// TestDatabaseOutage: with the database out of reach the identity store's
// calls (single statements and transactions alike) are
// keystone.ErrUnavailable: token validation answers 503, never a 401 that
// would tell clients their credentials are wrong.
func TestDatabaseOutage(t *testing.T) {
	gdb := dbtest.OpenSQLite(t)
	s, err := keystonedb.New(gdb)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := gdb.DB()
	sqlDB.Close()
	ctx := context.Background()
	_, tokErr := s.GetToken(ctx, "hash")
	_, userErr := s.GetUser(ctx, "u")
	_, bootErr := s.Bootstrap(ctx, false, func(keystone.Repository) error { return nil })
	for what, err := range map[string]error{
		"get token": tokErr, "get user": userErr, "bootstrap": bootErr,
		"create user": s.CreateUser(ctx, keystone.User{ID: "u", Name: "u", DomainID: "default"}),
	} {
		if !errors.Is(err, keystone.ErrUnavailable) {
			t.Errorf("%s with the database down: %v, want ErrUnavailable", what, err)
		}
	}
}

package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"imagestack/compute"
	computedb "imagestack/compute/db"
)

// TestQuotaLimits: limits per class, project and user are kept apart and
// overwritten in place; deleting a project's limits takes its users' too.
func TestQuotaLimits(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *computedb.Repo) {
		ctx := context.Background()
		project, user, class := compute.QuotaScope{ProjectID: "p"}, compute.QuotaScope{ProjectID: "p", UserID: "u"}, compute.QuotaScope{Class: "default"}
		for _, set := range []struct {
			scope  compute.QuotaScope
			limits map[string]int
		}{{project, map[string]int{"cores": 4, "ram": -1}}, {project, map[string]int{"cores": 5}}, {user, map[string]int{"cores": 2}}, {class, map[string]int{"instances": 7}}} {
			if err := r.SetQuotaLimits(ctx, set.scope, set.limits); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			scope compute.QuotaScope
			want  map[string]int
		}{{project, map[string]int{"cores": 5, "ram": -1}}, {user, map[string]int{"cores": 2}}, {class, map[string]int{"instances": 7}}} {
			got, err := r.QuotaLimits(ctx, c.scope)
			if err != nil || len(got) != len(c.want) || got["cores"] != c.want["cores"] || got["ram"] != c.want["ram"] || got["instances"] != c.want["instances"] {
				t.Fatalf("%+v: %v %v, want %v", c.scope, got, err, c.want)
			}
		}
		if err := r.DeleteQuotaLimits(ctx, project); err != nil {
			t.Fatal(err)
		}
		for _, sc := range []compute.QuotaScope{project, user} {
			if got, _ := r.QuotaLimits(ctx, sc); len(got) != 0 {
				t.Fatalf("%+v after delete: %v", sc, got)
			}
		}
		if got, _ := r.QuotaLimits(ctx, class); got["instances"] != 7 {
			t.Fatalf("class after a project's delete: %v", got)
		}
	})
}

// TestServerGroups: groups within the project's quota, members within the
// group's, in joining order with their hosts; a deleted group takes its
// memberships along.
func TestServerGroups(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *computedb.Repo) {
		ctx := context.Background()
		t0 := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
		g := compute.ServerGroup{ID: "g1", Name: "g", ProjectID: "p", UserID: "u", Policy: compute.PolicyAntiAffinity, MaxServerPerHost: 2, CreatedAt: t0}
		if err := r.CreateServerGroup(ctx, g, 1); err != nil {
			t.Fatal(err)
		}
		g2 := g
		g2.ID = "g2"
		if err := r.CreateServerGroup(ctx, g2, 1); !errors.Is(err, compute.ErrOverQuota) {
			t.Fatalf("group beyond quota: %v", err)
		}
		if err := r.AddGroupMembers(ctx, "g1", []string{"s2", "s1"}, 2); err != nil {
			t.Fatal(err)
		}
		if err := r.AddGroupMembers(ctx, "g1", []string{"s3"}, 2); !errors.Is(err, compute.ErrOverQuota) {
			t.Fatalf("member beyond quota: %v", err)
		}
		if err := r.SetMemberHost(ctx, "s1", "h1"); err != nil {
			t.Fatal(err)
		}
		got, err := r.GroupOfServer(ctx, "s1")
		if err != nil || got.ID != "g1" || got.MaxServerPerHost != 2 || !got.CreatedAt.Equal(t0) || len(got.Members) != 2 ||
			got.Members[0] != (compute.GroupMember{ServerID: "s2"}) || got.Members[1] != (compute.GroupMember{ServerID: "s1", Host: "h1"}) {
			t.Fatalf("group of s1: %+v %v", got, err)
		}
		if err := r.RemoveGroupMember(ctx, "s2"); err != nil {
			t.Fatal(err)
		}
		if n, _ := r.CountServerGroups(ctx, "p"); n != 1 {
			t.Fatalf("count: %d", n)
		}
		if list, _ := r.ListServerGroups(ctx, ""); len(list) != 1 || len(list[0].Members) != 1 {
			t.Fatalf("list: %+v", list)
		}
		// Groups created in the same millisecond list in creation order.
		for _, id := range []string{"z", "a", "m"} {
			if err := r.CreateServerGroup(ctx, compute.ServerGroup{ID: id, ProjectID: "q", Policy: compute.PolicyAffinity, CreatedAt: t0}, 10); err != nil {
				t.Fatal(err)
			}
		}
		if list, _ := r.ListServerGroups(ctx, "q"); len(list) != 3 || list[0].ID != "z" || list[1].ID != "a" || list[2].ID != "m" {
			t.Fatalf("groups of one millisecond: %+v", list)
		}
		if err := r.DeleteServerGroup(ctx, "g1"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.GroupOfServer(ctx, "s1"); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("membership after the group's delete: %v", err)
		}
		if err := r.DeleteServerGroup(ctx, "g1"); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
	})
}

package db_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"imagestack/compute"
	computedb "imagestack/compute/db"
)

// listFixture stores seven servers of project p (and one of q) whose
// fields differ in ways the listing tests look at; two share a creation
// time, so that only the id tells them apart.
func listFixture(t *testing.T, r *computedb.Repo) map[string]*compute.Server {
	t.Helper()
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	specs := []struct {
		name, user, vm, key string
		tags                []string
		locked, drive       bool
		ip                  string
		at                  int
	}{
		{"alpha", "u1", compute.VMActive, "k1", []string{"a", "b"}, false, true, "10.0.0.1", 0},
		{"bravo", "u2", compute.VMActive, "", []string{"a"}, true, false, "10.0.1.2", 1},
		{"charlie", "u1", compute.VMStopped, "k2", []string{"b", "c"}, false, false, "", 2},
		{"delta", "u1", compute.VMDeleted, "", []string{"a", "b"}, false, false, "", 3},
		{"echo", "u2", compute.VMActive, "k1", nil, true, true, "fd00::5", 4},
		{"foxtrot", "u1", compute.VMError, "", []string{"c"}, false, false, "", 4},
		{"golf", "u1", compute.VMActive, "", nil, false, false, "", 5},
	}
	servers := newServers("p", len(specs))
	byName := map[string]*compute.Server{}
	for i, sp := range specs {
		sv := servers[i]
		sv.Name, sv.UserID, sv.VMState, sv.KeyName, sv.Tags = sp.name, sp.user, sp.vm, sp.key, sp.tags
		sv.Locked, sv.ConfigDrive = sp.locked, sp.drive
		sv.CreatedAt = base.Add(time.Duration(sp.at) * time.Minute)
		sv.UpdatedAt = sv.CreatedAt.Add(time.Minute)
		if sp.ip != "" {
			v := 4
			if strings.Contains(sp.ip, ":") {
				v = 6
			}
			sv.NICs = []compute.NIC{{PortID: "port-" + sp.name, IPs: []compute.FixedIP{{Address: sp.ip, Version: v}}}}
		}
		byName[sp.name] = sv
	}
	if _, err := r.CreateServers(context.Background(), "p", servers, upTo(20, len(servers))); err != nil {
		t.Fatal(err)
	}
	other := newServers("q", 1)
	other[0].Name = "other"
	if _, err := r.CreateServers(context.Background(), "q", other, upTo(20, 1)); err != nil {
		t.Fatal(err)
	}
	return byName
}

func names(list []*compute.Server) string {
	out := make([]string, len(list))
	for i, sv := range list {
		out[i] = sv.Name
	}
	return strings.Join(out, " ")
}

func listOf(t *testing.T, r *computedb.Repo, f compute.ServerFilter) []*compute.Server {
	t.Helper()
	got, err := r.ListServers(context.Background(), f)
	if err != nil {
		t.Fatalf("%+v: %v", f, err)
	}
	return got
}

// TestListServersOrderAndPages: several sort keys, each with its own
// direction, on every engine; paging by two with the last server as
// marker walks the same order, and a page back (the order reversed, the
// first server of a page as marker, as Horizon asks) returns exactly the
// servers before it.
func TestListServersOrderAndPages(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *computedb.Repo) {
		fx := listFixture(t, r)
		tie := []string{fx["echo"].Name, fx["foxtrot"].Name} // same created_at: id decides
		if fx["echo"].ID > fx["foxtrot"].ID {
			tie[0], tie[1] = tie[1], tie[0]
		}
		orders := []struct {
			sort []compute.SortKey
			want string
		}{
			{nil, "golf " + tie[1] + " " + tie[0] + " charlie bravo alpha"},
			{[]compute.SortKey{{Key: "created_at"}}, "alpha bravo charlie " + tie[0] + " " + tie[1] + " golf"},
			{[]compute.SortKey{{Key: "display_name"}}, "alpha bravo charlie echo foxtrot golf"},
			{[]compute.SortKey{{Key: "user_id"}, {Key: "display_name", Desc: true}}, "golf foxtrot charlie alpha echo bravo"},
			{[]compute.SortKey{{Key: "locked", Desc: true}, {Key: "created_at"}}, "bravo echo alpha charlie foxtrot golf"},
			{[]compute.SortKey{{Key: "vm_state"}, {Key: "key_name", Desc: true}}, "alpha echo bravo golf foxtrot charlie"},
			{[]compute.SortKey{{Key: "config_drive"}, {Key: "uuid"}}, ""},
		}
		for _, o := range orders {
			full := listOf(t, r, compute.ServerFilter{ProjectID: "p", ServerFilterMore: compute.ServerFilterMore{Sort: o.sort}})
			if o.want != "" && names(full) != o.want {
				t.Errorf("sort %v: %s, want %s", o.sort, names(full), o.want)
			}
			var paged []*compute.Server
			marker := ""
			for range 10 {
				page := listOf(t, r, compute.ServerFilter{ProjectID: "p", Limit: 2, Marker: marker, ServerFilterMore: compute.ServerFilterMore{Sort: o.sort}})
				if len(page) == 0 {
					break
				}
				paged, marker = append(paged, page...), page[len(page)-1].ID
			}
			if names(paged) != names(full) {
				t.Errorf("sort %v paged by two: %s, want %s", o.sort, names(paged), names(full))
			}
		}
		// Horizon: page 2 of the default order, then back with sort_dir asc
		// and the first server of page 2 as marker.
		full := listOf(t, r, compute.ServerFilter{ProjectID: "p"})
		page2 := listOf(t, r, compute.ServerFilter{ProjectID: "p", Limit: 2, Marker: full[1].ID})
		back := listOf(t, r, compute.ServerFilter{ProjectID: "p", Limit: 2, Marker: page2[0].ID,
			ServerFilterMore: compute.ServerFilterMore{Sort: []compute.SortKey{{Key: "created_at"}}}})
		slices.Reverse(back)
		if names(back) != names(full[:2]) {
			t.Fatalf("back from %s: %s, want %s", names(page2), names(back), names(full[:2]))
		}
		if _, err := r.ListServers(context.Background(), compute.ServerFilter{Marker: "nope"}); !errors.Is(err, compute.ErrNotFound) {
			t.Fatalf("unknown marker: %v", err)
		}
	})
}

// TestListServersFilters: each filter of a listing, on every engine.
func TestListServersFilters(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *computedb.Repo) {
		fx := listFixture(t, r)
		yes, no := true, false
		long := time.Hour * 24
		since, before := fx["delta"].UpdatedAt, fx["charlie"].UpdatedAt
		byName := compute.SortKey{Key: "display_name"}
		for _, c := range []struct {
			name string
			f    compute.ServerFilterMore
			want string
		}{
			{"user", compute.ServerFilterMore{UserID: "u2"}, "bravo echo"},
			{"tags all", compute.ServerFilterMore{Tags: []string{"a", "b"}}, "alpha"},
			{"tags any", compute.ServerFilterMore{TagsAny: []string{"a", "c"}}, "alpha bravo charlie foxtrot"},
			{"not all tags", compute.ServerFilterMore{NotTags: []string{"a", "b"}}, "bravo charlie echo foxtrot golf"},
			{"no tag of", compute.ServerFilterMore{NotTagsAny: []string{"a", "c"}}, "echo golf"},
			{"tags and not", compute.ServerFilterMore{Tags: []string{"b"}, NotTagsAny: []string{"c"}}, "alpha"},
			{"locked", compute.ServerFilterMore{Locked: &yes}, "bravo echo"},
			{"unlocked", compute.ServerFilterMore{Locked: &no}, "alpha charlie foxtrot golf"},
			{"config drive", compute.ServerFilterMore{ConfigDrive: &yes}, "alpha echo"},
			{"key name", compute.ServerFilterMore{KeyName: "^k"}, "alpha charlie echo"},
			{"ip", compute.ServerFilterMore{IP: `10\.0\.1`}, "bravo"},
			{"ip from the start", compute.ServerFilterMore{IP: `0\.1`}, ""},
			{"ip6", compute.ServerFilterMore{IP6: "fd00"}, "echo"},
			{"deleted only", compute.ServerFilterMore{Deleted: &yes}, "delta"},
			{"changes-before", compute.ServerFilterMore{ChangesBefore: &before}, "alpha bravo charlie"},
			{"deleted not", compute.ServerFilterMore{Deleted: &no, ChangesBefore: &before}, "alpha bravo charlie"},
		} {
			c.f.Sort = []compute.SortKey{byName}
			if got := names(listOf(t, r, compute.ServerFilter{ProjectID: "p", ServerFilterMore: c.f})); got != c.want {
				t.Errorf("%s: %s, want %s", c.name, got, c.want)
			}
		}
		sinceF := compute.ServerFilter{ProjectID: "p", ChangesSince: &since, ServerFilterMore: compute.ServerFilterMore{Sort: []compute.SortKey{byName}}}
		if got := names(listOf(t, r, sinceF)); got != "delta echo foxtrot golf" {
			t.Errorf("changes-since includes the deleted: %s", got)
		}
		future := time.Now().Add(long)
		if got := listOf(t, r, compute.ServerFilter{ChangesSince: &future}); len(got) != 0 {
			t.Errorf("changes-since tomorrow: %s", names(got))
		}
		// A page of an address filter is full when enough servers match.
		if got := listOf(t, r, compute.ServerFilter{ProjectID: "p", Limit: 1, ServerFilterMore: compute.ServerFilterMore{IP: "10"}}); names(got) != "bravo" {
			t.Errorf("ip, limit 1: %s", names(got))
		}
		all := listOf(t, r, compute.ServerFilter{})
		if len(all) != 7 {
			t.Errorf("every project's live servers: %s", names(all))
		}
		if sv := listOf(t, r, compute.ServerFilter{ProjectID: "p", Name: "^alpha$"})[0]; fmt.Sprint(sv.Tags) != "[a b]" {
			t.Errorf("listed tags: %v", sv.Tags)
		}
	})
}

// TestServerTagsStored: tags are created with a server, read with it and
// replaced by UpdateServer, on every engine.
func TestServerTagsStored(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *computedb.Repo) {
		ctx := context.Background()
		sv := newServers("p", 1)[0]
		sv.Tags = []string{"x", "y"}
		if _, err := r.CreateServers(ctx, "p", []*compute.Server{sv}, upTo(5, 1)); err != nil {
			t.Fatal(err)
		}
		got, err := r.GetServer(ctx, sv.ID)
		if err != nil || fmt.Sprint(got.Tags) != "[x y]" {
			t.Fatalf("created: %v %v", got.Tags, err)
		}
		got.Tags = []string{"y", "z"}
		if err := r.UpdateServer(ctx, got); err != nil {
			t.Fatal(err)
		}
		if got, _ = r.GetServer(ctx, sv.ID); fmt.Sprint(got.Tags) != "[y z]" {
			t.Fatalf("replaced: %v", got.Tags)
		}
		got.Tags = nil
		if err := r.UpdateServer(ctx, got); err != nil {
			t.Fatal(err)
		}
		if got, _ = r.GetServer(ctx, sv.ID); len(got.Tags) != 0 {
			t.Fatalf("removed: %v", got.Tags)
		}
	})
}

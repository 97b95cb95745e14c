package db_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"imagestack/common/db/dbtest"
	"imagestack/glance"
	glancedb "imagestack/glance/db"
)

func ptr[T any](v T) *T { return &v }

var base = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func newImage(id, owner, vis string, minute int) *glance.Image {
	return &glance.Image{ID: id, Name: ptr("img-" + id), Status: glance.StatusQueued, Visibility: vis,
		Owner: ptr(owner), CreatedAt: base.Add(time.Duration(minute) * time.Minute), UpdatedAt: base.Add(time.Duration(minute) * time.Minute),
		Tags: []string{}, Properties: map[string]string{}}
}

func ids(ims []*glance.Image) []string {
	out := make([]string, len(ims))
	for i, im := range ims {
		out[i] = im.ID
	}
	return out
}

func TestRepository(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *glancedb.Repo) {
		ctx := context.Background()
		im := newImage("00000000-0000-0000-0000-000000000001", "A", glance.VisibilityPrivate, 0)
		im.Tags = []string{"b", "a"}
		im.Properties = map[string]string{"os_distro": "debian", "hw_x": "1"}
		if err := r.Create(ctx, im); err != nil {
			t.Fatal(err)
		}
		if err := r.Create(ctx, im); !errors.Is(err, glance.ErrConflict) {
			t.Fatalf("duplicate id: %v", err)
		}
		got, err := r.Get(ctx, im.ID)
		if err != nil {
			t.Fatal(err)
		}
		if *got.Name != "img-"+im.ID || !slices.Equal(got.Tags, []string{"a", "b"}) || got.Properties["os_distro"] != "debian" || !got.CreatedAt.Equal(im.CreatedAt) {
			t.Fatalf("round trip: %+v", got)
		}
		// Update changes the current state under the row lock, and refusals write nothing.
		next, err := r.Update(ctx, im.ID, func(cur *glance.Image) error { cur.Status = glance.StatusSaving; return nil })
		if err != nil || next.Version != got.Version+1 {
			t.Fatalf("update: %v, version %d after %d", err, next.Version, got.Version)
		}
		refused := errors.New("refused")
		if _, err := r.Update(ctx, im.ID, func(cur *glance.Image) error { cur.Name = ptr("x"); return refused }); err != refused {
			t.Fatalf("refused update: %v", err)
		}
		_, err = r.Update(ctx, im.ID, func(cur *glance.Image) error {
			cur.Status, cur.Size, cur.Checksum = glance.StatusActive, ptr(int64(42)), ptr("abc")
			cur.Properties = map[string]string{"os_distro": "ubuntu"}
			cur.Tags = []string{"z"}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, _ = r.Get(ctx, im.ID)
		if got.Status != glance.StatusActive || *got.Size != 42 || *got.Name != "img-"+im.ID || len(got.Properties) != 1 || !slices.Equal(got.Tags, []string{"z"}) || got.Version != 2 {
			t.Fatalf("after updates: %+v", got)
		}
		if _, err := r.Update(ctx, "00000000-0000-0000-0000-00000000dead", func(*glance.Image) error { return nil }); !errors.Is(err, glance.ErrNotFound) {
			t.Fatalf("update of a missing image: %v", err)
		}
		// Concurrent updates run one after the other: none is lost.
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := r.Update(ctx, im.ID, func(cur *glance.Image) error {
					cur.Properties[fmt.Sprintf("p%d", i)] = "v"
					return nil
				}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if got, _ = r.Get(ctx, im.ID); len(got.Properties) != 9 || got.Version != 10 {
			t.Fatalf("concurrent updates: %d properties, version %d", len(got.Properties), got.Version)
		}
		// Members.
		m := glance.Member{ImageID: im.ID, MemberID: "B", Status: glance.MemberPending, CreatedAt: base, UpdatedAt: base}
		if err := r.AddMember(ctx, m); err != nil {
			t.Fatal(err)
		}
		if err := r.AddMember(ctx, m); !errors.Is(err, glance.ErrConflict) {
			t.Fatalf("duplicate member: %v", err)
		}
		m.Status = glance.MemberAccepted
		if err := r.UpdateMember(ctx, m); err != nil {
			t.Fatal(err)
		}
		if gm, _ := r.GetMember(ctx, im.ID, "B"); gm.Status != glance.MemberAccepted {
			t.Fatalf("member: %+v", gm)
		}
		if err := r.DeleteMember(ctx, im.ID, "C"); !errors.Is(err, glance.ErrNotFound) {
			t.Fatalf("delete absent member: %v", err)
		}
		// Delete keeps the id taken.
		if err := r.Delete(ctx, im.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Get(ctx, im.ID); !errors.Is(err, glance.ErrNotFound) {
			t.Fatalf("get deleted: %v", err)
		}
		if err := r.Delete(ctx, im.ID); !errors.Is(err, glance.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
		if err := r.Create(ctx, newImage(im.ID, "A", glance.VisibilityPrivate, 1)); !errors.Is(err, glance.ErrConflict) {
			t.Fatalf("reusing a deleted id: %v", err)
		}
	})
}

// seed creates a mix of images for the list tests.
func seed(t *testing.T, r *glancedb.Repo) {
	ctx := context.Background()
	specs := []struct {
		id, owner, vis string
		size           int64
		tags           []string
		props          map[string]string
		hidden         bool
		status         string
	}{
		{"01", "A", "private", 10, []string{"x"}, map[string]string{"os": "linux"}, false, "active"},
		{"02", "A", "shared", 20, []string{"x", "y"}, nil, false, "active"},
		{"03", "B", "public", 30, nil, map[string]string{"os": "linux"}, false, "active"},
		{"04", "B", "private", 40, nil, nil, false, "active"},
		{"05", "B", "shared", 50, []string{"y"}, nil, false, "active"},
		{"06", "B", "community", 60, nil, nil, false, "active"},
		{"07", "A", "community", 70, nil, nil, false, "queued"},
		{"08", "B", "public", 80, nil, nil, true, "active"},
		{"09", "B", "public", 90, nil, nil, false, "killed"},
		{"10", "C", "shared", 100, nil, nil, false, "active"},
	}
	for i, s := range specs {
		im := newImage(s.id, s.owner, s.vis, i)
		im.Size, im.Status, im.OSHidden = ptr(s.size), s.status, s.hidden
		if s.tags != nil {
			im.Tags = s.tags
		}
		if s.props != nil {
			im.Properties = s.props
		}
		if err := r.Create(ctx, im); err != nil {
			t.Fatal(err)
		}
	}
	// 05 is shared with A and accepted; 10 is shared with A but pending.
	now := time.Now()
	r.AddMember(ctx, glance.Member{ImageID: "05", MemberID: "A", Status: glance.MemberAccepted, CreatedAt: now, UpdatedAt: now})
	r.AddMember(ctx, glance.Member{ImageID: "10", MemberID: "A", Status: glance.MemberPending, CreatedAt: now, UpdatedAt: now})
}

func TestListVisibilityAndFilters(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *glancedb.Repo) {
		seed(t, r)
		asc := []glance.SortKey{{Key: "id"}}
		cases := []struct {
			name string
			q    glance.ListQuery
			want []string
		}{
			{"default set for A", glance.ListQuery{ProjectID: "A"}, []string{"01", "02", "03", "05", "07"}},
			{"pending shares", glance.ListQuery{ProjectID: "A", MemberStatus: "pending"}, []string{"01", "02", "03", "07", "10"}},
			{"all member statuses", glance.ListQuery{ProjectID: "A", MemberStatus: "all"}, []string{"01", "02", "03", "05", "07", "10"}},
			{"community asked for", glance.ListQuery{ProjectID: "A", Visibility: "community"}, []string{"06", "07"}},
			{"shared only", glance.ListQuery{ProjectID: "A", Visibility: "shared"}, []string{"02", "05"}},
			{"private only", glance.ListQuery{ProjectID: "A", Visibility: "private"}, []string{"01"}},
			{"admin sees all but community and hidden", glance.ListQuery{ProjectID: "Z", IsAdmin: true}, []string{"01", "02", "03", "04", "05", "10"}},
			{"hidden", glance.ListQuery{ProjectID: "A", OSHidden: ptr(true)}, []string{"08"}},
			{"tag", glance.ListQuery{ProjectID: "A", Tags: []string{"x"}}, []string{"01", "02"}},
			{"tags AND", glance.ListQuery{ProjectID: "A", Tags: []string{"x", "y"}}, []string{"02"}},
			{"property", glance.ListQuery{ProjectID: "A", Properties: map[string]string{"os": "linux"}}, []string{"01", "03"}},
			{"size range", glance.ListQuery{ProjectID: "A", SizeMin: ptr(int64(20)), SizeMax: ptr(int64(50))}, []string{"02", "03", "05"}},
			{"in list", glance.ListQuery{ProjectID: "A", IDs: []string{"01", "03", "04"}}, []string{"01", "03"}},
			{"status", glance.ListQuery{ProjectID: "A", Statuses: []string{"queued"}}, []string{"07"}},
			{"owner", glance.ListQuery{ProjectID: "A", Owner: ptr("B")}, []string{"03", "05"}},
			{"created after", glance.ListQuery{ProjectID: "A", CreatedAt: []glance.TimeFilter{{Op: "gt", Time: base.Add(2 * time.Minute)}}}, []string{"05", "07"}},
		}
		for _, c := range cases {
			c.q.Sort = asc
			got, err := r.List(context.Background(), c.q)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if !slices.Equal(ids(got), c.want) {
				t.Errorf("%s: got %v, want %v", c.name, ids(got), c.want)
			}
		}
	})
}

func TestListSortAndPaging(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *glancedb.Repo) {
		ctx := context.Background()
		// Names with ties and NULLs, to exercise the tie-breakers.
		names := []*string{ptr("b"), nil, ptr("a"), ptr("b"), nil, ptr("c"), ptr("a")}
		for i, n := range names {
			im := newImage(fmt.Sprintf("p%02d", i), "A", "private", i%3)
			im.Name = n
			if err := r.Create(ctx, im); err != nil {
				t.Fatal(err)
			}
		}
		for _, sortKeys := range [][]glance.SortKey{
			{{Key: "name"}},
			{{Key: "name", Desc: true}},
			{{Key: "name"}, {Key: "created_at", Desc: true}},
			nil, // default: created_at desc, id desc
		} {
			full, err := r.List(ctx, glance.ListQuery{ProjectID: "A", Sort: sortKeys})
			if err != nil {
				t.Fatal(err)
			}
			if len(full) != len(names) {
				t.Fatalf("full list: %d", len(full))
			}
			var paged []string
			marker := ""
			for range 10 {
				page, err := r.List(ctx, glance.ListQuery{ProjectID: "A", Sort: sortKeys, Limit: 2, Marker: marker})
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, ids(page)...)
				if len(page) < 2 {
					break
				}
				marker = page[len(page)-1].ID
			}
			if !slices.Equal(paged, ids(full)) {
				t.Fatalf("sort %v: pages %v differ from full list %v", sortKeys, paged, ids(full))
			}
		}
		if _, err := r.List(ctx, glance.ListQuery{ProjectID: "A", Marker: "nope"}); !errors.Is(err, glance.ErrNotFound) {
			t.Fatalf("unknown marker: %v", err)
		}
	})
}

// TestListQueryCount: one page costs the same number of SQL statements
// whatever the page size and however many properties and tags images carry.
func TestListQueryCount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		r, err := glancedb.New(gdb)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for i := range 60 {
			im := newImage(fmt.Sprintf("q%03d", i), "A", "private", i)
			for j := range 10 {
				im.Properties[fmt.Sprintf("k%d", j)] = "v"
			}
			im.Tags = []string{"t1", "t2", "t3"}
			if err := r.Create(ctx, im); err != nil {
				t.Fatal(err)
			}
		}
		var count int
		gdb.Callback().Query().After("gorm:query").Register("count_queries", func(*gorm.DB) { count++ })
		defer gdb.Callback().Query().Remove("count_queries")
		counts := map[int]int{}
		for _, limit := range []int{1, 5, 50} {
			count = 0
			page, err := r.List(ctx, glance.ListQuery{ProjectID: "A", Limit: limit, Marker: "q001"})
			if err != nil || len(page) == 0 {
				t.Fatal(err)
			}
			if len(page[0].Properties) != 10 || len(page[0].Tags) != 3 {
				t.Fatalf("children not loaded: %+v", page[0])
			}
			counts[limit] = count
		}
		if counts[1] != counts[5] || counts[5] != counts[50] || counts[1] > 5 { // marker, page, properties, tags, locations
			t.Fatalf("queries per page by limit: %v", counts)
		}
	})
}

func TestImageUpgradeMatchesFresh(t *testing.T) {
	dbtest.UpgradeMatchesFresh(t, glancedb.Component, glancedb.Migrations, glancedb.Tables)
}

func TestLocations(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *glancedb.Repo) {
		ctx := context.Background()
		im := newImage("00000000-0000-0000-0000-0000000000a1", "A", glance.VisibilityPrivate, 0)
		if err := r.Create(ctx, im); err != nil {
			t.Fatal(err)
		}
		if err := r.AddLocation(ctx, im.ID, "fast", glance.LocationActive); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // locations are ordered by arrival
		if err := r.AddLocation(ctx, im.ID, "cheap", glance.LocationPending); err != nil {
			t.Fatal(err)
		}
		if err := r.AddLocation(ctx, im.ID, "cheap", glance.LocationPending); !errors.Is(err, glance.ErrConflict) {
			t.Fatalf("second location in one store: %v", err)
		}
		if err := r.AddLocation(ctx, "00000000-0000-0000-0000-00000000dead", "fast", glance.LocationActive); !errors.Is(err, glance.ErrNotFound) {
			t.Fatalf("location of a missing image: %v", err)
		}
		got, _ := r.Get(ctx, im.ID)
		want := []glance.Location{{Store: "fast", Status: glance.LocationActive}, {Store: "cheap", Status: glance.LocationPending}}
		if !slices.Equal(got.Locations, want) {
			t.Fatalf("locations: %v", got.Locations)
		}
		// Update leaves locations alone.
		if _, err := r.Update(ctx, im.ID, func(cur *glance.Image) error { cur.Locations = nil; return nil }); err != nil {
			t.Fatal(err)
		}
		if refs, err := r.ListLocations(ctx, glance.LocationPending); err != nil || len(refs) != 1 || refs[0] != (glance.LocationRef{ImageID: im.ID, Store: "cheap"}) {
			t.Fatalf("pending locations: %v %v", refs, err)
		}
		if err := r.SetLocationStatus(ctx, im.ID, "cheap", glance.LocationActive); err != nil {
			t.Fatal(err)
		}
		if err := r.SetLocationStatus(ctx, im.ID, "cheap", glance.LocationActive); err != nil {
			t.Fatalf("setting the same status again: %v", err)
		}
		if err := r.SetLocationStatus(ctx, im.ID, "nowhere", glance.LocationActive); !errors.Is(err, glance.ErrNotFound) {
			t.Fatalf("status of a missing location: %v", err)
		}
		if got, _ := r.Get(ctx, im.ID); !slices.Equal(got.ActiveStores(), []string{"fast", "cheap"}) {
			t.Fatalf("active stores: %v", got.ActiveStores())
		}
		if err := r.SetLocationMetadata(ctx, im.ID, "cheap", `{"k":"v"}`); err != nil {
			t.Fatal(err)
		}
		if err := r.SetLocationMetadata(ctx, im.ID, "nowhere", `{}`); !errors.Is(err, glance.ErrNotFound) {
			t.Fatalf("metadata of a missing location: %v", err)
		}
		if got, _ := r.Get(ctx, im.ID); got.Locations[1].Metadata != `{"k":"v"}` || got.Locations[0].Metadata != "" {
			t.Fatalf("location metadata: %+v", got.Locations)
		}
		if err := r.RemoveCopy(ctx, im.ID, "cheap"); err != nil {
			t.Fatal(err)
		}
		if err := r.RemoveCopy(ctx, im.ID, "fast"); !errors.Is(err, glance.ErrConflict) {
			t.Fatalf("removing the last copy: %v", err)
		}
		if err := r.RemoveCopy(ctx, im.ID, "cheap"); !errors.Is(err, glance.ErrNotFound) && !errors.Is(err, glance.ErrConflict) {
			t.Fatalf("removing a copy that is gone: %v", err)
		}
		if err := r.RemoveLocation(ctx, im.ID, "fast"); err != nil {
			t.Fatal(err)
		}
		if err := r.RemoveLocation(ctx, im.ID, "fast"); !errors.Is(err, glance.ErrNotFound) {
			t.Fatalf("removing twice: %v", err)
		}

		// Data from before locations existed is placed in the given store.
		old := newImage("00000000-0000-0000-0000-0000000000a2", "A", glance.VisibilityPrivate, 1)
		old.Status, old.BlobKey = glance.StatusActive, "legacy-key"
		if err := r.Create(ctx, old); err != nil {
			t.Fatal(err)
		}
		if n, err := r.AdoptUnplacedData(ctx, "fast"); err != nil || n != 1 {
			t.Fatalf("adopt: %d %v", n, err)
		}
		if n, err := r.AdoptUnplacedData(ctx, "fast"); err != nil || n != 0 {
			t.Fatalf("adopt twice: %d %v", n, err)
		}
		if got, _ := r.Get(ctx, old.ID); !slices.Equal(got.ActiveStores(), []string{"fast"}) {
			t.Fatalf("adopted: %v", got.Locations)
		}
		// A blob key is another image's while that image exists, and after.
		if err := r.Delete(ctx, old.ID); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			key, except string
			want        bool
		}{{"legacy-key", im.ID, true}, {"legacy-key", old.ID, false}, {"other-key", im.ID, false}} {
			if taken, err := r.BlobKeyTaken(ctx, c.key, c.except); err != nil || taken != c.want {
				t.Fatalf("BlobKeyTaken(%s, %s) = %v %v, want %v", c.key, c.except, taken, err, c.want)
			}
		}
		if err := r.Delete(ctx, im.ID); err != nil {
			t.Fatal(err)
		}
		if err := r.SetLocationStatus(ctx, im.ID, "cheap", glance.LocationActive); !errors.Is(err, glance.ErrNotFound) {
			t.Fatalf("locations survived the image: %v", err)
		}
	})
}

// eachRepo runs body on a freshly migrated repository of each engine.
func eachRepo(t *testing.T, body func(t *testing.T, r *glancedb.Repo)) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		r, err := glancedb.New(gdb)
		if err != nil {
			t.Fatal(err)
		}
		body(t, r)
	})
}

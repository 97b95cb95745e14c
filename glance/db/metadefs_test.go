package db_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"imagestack/glance"
	glancedb "imagestack/glance/db"
)

func nsNames(nss []*glance.MetadefNamespace) []string {
	out := make([]string, len(nss))
	for i, ns := range nss {
		out[i] = ns.Namespace
	}
	return out
}

func newNS(name, owner, vis string, minute int) *glance.MetadefNamespace {
	at := base.Add(timeMinutes(minute))
	return &glance.MetadefNamespace{Namespace: name, Visibility: vis, Owner: owner, CreatedAt: at, UpdatedAt: at}
}

func TestMetadefNamespaces(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *glancedb.Repo) {
		ctx := context.Background()
		img := glance.MetadefAssociation{Name: "OS::Glance::Image", Prefix: "hw_", CreatedAt: base, UpdatedAt: base}
		flv := glance.MetadefAssociation{Name: "OS::Nova::Flavor", Prefix: "hw:", CreatedAt: base, UpdatedAt: base}
		contents := glance.MetadefContents{Associations: []glance.MetadefAssociation{img, flv},
			Entries: map[glance.MetadefKind][]glance.MetadefEntry{glance.MetadefTags: {{Name: "Fast", CreatedAt: base, UpdatedAt: base}}}}
		if err := r.CreateNamespace(ctx, newNS("A", "p1", "public", 1), contents); err != nil {
			t.Fatal(err)
		}
		if err := r.CreateNamespace(ctx, newNS("A", "p1", "public", 1), glance.MetadefContents{}); !errors.Is(err, glance.ErrConflict) {
			t.Fatalf("duplicate namespace: %v", err)
		}
		// A duplicate inside the contents leaves nothing behind.
		dup := glance.MetadefContents{Entries: map[glance.MetadefKind][]glance.MetadefEntry{glance.MetadefTags: {{Name: "x"}, {Name: "X"}}}}
		if err := r.CreateNamespace(ctx, newNS("B", "p2", "private", 2), dup); !errors.Is(err, glance.ErrConflict) {
			t.Fatalf("duplicate tag: %v", err)
		}
		if _, err := r.GetNamespace(ctx, "B"); !errors.Is(err, glance.ErrNotFound) {
			t.Fatalf("half-made namespace: %v", err)
		}
		for i, n := range []*glance.MetadefNamespace{newNS("B", "p2", "private", 2), newNS("C", "p1", "private", 3)} {
			if err := r.CreateNamespace(ctx, n, glance.MetadefContents{Associations: []glance.MetadefAssociation{flv}[:i]}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := r.GetNamespace(ctx, "A")
		if err != nil || len(got.Associations) != 2 || got.Associations[0].Prefix != "hw_" || !got.CreatedAt.Equal(base.Add(timeMinutes(1))) {
			t.Fatalf("get: %+v %v", got, err)
		}
		list := func(q glance.MetadefNamespaceQuery) []string {
			t.Helper()
			nss, err := r.ListNamespaces(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			return nsNames(nss)
		}
		cases := []struct {
			q    glance.MetadefNamespaceQuery
			want string
		}{
			{glance.MetadefNamespaceQuery{IsAdmin: true}, "[A B C]"},
			{glance.MetadefNamespaceQuery{ProjectID: "p1"}, "[A C]"},
			{glance.MetadefNamespaceQuery{ProjectID: "p1", SortDesc: true, Limit: 1}, "[C]"},
			{glance.MetadefNamespaceQuery{ProjectID: "p1", SortDesc: true, Marker: "C"}, "[A]"},
			{glance.MetadefNamespaceQuery{IsAdmin: true, Visibility: "private", SortKey: "namespace", SortDesc: true}, "[C B]"},
			{glance.MetadefNamespaceQuery{IsAdmin: true, ResourceTypes: []string{"OS::Nova::Flavor"}}, "[A C]"},
			{glance.MetadefNamespaceQuery{IsAdmin: true, SortKey: "display_name", Marker: "A"}, "[B C]"},
		}
		for _, c := range cases {
			if got := list(c.q); fmtList(got) != c.want {
				t.Errorf("%+v: %v, want %s", c.q, got, c.want)
			}
		}
		if _, err := r.ListNamespaces(ctx, glance.MetadefNamespaceQuery{Marker: "nope"}); !errors.Is(err, glance.ErrNotFound) {
			t.Fatalf("unknown marker: %v", err)
		}
		// Rename: the contents follow.
		renamed := newNS("A2", "p1", "public", 1)
		if err := r.UpdateNamespace(ctx, "A", renamed); err != nil {
			t.Fatal(err)
		}
		if err := r.UpdateNamespace(ctx, "A2", renamed); err != nil {
			t.Fatalf("unchanged update: %v", err)
		}
		if err := r.UpdateNamespace(ctx, "B", renamed); !errors.Is(err, glance.ErrConflict) {
			t.Fatalf("rename onto another: %v", err)
		}
		if tags, err := r.ListEntries(ctx, "A2", glance.MetadefTags); err != nil || len(tags) != 1 {
			t.Fatalf("tags after rename: %v %v", tags, err)
		}
		if err := r.Associate(ctx, "A2", img); !errors.Is(err, glance.ErrConflict) {
			t.Fatalf("duplicate association: %v", err)
		}
		if err := r.Dissociate(ctx, "A2", "OS::Glance::Image"); err != nil {
			t.Fatal(err)
		}
		if err := r.Dissociate(ctx, "A2", "OS::Glance::Image"); !errors.Is(err, glance.ErrNotFound) {
			t.Fatalf("dissociate twice: %v", err)
		}
		if rts, err := r.ListResourceTypes(ctx); err != nil || len(rts) != 2 {
			t.Fatalf("resource types: %v %v", rts, err)
		}
		if err := r.DeleteNamespace(ctx, "A2"); err != nil {
			t.Fatal(err)
		}
		if err := r.DeleteNamespace(ctx, "A2"); !errors.Is(err, glance.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
	})
}

func TestMetadefEntries(t *testing.T) {
	eachRepo(t, func(t *testing.T, r *glancedb.Repo) {
		ctx := context.Background()
		if err := r.CreateNamespace(ctx, newNS("N", "p", "public", 0), glance.MetadefContents{}); err != nil {
			t.Fatal(err)
		}
		e := func(name, body string, minute int) glance.MetadefEntry {
			return glance.MetadefEntry{Name: name, Body: []byte(body), CreatedAt: base.Add(timeMinutes(minute)), UpdatedAt: base.Add(timeMinutes(minute))}
		}
		if err := r.CreateEntries(ctx, "N", glance.MetadefProperties, []glance.MetadefEntry{e("b", `{"type":"string"}`, 1), e("a", `{}`, 2)}, false); err != nil {
			t.Fatal(err)
		}
		if err := r.CreateEntries(ctx, "N", glance.MetadefObjects, []glance.MetadefEntry{e("b", `{}`, 1)}, false); err != nil {
			t.Fatalf("same name, other kind: %v", err)
		}
		if err := r.CreateEntries(ctx, "N", glance.MetadefProperties, []glance.MetadefEntry{e("a", `{}`, 3)}, false); !errors.Is(err, glance.ErrConflict) {
			t.Fatalf("duplicate property: %v", err)
		}
		if err := r.CreateEntries(ctx, "missing", glance.MetadefProperties, []glance.MetadefEntry{e("a", `{}`, 3)}, false); !errors.Is(err, glance.ErrNotFound) {
			t.Fatalf("missing namespace: %v", err)
		}
		got, err := r.GetEntry(ctx, "N", glance.MetadefProperties, "b")
		if err != nil || string(got.Body) != `{"type":"string"}` {
			t.Fatalf("get: %+v %v", got, err)
		}
		if err := r.UpdateEntry(ctx, "N", glance.MetadefProperties, "b", e("c", `{"type":"integer"}`, 4)); err != nil {
			t.Fatal(err)
		}
		if err := r.UpdateEntry(ctx, "N", glance.MetadefProperties, "c", e("a", `{}`, 4)); !errors.Is(err, glance.ErrConflict) {
			t.Fatalf("rename onto another: %v", err)
		}
		if err := r.UpdateEntry(ctx, "N", glance.MetadefProperties, "b", e("b", `{}`, 4)); !errors.Is(err, glance.ErrNotFound) {
			t.Fatalf("update renamed away: %v", err)
		}
		if es, _ := r.ListEntries(ctx, "N", glance.MetadefProperties); len(es) != 2 || es[0].Name != "c" || es[1].Name != "a" {
			t.Fatalf("list: %+v", es)
		}
		// Tags: case-insensitive names; replace drops the others.
		if err := r.CreateEntries(ctx, "N", glance.MetadefTags, []glance.MetadefEntry{e("One", ``, 1)}, false); err != nil {
			t.Fatal(err)
		}
		if _, err := r.GetEntry(ctx, "N", glance.MetadefTags, "ONE"); err != nil {
			t.Fatalf("case-insensitive tag: %v", err)
		}
		if err := r.CreateEntries(ctx, "N", glance.MetadefTags, []glance.MetadefEntry{e("one", ``, 2), e("two", ``, 2)}, true); err != nil {
			t.Fatalf("replace: %v", err)
		}
		if es, _ := r.ListEntries(ctx, "N", glance.MetadefTags); len(es) != 2 || es[0].Name != "one" {
			t.Fatalf("tags after replace: %+v", es)
		}
		if err := r.DeleteEntry(ctx, "N", glance.MetadefTags, "TWO"); err != nil {
			t.Fatal(err)
		}
		if err := r.DeleteEntry(ctx, "N", glance.MetadefTags, "two"); !errors.Is(err, glance.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
		if err := r.DeleteEntries(ctx, "N", glance.MetadefProperties); err != nil {
			t.Fatal(err)
		}
		if es, _ := r.ListEntries(ctx, "N", glance.MetadefProperties); len(es) != 0 {
			t.Fatalf("after delete all: %+v", es)
		}
		if es, _ := r.ListEntries(ctx, "N", glance.MetadefObjects); len(es) != 1 {
			t.Fatalf("objects kept: %+v", es)
		}
	})
}

func timeMinutes(m int) time.Duration { return time.Duration(m) * time.Minute }

func fmtList(s []string) string { return fmt.Sprint(s) }

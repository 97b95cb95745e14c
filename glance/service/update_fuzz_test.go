package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"imagestack/glance"
	glancedb "imagestack/glance/db"
	"imagestack/glance/glancetest"
	"imagestack/glance/service"
	"imagestack/policy"
)

// Glance's per-image limits as the image API documents them (see
// service.go): an image holding more is refused with 413, never stored.
const (
	fuzzMaxProperties    = 128
	fuzzMaxTags          = 128
	fuzzMaxPropertyValue = 65535
	fuzzMaxPropertyBytes = 256 << 10
)

// fuzzEnv is the image service over SQLite that every input of a fuzz
// worker shares (newEnv takes a *testing.T, which a fuzz target has not).
type fuzzEnv struct {
	svc  *service.Service
	repo *glancedb.Repo
	ctx  context.Context
}

func newFuzzEnv(tb testing.TB) *fuzzEnv {
	s := glancetest.NewSetup(tb)
	return &fuzzEnv{svc: s.Service, repo: s.Repo, ctx: context.Background()}
}

func (e *fuzzEnv) caller(c policy.Credentials) service.Caller { return e.svc.NewCaller(c) }

// decodeNumbers decodes JSON as the image API does (numbers kept exact).
func decodeNumbers(data []byte, v any) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v) == nil && !dec.More()
}

// fuzzOp is a PATCH operation as a test spells it: any op and path, not
// only what the API's decoder produces.
type fuzzOp struct {
	Op, Path string
	Value    any
	V20      bool
}

// FuzzUpdate creates an image from a JSON body and applies PATCH
// operations to it through the service, as the owner or an admin. Both
// must answer typed errors only (400, 403, 409, 413), and any image they
// store must keep the property rules: no read-only, reserved or core name
// among the extra properties, values and counts within Glance's quotas,
// valid enums, the owner unchanged for non-admins, no public image made
// by a member, and what the database returns is what was stored.
func FuzzUpdate(f *testing.F) {
	f.Add([]byte(`{"name":"cirros","disk_format":"qcow2","container_format":"bare"}`),
		[]byte(`[{"Op":"replace","Path":"name","Value":"x"}]`), false)
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, create, patch []byte, asAdmin bool) {
		var body map[string]any
		if !decodeNumbers(create, &body) || body == nil {
			return
		}
		start := time.Now()
		n, err := glance.NewImageFromJSON(body)
		var im *glance.Image
		if err == nil {
			im, err = e.svc.Create(e.ctx, e.caller(ownerA), n)
		}
		if err != nil {
			checkKind(t, "create", err, glance.ErrBadRequest, glance.ErrForbidden, glance.ErrTooLarge, glance.ErrConflict)
			return
		}
		defer func() { _ = e.repo.Delete(e.ctx, im.ID) }()
		checkImage(t, im, im, false)
		var ops []service.PatchOp
		var raw []fuzzOp
		if !decodeNumbers(patch, &raw) {
			return
		}
		for _, o := range raw {
			ops = append(ops, service.PatchOp{Op: o.Op, Path: o.Path, Value: o.Value, V20: o.V20})
		}
		c := e.caller(ownerA)
		if asAdmin {
			c = e.caller(admin)
		}
		got, err := e.svc.Update(e.ctx, c, im.ID, ops, nil)
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("create and %d operations took %v", len(ops), d)
		}
		stored, gerr := e.repo.Get(e.ctx, im.ID)
		if gerr != nil {
			t.Fatal(gerr)
		}
		if err != nil {
			checkKind(t, "update", err, glance.ErrBadRequest, glance.ErrForbidden, glance.ErrTooLarge, glance.ErrConflict)
			if stored.Version != im.Version {
				t.Fatalf("a refused update (%v) stored version %d over %d", err, stored.Version, im.Version)
			}
			return
		}
		checkImage(t, im, got, asAdmin)
		if !sameContent(got, stored) {
			t.Fatalf("update returned %+v but the database holds %+v", got, stored)
		}
	})
}

// checkKind asserts that err is a client-facing error of one of kinds.
func checkKind(t *testing.T, what string, err error, kinds ...error) {
	t.Helper()
	var ge *glance.Error
	if !errors.As(err, &ge) || !slices.ContainsFunc(kinds, func(k error) bool { return errors.Is(err, k) }) {
		t.Fatalf("%s: %v (%T) is not a typed 4xx error", what, err, err)
	}
}

// checkImage asserts the invariants of an image the service stored; orig
// is the image as created.
func checkImage(t *testing.T, orig, im *glance.Image, byAdmin bool) {
	t.Helper()
	total := 0
	for k, v := range im.Properties {
		total += len(k) + len(v)
		if k == "" || utf8.RuneCountInString(k) > 255 || glance.IsForbidden(k) || glance.IsCore(k) || len(v) > fuzzMaxPropertyValue {
			t.Fatalf("extra property %q (%d bytes) stored", k, len(v))
		}
	}
	if len(im.Properties) > fuzzMaxProperties || total > fuzzMaxPropertyBytes || len(im.Tags) > fuzzMaxTags {
		t.Fatalf("%d properties (%d bytes), %d tags stored", len(im.Properties), total, len(im.Tags))
	}
	if !slices.IsSorted(im.Tags) || len(slices.Compact(slices.Clone(im.Tags))) != len(im.Tags) {
		t.Fatalf("tags %q not sorted and unique", im.Tags)
	}
	for _, tag := range im.Tags {
		if utf8.RuneCountInString(tag) > 255 {
			t.Fatalf("tag of %d characters stored", utf8.RuneCountInString(tag))
		}
	}
	if im.Name != nil && utf8.RuneCountInString(*im.Name) > 255 {
		t.Fatalf("name of %d characters stored", utf8.RuneCountInString(*im.Name))
	}
	if !slices.Contains(glance.Visibilities, im.Visibility) || !inOrNil(im.DiskFormat, glance.DiskFormats) ||
		!inOrNil(im.ContainerFormat, glance.ContainerFormats) {
		t.Fatalf("visibility %q, formats %v/%v stored", im.Visibility, im.DiskFormat, im.ContainerFormat)
	}
	if im.MinRAM < 0 || im.MinRAM > math.MaxInt32 || im.MinDisk < 0 || im.MinDisk > math.MaxInt32 {
		t.Fatalf("min_ram %d, min_disk %d stored", im.MinRAM, im.MinDisk)
	}
	if im.ID != orig.ID || im.Status != glance.StatusQueued || im.Size != nil || im.Checksum != nil {
		t.Fatalf("id/status/size/checksum changed: %s %s %v %v", im.ID, im.Status, im.Size, im.Checksum)
	}
	if !byAdmin && (im.OwnerID() != ownerA.ProjectID || im.Visibility == glance.VisibilityPublic) {
		t.Fatalf("a member stored owner %q, visibility %s", im.OwnerID(), im.Visibility)
	}
}

func inOrNil(s *string, allowed []string) bool { return s == nil || slices.Contains(allowed, *s) }

// sameContent compares what clients can set, as returned and as stored.
func sameContent(a, b *glance.Image) bool {
	strip := func(im *glance.Image) glance.Image {
		c := *im.Clone()
		c.CreatedAt, c.UpdatedAt, c.Locations = time.Time{}, time.Time{}, nil
		if len(c.Tags) == 0 {
			c.Tags = nil
		}
		return c
	}
	return reflect.DeepEqual(strip(a), strip(b))
}

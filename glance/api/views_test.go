package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"imagestack/glance"
	"imagestack/glance/service"
)

// sameJSON compares the JSON of got with want as documents: the same keys,
// the same nulls, the same absent keys (key order aside).
func sameJSON(t *testing.T, got any, want string) {
	t.Helper()
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("wire body changed:\n got %s\nwant %s", b, want)
	}
}

func ptr[T any](v T) *T { return &v }

// TestImageWireBody pins the image body, field by field, so that how views
// are built may change but not what clients receive.
func TestImageWireBody(t *testing.T) {
	created := time.Date(2026, 11, 30, 10, 11, 12, 999, time.FixedZone("X", 3600))
	full := &glance.Image{
		ID: "0f3c5c1e-6c2b-4d43-9d1e-2b1b7a0c9a11", Name: ptr("cirros"), Status: glance.StatusActive,
		Visibility: glance.VisibilityPublic, Protected: true, OSHidden: true, Owner: ptr("P1"),
		ContainerFormat: ptr("bare"), DiskFormat: ptr("qcow2"), MinRAM: 64, MinDisk: 1,
		Size: ptr(int64(12345)), VirtualSize: ptr(int64(1 << 30)), Checksum: ptr("abc"), OSHashAlgo: ptr("sha512"),
		OSHashValue: ptr("def"), CreatedAt: created, UpdatedAt: created.Add(time.Hour), Version: 7,
		Tags: []string{"a", "b"}, Properties: map[string]string{"os_distro": "cirros", "hw_disk_bus": "virtio", "empty": ""},
		BlobKey: "secret-key",
		Locations: []glance.Location{{Store: "fast", Status: glance.LocationActive},
			{Store: "slow", Status: glance.LocationPending}, {Store: "cold", Status: glance.LocationActive}},
	}
	fullBody := `{"id":"0f3c5c1e-6c2b-4d43-9d1e-2b1b7a0c9a11","name":"cirros","status":"active","visibility":"public",
		"protected":true,"os_hidden":true,"checksum":"abc","os_hash_algo":"sha512","os_hash_value":"def","owner":"P1",
		"size":12345,"virtual_size":1073741824,"container_format":"bare","disk_format":"qcow2","min_ram":64,"min_disk":1,
		"created_at":"2026-11-30T09:11:12Z","updated_at":"2026-11-30T10:11:12Z","tags":["a","b"],
		"self":"/v2/images/0f3c5c1e-6c2b-4d43-9d1e-2b1b7a0c9a11","file":"/v2/images/0f3c5c1e-6c2b-4d43-9d1e-2b1b7a0c9a11/file",
		"schema":"/v2/schemas/image","os_distro":"cirros","hw_disk_bus":"virtio","empty":""`
	bare := &glance.Image{ID: "id1", Status: glance.StatusQueued, Visibility: glance.VisibilityShared,
		CreatedAt: created, UpdatedAt: created}
	bareBody := `{"id":"id1","name":null,"status":"queued","visibility":"shared","protected":false,"os_hidden":false,
		"checksum":null,"os_hash_algo":null,"os_hash_value":null,"owner":null,"size":null,"virtual_size":null,
		"container_format":null,"disk_format":null,"min_ram":0,"min_disk":0,"created_at":"2026-11-30T09:11:12Z",
		"updated_at":"2026-11-30T09:11:12Z","tags":[],"self":"/v2/images/id1","file":"/v2/images/id1/file",
		"schema":"/v2/schemas/image"}`
	// An extra property may not shadow a core field in the body.
	shadow := bare.Clone()
	shadow.Properties = map[string]string{"status": "evil", "x": "y"}
	// "stores" is reserved, but a row written by hand may hold it: the
	// service's own value wins only when it writes one.
	storesProp := full.Clone()
	storesProp.Properties = map[string]string{"stores": "mine"}
	storesPropBody := strings.Replace(fullBody, `"os_distro":"cirros","hw_disk_bus":"virtio","empty":""`, `"stores":"mine"`, 1) + "}"
	for _, tc := range []struct {
		name  string
		im    *glance.Image
		multi bool
		want  string
	}{
		{"full/single store", full, false, fullBody + "}"},
		{"full/several stores", full, true, fullBody + `,"stores":"fast,cold"}`},
		{"bare/single store", bare, false, bareBody},
		{"bare/several stores without data", bare, true, bareBody},
		{"core fields win over properties", shadow, false, bareBody[:len(bareBody)-1] + `,"x":"y"}`},
		{"stores property/single store", storesProp, false, storesPropBody},
		{"stores property/several stores", storesProp, true, strings.Replace(storesPropBody, "mine", "fast,cold", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) { sameJSON(t, renderImage(tc.im, tc.multi), tc.want) })
	}
}

func TestMemberWireBody(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	m := glance.Member{ImageID: "i", MemberID: "p", Status: glance.MemberPending, CreatedAt: at, UpdatedAt: at.Add(time.Second)}
	sameJSON(t, memberView(m), `{"image_id":"i","member_id":"p","status":"pending","created_at":"2026-01-02T03:04:05Z",
		"updated_at":"2026-01-02T03:04:06Z","schema":"/v2/schemas/member"}`)
}

func TestTaskWireBody(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	task := &glance.Task{ID: "t", Type: "api_image_import", Status: glance.TaskSuccess, Owner: "P", UserID: "U",
		ImageID: "i", RequestID: "req", Input: map[string]any{"image_id": "i"}, Result: map[string]any{},
		Message: "done", CreatedAt: at, UpdatedAt: at}
	base := `"id":"t","type":"api_image_import","status":"success","owner":"P","image_id":"i","request_id":"req",
		"user_id":"U","input":{"image_id":"i"},"result":{},"message":"done","created_at":"2026-01-02T03:04:05.123456",
		"updated_at":"2026-01-02T03:04:05.123456","deleted":false,"deleted_at":null,"self":"/v2/tasks/t","schema":"/v2/schemas/task"`
	t.Run("no expiry", func(t *testing.T) { sameJSON(t, taskView(task), `{`+base+`,"expires_at":null}`) })
	expiring := *task
	expiring.ExpiresAt = &at
	t.Run("expiry", func(t *testing.T) {
		sameJSON(t, taskView(&expiring), `{`+base+`,"expires_at":"2026-01-02T03:04:05.123456"}`)
	})
	nilMaps := *task
	nilMaps.Input, nilMaps.Result = nil, nil
	t.Run("nil input and result", func(t *testing.T) {
		sameJSON(t, taskView(&nilMaps), `{`+base[:0]+`"id":"t","type":"api_image_import","status":"success","owner":"P",
			"image_id":"i","request_id":"req","user_id":"U","input":null,"result":null,"message":"done",
			"created_at":"2026-01-02T03:04:05.123456","updated_at":"2026-01-02T03:04:05.123456","deleted":false,
			"deleted_at":null,"self":"/v2/tasks/t","schema":"/v2/schemas/task","expires_at":null}`)
	})
}

func TestStoresWireBody(t *testing.T) {
	infos := []service.StoreInfo{{ID: "fast", Type: "file", Description: "SSD", Properties: map[string]any{"root": "/x"}},
		{ID: "cold", Type: "s3"}}
	t.Run("plain", func(t *testing.T) {
		sameJSON(t, storesView(infos, "cold", false), `{"stores":[{"id":"fast","description":"SSD"},{"id":"cold","default":"true"}]}`)
	})
	t.Run("detail", func(t *testing.T) {
		sameJSON(t, storesView(infos, "fast", true), `{"stores":[
			{"id":"fast","description":"SSD","default":"true","type":"file","properties":{"root":"/x"}},
			{"id":"cold","type":"s3","properties":{}}]}`)
	})
}

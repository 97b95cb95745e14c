package api_test

import (
	"testing"

	"imagestack/compute/computetest"
)

// TestVolumeAttachments: a server's os-volume_attachments is an empty list
// (no volumes here), a server the caller cannot see is a 404, as in Nova.
func TestVolumeAttachments(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithAPI())
	sv := e.Boot(t, e.Member)
	resp, body := do(t, e.Server, "GET", "/v2.1/servers/"+sv.ID+"/os-volume_attachments", "member", "")
	if atts, ok := body["volumeAttachments"].([]any); resp.StatusCode != 200 || !ok || len(atts) != 0 {
		t.Fatalf("volume attachments: %d %v", resp.StatusCode, body)
	}
	resp, body = do(t, e.Server, "GET", "/v2.1/servers/00000000-0000-0000-0000-000000000000/os-volume_attachments", "member", "")
	if resp.StatusCode != 404 || body["itemNotFound"] == nil {
		t.Fatalf("attachments of no server: %d %v", resp.StatusCode, body)
	}
}

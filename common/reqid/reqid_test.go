package reqid_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"imagestack/common/reqid"
)

func TestInboundGlobalID(t *testing.T) {
	const good = "req-0f4e7a3c-1b2d-4c5e-8f90-a1b2c3d4e5f6"
	for _, c := range []struct {
		header, global string
	}{
		{good, good},
		{"", ""},
		{strings.ToUpper(good), ""}, // oslo accepts lower-case hex only
		{strings.TrimPrefix(good, "req-"), ""},
		{good + "0", ""},
		{good + "\n", ""},
		{"req-not-a-uuid; DROP TABLE", ""},
	} {
		h := http.Header{}
		if c.header != "" {
			h.Set("X-OpenStack-Request-ID", c.header)
		}
		ids := reqid.Inbound(h)
		if ids.Global != c.global {
			t.Errorf("header %q: global %q, want %q", c.header, ids.Global, c.global)
		}
		if !reqid.Valid(ids.Request) || ids.Request == good {
			t.Errorf("header %q: request id %q must be fresh", c.header, ids.Request)
		}
		want := ids.Request
		if c.global != "" {
			want = c.global
		}
		if ids.GlobalID() != want {
			t.Errorf("header %q: sent on as %q, want %q", c.header, ids.GlobalID(), want)
		}
	}
}

// logLine logs msg through Handler with ctx and returns the JSON line.
func logLine(t *testing.T, ctx context.Context, args ...any) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	log := slog.New(reqid.Handler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	log.InfoContext(ctx, "work", args...)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	if n := strings.Count(buf.String(), `"request_id"`); n > 1 {
		t.Fatalf("request_id %d times: %s", n, buf.String())
	}
	return line
}

func TestLogLinesCarryIDs(t *testing.T) {
	ids := reqid.IDs{Request: reqid.New(), Global: reqid.New()}
	line := logLine(t, reqid.WithIDs(context.Background(), ids), "image", "x")
	if line["request_id"] != ids.Request || line["global_request_id"] != ids.Global || line["image"] != "x" || line["component"] != "test" {
		t.Errorf("line %v, want request_id %s and global_request_id %s", line, ids.Request, ids.Global)
	}

	local := reqid.IDs{Request: reqid.New()}
	line = logLine(t, reqid.WithIDs(context.Background(), local))
	if _, ok := line["global_request_id"]; ok || line["request_id"] != local.Request {
		t.Errorf("without a global id: %v", line)
	}

	line = logLine(t, context.Background())
	if _, ok := line["request_id"]; ok {
		t.Errorf("a line outside any request names one: %v", line)
	}

	line = logLine(t, reqid.WithIDs(context.Background(), ids), "request_id", "req-explicit")
	if line["request_id"] != "req-explicit" {
		t.Errorf("an explicit request_id was replaced: %v", line)
	}
}

package service_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/service"
)

func metadataOf(n int, value string) map[string]string {
	md := map[string]string{}
	for i := range n {
		md[fmt.Sprintf("k%d", i)] = value
	}
	return md
}

// TestServerInputLimits: the limits SetMetadata enforces hold on create,
// rebuild and createImage too, with Nova's statuses (400 for a malformed
// item, 403 beyond 128 items).
func TestServerInputLimits(t *testing.T) {
	e := computetest.NewSetup(t, smallQuotas)
	ctx := context.Background()
	long := strings.Repeat("é", 256)
	create := func(name string, md map[string]string) error {
		_, err := e.Service.Create(ctx, e.Member, service.CreateRequest{Name: name, ImageRef: "img", FlavorRef: "42", MinCount: 1, MaxCount: 1, Metadata: md})
		return err
	}
	for name, c := range map[string]struct {
		name string
		md   map[string]string
		kind error
	}{
		"long name":        {long, nil, compute.ErrBadRequest},
		"empty name":       {"", nil, compute.ErrBadRequest},
		"leading space":    {" vm", nil, compute.ErrBadRequest},
		"newline in name":  {"v\nm", nil, compute.ErrBadRequest},
		"long value":       {"vm", map[string]string{"k": long}, compute.ErrBadRequest},
		"long key":         {"vm", map[string]string{strings.Repeat("k", 256): "v"}, compute.ErrBadRequest},
		"empty key":        {"vm", map[string]string{"": "v"}, compute.ErrBadRequest},
		"slash in key":     {"vm", map[string]string{"a/b": "v"}, compute.ErrBadRequest},
		"129 items":        {"vm", metadataOf(129, "v"), compute.ErrOverQuota},
		"no create at all": {"vm", metadataOf(129, long), compute.ErrBadRequest},
	} {
		if err := create(c.name, c.md); !errors.Is(err, c.kind) {
			t.Errorf("%s: %v, want %v", name, err, c.kind)
		}
	}
	if err := create(strings.Repeat("é", 255), metadataOf(128, strings.Repeat("é", 255))); err != nil {
		t.Fatalf("at the limits: %v", err)
	}
	e.Service.Wait()
	list, _ := e.Service.List(ctx, e.Member, compute.ServerFilter{}, false, true)
	if len(list) != 1 {
		t.Fatalf("refused creates stored servers: %d", len(list))
	}
	id := list[0].ID
	for name, n := range map[string]string{"long": long, "empty": "", "trailing space": "vm "} {
		if _, _, err := e.Service.Rebuild(ctx, e.Member, id, service.RebuildRequest{ImageRef: "img", Name: &n}); !errors.Is(err, compute.ErrBadRequest) {
			t.Errorf("rebuild with a %s name: %v", name, err)
		}
	}
	if _, err := e.Service.CreateImage(ctx, e.Member, id, long, nil); !errors.Is(err, compute.ErrBadRequest) {
		t.Errorf("snapshot with a long name: %v", err)
	}
	if _, err := e.Service.CreateImage(ctx, e.Member, id, "snap", map[string]string{"k": long}); !errors.Is(err, compute.ErrBadRequest) {
		t.Errorf("snapshot with a long property: %v", err)
	}
	if _, err := e.Service.SetMetadata(ctx, e.Member, id, map[string]string{"more": "v"}); !errors.Is(err, compute.ErrOverQuota) {
		t.Errorf("a 129th item: %v", err)
	}
	if sv := e.Get(t, id); sv.TaskState != compute.TaskNone || len(sv.Metadata) != 128 {
		t.Fatalf("refused calls changed the server: %+v", sv)
	}
}

// TestConsoleOutput: at most the newest 100 KiB, then the last length
// lines (0: none, -1 or none given: all), control characters removed.
func TestConsoleOutput(t *testing.T) {
	e := computetest.NewSetup(t, smallQuotas)
	ctx := context.Background()
	id := e.Boot(t, e.Member).ID
	var log strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&log, "line %05d\r\n", i) // 12 bytes a line
	}
	log.WriteString("\x1b[0mlast\x00 line, no newline")
	e.Hypervisor.SetConsole(id, []byte(log.String()))
	n := func(v int) *int { return &v }
	for name, c := range map[string]struct {
		length     *int
		first      string // first line of the output
		lines      int
		maxBytes   int
		lastSuffix string
	}{
		"all":    {nil, "", 0, compute.MaxConsoleBytes, "[0mlast line, no newline"},
		"-1":     {n(-1), "", 0, compute.MaxConsoleBytes, "[0mlast line, no newline"},
		"none":   {n(0), "", 0, 0, ""},
		"three":  {n(3), "line 19998", 3, 100, "[0mlast line, no newline"},
		"a lot":  {n(1 << 40), "", 0, compute.MaxConsoleBytes, "[0mlast line, no newline"},
		"beyond": {n(50000), "", 0, compute.MaxConsoleBytes, "[0mlast line, no newline"},
	} {
		out, err := e.Service.ConsoleOutput(ctx, e.Member, id, c.length)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(out) > c.maxBytes || !strings.HasSuffix(out, c.lastSuffix) || strings.ContainsAny(out, "\r\x00\x1b") {
			t.Errorf("%s: %d bytes ending %q", name, len(out), out[max(0, len(out)-40):])
		}
		if c.lines > 0 && (strings.Count(out, "\n") != c.lines-1 || !strings.HasPrefix(out, c.first)) {
			t.Errorf("%s: %q", name, out)
		}
	}
	if _, err := e.Service.ConsoleOutput(ctx, e.Member, id, n(-2)); !errors.Is(err, compute.ErrBadRequest) {
		t.Errorf("length -2: %v", err)
	}
}

// TestListPoliciesEnforced: GET /servers/detail and one extra spec have
// rules of their own, as in Nova.
func TestListPoliciesEnforced(t *testing.T) {
	e := computetest.NewSetup(t, smallQuotas, computetest.WithPolicy(`"os_compute_api:servers:detail": "!"
"os_compute_api:os-flavor-extra-specs:show": "!"
`))
	ctx := context.Background()
	if _, err := e.Service.List(ctx, e.Member, compute.ServerFilter{}, false, true); !errors.Is(err, compute.ErrForbidden) {
		t.Errorf("detail denied: %v", err)
	}
	if _, err := e.Service.List(ctx, e.Member, compute.ServerFilter{}, false, false); err != nil {
		t.Errorf("index allowed: %v", err)
	}
	if _, err := e.Service.ExtraSpec(ctx, e.Admin, "42", "k"); !errors.Is(err, compute.ErrForbidden) {
		t.Errorf("extra spec show denied: %v", err)
	}
	if _, err := e.Service.ExtraSpecs(ctx, e.Member, "42"); err != nil {
		t.Errorf("extra specs index allowed: %v", err)
	}
}

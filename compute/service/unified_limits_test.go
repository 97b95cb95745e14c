package service_test

import (
	"context"
	"errors"
	"testing"

	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/service"
)

// fakeLimits serves fixed unified limits for every project.
type fakeLimits map[string]int64

func (f fakeLimits) ProjectLimits(_ context.Context, _ string, resources []string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, r := range resources {
		if l, ok := f[r]; ok {
			out[r] = l
		}
	}
	return out, nil
}

// TestUnifiedLimitsDriver: with unified limits the quotas in force are
// Keystone's (servers, class:VCPU under their Nova names), resources with no
// registered limit are unlimited, creates past them are 403, and quota-set
// updates change nothing (as Nova's UnifiedLimitsDriver).
func TestUnifiedLimitsDriver(t *testing.T) {
	e := computetest.NewSetup(t, computetest.WithUnifiedLimits(fakeLimits{"servers": 1, "class:VCPU": 8}))
	ctx := context.Background()
	q, err := e.Service.Limits(ctx, e.Member, "")
	if err != nil {
		t.Fatal(err)
	}
	if q[compute.QuotaInstances].Limit != 1 || q[compute.QuotaCores].Limit != 8 || q[compute.QuotaRAM].Limit != compute.Unlimited {
		t.Fatalf("limits: %v", q)
	}
	req := service.CreateRequest{Name: "u", ImageRef: "img", FlavorRef: "42", MinCount: 1, MaxCount: 1}
	if _, err := e.Service.Create(ctx, e.Member, req); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Service.Create(ctx, e.Member, req); !errors.Is(err, compute.ErrOverQuota) {
		t.Fatalf("second server past servers=1: %v", err)
	}
	project := e.Member.Creds.ProjectID
	if _, err := e.Service.UpdateProjectQuotas(ctx, e.Admin, project, "", map[string]int{compute.QuotaInstances: 50}, true); err != nil {
		t.Fatal(err)
	}
	if q, _ := e.Service.Limits(ctx, e.Member, ""); q[compute.QuotaInstances].Limit != 1 {
		t.Fatalf("quota-set update changed a unified limit: %v", q[compute.QuotaInstances])
	}
}

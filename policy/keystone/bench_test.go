package keystone_test

import (
	"testing"
	"time"

	"imagestack/compute"
	"imagestack/glance"
	"imagestack/policy"
	"imagestack/policy/keystone"
)

// BenchmarkTokenValidation measures what every API request pays to
// authenticate: validation from the in-memory cache against validation that
// reads the database, in the same run, and reports their ratio.
func BenchmarkTokenValidation(b *testing.B) {
	f := newFixture(b)
	tok, err := f.password("demo", "demopw", keystone.Scope{})
	if err != nil {
		b.Fatal(err)
	}
	const n = 2000
	measure := func(invalidate bool) time.Duration {
		start := time.Now()
		for i := 0; i < n; i++ {
			if invalidate {
				f.Service.InvalidateCache()
			}
			if _, err := f.Service.Validate(f.Ctx, tok.ID); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start) / n
	}
	for b.Loop() {
		cached := measure(false)
		uncached := measure(true)
		b.ReportMetric(float64(cached.Nanoseconds()), "cached-ns/validation")
		b.ReportMetric(float64(uncached.Nanoseconds()), "db-ns/validation")
		b.ReportMetric(float64(uncached)/float64(cached), "db/cached")
	}
}

// BenchmarkPolicyEnforce measures one Glance get_image decision.
func BenchmarkPolicyEnforce(b *testing.B) {
	e, err := policy.NewEnforcer("", glance.PolicyDefaults, compute.PolicyDefaults, keystone.Defaults)
	if err != nil {
		b.Fatal(err)
	}
	creds := policy.Credentials{ProjectID: "B", Roles: []string{"member", "reader"}}
	target := policy.Target{"project_id": "A", "owner": "A", "visibility": "shared", "member_id": "B"}
	for b.Loop() {
		if !e.Enforce("get_image", target, creds) {
			b.Fatal("denied")
		}
	}
}

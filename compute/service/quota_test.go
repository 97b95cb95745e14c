package service_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"gorm.io/gorm"

	"imagestack/common/db/dbtest"
	"imagestack/compute"
	"imagestack/compute/computetest"
	"imagestack/compute/service"
)

// TestConcurrentCreatesStayWithinQuota: parallel `server create --min 1
// --max 10` of one project, each of which alone fits the quota, create no
// more than the quota between them; the others are refused with 403.
func TestConcurrentCreatesStayWithinQuota(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		e := computetest.NewSetup(t, computetest.WithDB(gdb), computetest.WithQuotas(service.Quotas{Instances: 10, Cores: 100, RAM: 100000}))
		const callers = 8
		var wg sync.WaitGroup
		var mu sync.Mutex
		created, refused := 0, 0
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := e.Service.Create(context.Background(), e.Member,
					service.CreateRequest{Name: "race", ImageRef: "img", FlavorRef: "42", MinCount: 1, MaxCount: 10})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.Is(err, compute.ErrOverQuota):
					refused++
				case err != nil:
					t.Errorf("create: %v", err)
				default:
					created += len(res.Servers)
				}
			}()
		}
		wg.Wait()
		e.Service.Wait()
		list, err := e.Service.List(context.Background(), e.Member, compute.ServerFilter{}, false, true)
		if err != nil {
			t.Fatal(err)
		}
		if created != 10 || len(list) != 10 || refused != callers-1 {
			t.Fatalf("quota of 10: %d servers reported created, %d exist, %d of %d creates refused", created, len(list), refused, callers)
		}
	})
}

// TestQuotaCountsAreSafe: counts a client may send far beyond any quota
// neither build that many servers nor overflow the quota arithmetic.
func TestQuotaCountsAreSafe(t *testing.T) {
	e := computetest.NewSetup(t, smallQuotas)
	ctx := context.Background()
	huge := int(^uint(0) >> 1)
	res, err := e.Service.Create(ctx, e.Member, service.CreateRequest{Name: "many", ImageRef: "img", FlavorRef: "42", MinCount: 1, MaxCount: huge})
	if err != nil || len(res.Servers) != 3 || res.Servers[2].Name != "many-3" {
		t.Fatalf("max_count of MaxInt: %v %v", res, err)
	}
	e.Service.Wait()
	for _, n := range []int{4, huge / 2, huge} {
		_, err := e.Service.Create(ctx, e.Member, service.CreateRequest{Name: "x", ImageRef: "img", FlavorRef: "42", MinCount: n, MaxCount: n})
		if !errors.Is(err, compute.ErrOverQuota) || compute.Message(err) == "" {
			t.Fatalf("min_count %d: %v", n, err)
		}
	}
}

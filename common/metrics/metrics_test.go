package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"imagestack/common/metrics"
	"imagestack/common/metrics/metricstest"
)

// scrape returns what Prometheus reads from /metrics.
func scrape(t *testing.T) string {
	t.Helper()
	rec := httptest.NewRecorder()
	metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics = %d", rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestExposition(t *testing.T) {
	metrics.ObserveRequest("image", "/v2/images/{image_id}", "GET", 200, 30*time.Millisecond)
	metrics.ObserveRequest("image", "", "BREW", 404, time.Millisecond)
	metrics.LeaseHeld("upload", 1)
	metrics.LeaseHeld("upload", 1)
	metrics.LeaseHeld("upload", -1)
	metrics.LeaseRecovered("import")
	metrics.SchedulerDecision(metrics.NoValidHost)
	metrics.Heartbeat("cmp-1")
	metrics.HostCapacity("cmp-1", 8, 16384, 100)
	body := scrape(t)
	for _, want := range []string{
		"# TYPE imagestack_http_request_duration_seconds histogram",
		`imagestack_http_request_duration_seconds_bucket{api="image",code="200",method="GET",route="/v2/images/{image_id}",le="0.05"} 1`,
		`imagestack_http_request_duration_seconds_count{api="image",code="404",method="OTHER",route="other"} 1`,
		`imagestack_cluster_leases_held{kind="upload"} 1`,
		`imagestack_cluster_leases_recovered_total{kind="import"} 1`,
		`imagestack_scheduler_decisions_total{result="no_valid_host"} 1`,
		`imagestack_host_heartbeats_total{host="cmp-1"} 1`,
		`imagestack_host_capacity_vcpus{host="cmp-1"} 8`,
		`imagestack_host_capacity_memory_bytes{host="cmp-1"} 1.7179869184e+10`,
		`imagestack_host_capacity_disk_bytes{host="cmp-1"} 1.073741824e+11`,
		`imagestack_image_bytes_total{direction="upload"}`,
		"go_goroutines ",
		"process_open_fds ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if ts := metricstest.Value(t, "imagestack_host_last_heartbeat_timestamp_seconds", "host", "cmp-1"); time.Since(time.UnixMilli(int64(ts*1000))) > time.Minute {
		t.Errorf("last heartbeat timestamp %v", ts)
	}
	metrics.ForgetHost("cmp-1")
	if body := scrape(t); strings.Contains(body, `host="cmp-1"`) {
		t.Error("a forgotten host still has series")
	}
}

func TestInFlight(t *testing.T) {
	for _, c := range []struct {
		name    string
		running func() func()
	}{
		{"imagestack_image_uploads_in_flight", metrics.UploadRunning},
		{"imagestack_image_tasks_in_flight", metrics.ImageTaskRunning},
		{"imagestack_compute_server_tasks_in_flight", metrics.ServerTaskRunning},
	} {
		before := metricstest.Value(t, c.name)
		done1, done2 := c.running(), c.running()
		if got := metricstest.Value(t, c.name); got != before+2 {
			t.Errorf("%s = %v with two running, want %v", c.name, got, before+2)
		}
		done1()
		done2()
		if got := metricstest.Value(t, c.name); got != before {
			t.Errorf("%s = %v after both ended, want %v", c.name, got, before)
		}
	}
}

// Package metricstest reads imagestack's metrics in tests, as a scrape
// would see them.
package metricstest

import (
	"testing"

	dto "github.com/prometheus/client_model/go"

	"imagestack/common/metrics"
)

// Value sums the series of name whose labels include labels (name, value
// pairs): counters' and gauges' values, histograms' sample counts; 0 when
// no series matches.
func Value(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	families, err := metrics.Gatherer().Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if matches(m, labels) {
				total += value(m)
			}
		}
	}
	return total
}

// matches reports whether m has every label of pairs.
func matches(m *dto.Metric, pairs []string) bool {
	have := map[string]string{}
	for _, l := range m.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if v, ok := have[pairs[i]]; !ok || v != pairs[i+1] {
			return false
		}
	}
	return true
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

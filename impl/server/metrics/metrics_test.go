package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// TestHandler checks /metrics (the relay's metrics in their own registry), /healthz and pprof.
func TestHandler(t *testing.T) {
	m := New()
	m.Connections.Inc()
	m.Close(4002)
	m.Relayed("relay", 120, time.Now())
	m.Errors.WithLabelValues("user_offline").Inc()
	var stopping atomic.Bool
	srv := httptest.NewServer(m.Handler(func() bool { return !stopping.Load() }))
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	code, body := get("/metrics")
	for _, want := range []string{
		"blindpost_connections 1",
		`blindpost_closes_total{code="4002"} 1`,
		`blindpost_bytes_relayed_total{type="relay"} 120`,
		`blindpost_errors_total{code="user_offline"} 1`,
		"blindpost_relay_latency_seconds_bucket",
		"go_goroutines",
	} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if code, body := get("/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	stopping.Store(true)
	if code, _ := get("/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("/healthz while stopping = %d", code)
	}
	if code, _ := get("/debug/pprof/goroutine?debug=1"); code != http.StatusOK {
		t.Errorf("pprof = %d", code)
	}
	if code, _ := get("/"); code != http.StatusNotFound {
		t.Errorf("/ = %d", code)
	}
}

// TestTally checks that a Tally's flush adds to the metrics what the same messages counted one
// by one (Received, Relayed) add: the counters, the bytes and the latency histogram's buckets,
// count and sum.
func TestTally(t *testing.T) {
	ages := []time.Duration{time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond, 10 * time.Second}
	one, batch := New(), New()
	var tally Tally
	for i, age := range ages {
		one.Received("relay")
		one.Relayed("relay", 100+i, time.Now().Add(-age))
		tally.Received()
		tally.Relayed(100+i, time.Now().Add(-age))
	}
	batch.Flush("relay", &tally)
	batch.Flush("relay", &tally) // empty: adds nothing
	if tally != (Tally{}) {
		t.Fatalf("Flush left %+v", tally)
	}
	for _, m := range []*Metrics{one, batch} {
		h := histogramOf(t, m, "blindpost_relay_latency_seconds")
		if h.GetSampleCount() != 4 || h.GetSampleSum() < 10.011 || h.GetSampleSum() > 11 {
			t.Errorf("latency: count %d sum %v; want 4 and a little over 10.011 s", h.GetSampleCount(), h.GetSampleSum())
		}
		// 10 µs, then ×4: 1 ms falls in the fifth bucket (≤ 2.56 ms), 5 ms in the sixth
		// (≤ 10.24 ms), 10 s in none (+Inf).
		want := []uint64{0, 0, 0, 0, 1, 3, 3, 3, 3, 3}
		for i, b := range h.GetBucket() {
			if b.GetCumulativeCount() != want[i] {
				t.Errorf("latency bucket ≤ %v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want[i])
			}
		}
		if got := counterOf(t, m, "blindpost_messages_relayed_total"); got != 4 {
			t.Errorf("relayed %v, want 4", got)
		}
		if got := counterOf(t, m, "blindpost_bytes_relayed_total"); got != 406 {
			t.Errorf("bytes %v, want 406", got)
		}
		if got := counterOf(t, m, "blindpost_messages_received_total"); got != 4 {
			t.Errorf("received %v, want 4", got)
		}
	}
}

// family returns the one series of the metric family name in m.
func family(t *testing.T, m *Metrics, name string) *dto.Metric {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0]
		}
	}
	t.Fatalf("no single series of %s", name)
	return nil
}

func histogramOf(t *testing.T, m *Metrics, name string) *dto.Histogram {
	return family(t, m, name).GetHistogram()
}

func counterOf(t *testing.T, m *Metrics, name string) float64 {
	return family(t, m, name).GetCounter().GetValue()
}

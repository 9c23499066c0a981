package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
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

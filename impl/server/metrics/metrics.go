// Package metrics holds the relay's Prometheus metrics in a registry of their own, and the HTTP
// handler that serves them with /healthz and the net/http/pprof profiles on the separate,
// operator-only metrics listener (off unless --metrics-listen is given).
//
// Labels carry message types, error codes, close codes and results only, never a username, a
// payload or key material (spec §5.5 [SRV-12]).
package metrics

import (
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric name.
const Namespace = "blindpost"

// Metrics are the relay's counters, gauges and histograms. The zero value is not usable; call New.
type Metrics struct {
	Registry *prometheus.Registry

	Connections       prometheus.Gauge       // open WebSocket connections
	ConnectionsTotal  prometheus.Counter     // accepted WebSocket upgrades
	RefusedTotal      *prometheus.CounterVec // refused upgrades, by reason
	OnlineUsers       prometheus.Gauge       // registered connections
	Groups            prometheus.Gauge       // groups with at least one member
	Registrations     *prometheus.CounterVec // registrations, by result
	MessagesIn        *prometheus.CounterVec // messages received, by type
	MessagesRelayed   *prometheus.CounterVec // messages queued for a recipient, by type
	BytesRelayed      *prometheus.CounterVec // bytes queued for recipients, by type
	Errors            *prometheus.CounterVec // error messages sent, by code
	Closes            *prometheus.CounterVec // closes initiated by the server, by close code
	QueueDrops        prometheus.Counter     // messages that did not fit a full send queue
	DirectoryFailures prometheus.Counter     // directory operations that failed

	// The labelled series of the per-message paths, looked up once per label value: a lookup
	// hashes the value under a lock, which costs more than the increment.
	received sync.Map // type -> prometheus.Counter (MessagesIn)
	relayed  sync.Map // type -> *relayedSeries
	// relayLatency is blindpost_relay_latency_seconds: receive to enqueued-for-recipient, by
	// type.
	relayLatency *latencyVec
}

// relayedSeries are the series Relayed updates for one type.
type relayedSeries struct {
	messages prometheus.Counter
	bytes    prometheus.Counter
	latency  *latencySeries
}

// New creates the metrics in a new registry, together with the Go runtime and process collectors.
func New() *Metrics {
	r := prometheus.NewRegistry()
	f := factory{r}
	m := &Metrics{
		Registry:          r,
		Connections:       f.gauge("connections", "Open WebSocket connections."),
		ConnectionsTotal:  f.counter("connections_total", "WebSocket upgrades accepted."),
		RefusedTotal:      f.counterVec("connections_refused_total", "Upgrade requests refused, by reason.", "reason"),
		OnlineUsers:       f.gauge("online_users", "Connections that completed registration."),
		Groups:            f.gauge("groups", "Groups with at least one member."),
		Registrations:     f.counterVec("registrations_total", "Registration attempts, by result.", "result"),
		MessagesIn:        f.counterVec("messages_received_total", "Client messages received, by type (invalid ones as \"invalid\").", "type"),
		MessagesRelayed:   f.counterVec("messages_relayed_total", "Messages queued for a recipient, by forwarded type.", "type"),
		BytesRelayed:      f.counterVec("bytes_relayed_total", "Bytes queued for recipients, by forwarded type.", "type"),
		Errors:            f.counterVec("errors_total", "Error messages sent to clients, by code.", "code"),
		Closes:            f.counterVec("closes_total", "Connections closed by the server, by WebSocket close code.", "code"),
		QueueDrops:        f.counter("queue_drops_total", "Messages that did not fit a full send queue (the recipient was closed with 4002)."),
		DirectoryFailures: f.counter("directory_failures_total", "Directory operations that failed."),
		relayLatency:      newLatencyVec(),
	}
	r.MustRegister(m.relayLatency,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Close records a close initiated by the server with WebSocket close code code.
func (m *Metrics) Close(code int) { m.Closes.WithLabelValues(strconv.Itoa(code)).Inc() }

// Received records one client message of type typ ("invalid" for one that did not decode).
func (m *Metrics) Received(typ string) { m.receivedOf(typ).Inc() }

// receivedOf returns the series of MessagesIn of type typ.
func (m *Metrics) receivedOf(typ string) prometheus.Counter {
	c, ok := m.received.Load(typ)
	if !ok {
		c, _ = m.received.LoadOrStore(typ, m.MessagesIn.WithLabelValues(typ))
	}
	return c.(prometheus.Counter)
}

// Relayed records one message of type typ and size n queued for one recipient, received at t.
func (m *Metrics) Relayed(typ string, n int, received time.Time) {
	r := m.relayedOf(typ)
	r.messages.Inc()
	r.bytes.Add(float64(n))
	r.latency.observe(time.Since(received))
}

// relayedOf returns the series Relayed updates for type typ.
func (m *Metrics) relayedOf(typ string) *relayedSeries {
	v, ok := m.relayed.Load(typ)
	if !ok {
		v, _ = m.relayed.LoadOrStore(typ, &relayedSeries{
			messages: m.MessagesRelayed.WithLabelValues(typ),
			bytes:    m.BytesRelayed.WithLabelValues(typ),
			latency:  m.relayLatency.of(typ),
		})
	}
	return v.(*relayedSeries)
}

// Handler serves /metrics, /healthz (healthy reports whether the relay is serving) and the
// net/http/pprof profiles under /debug/pprof/.
func (m *Metrics) Handler(healthy func() bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if healthy != nil && !healthy() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("unavailable\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

type factory struct{ r *prometheus.Registry }

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help})
	f.r.MustRegister(g)
	return g
}

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help})
	f.r.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	f.r.MustRegister(c)
	return c
}

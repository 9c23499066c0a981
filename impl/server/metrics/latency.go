package metrics

import (
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// latencyBuckets are the upper bounds of the relay latency histogram: 10 µs … 2.6 s.
var latencyBuckets = prometheus.ExponentialBuckets(0.00001, 4, bucketCount)

// bucketCount is the number of latencyBuckets; an observation above them all counts in one
// more (+Inf).
const bucketCount = 10

// latencyVec is blindpost_relay_latency_seconds, by type. It is a collector of its own rather
// than a prometheus.HistogramVec because a Tally adds many observations to it at once, which a
// HistogramVec cannot take: a connection counts its relays locally and adds them in one go.
type latencyVec struct {
	desc   *prometheus.Desc
	series sync.Map // type -> *latencySeries
}

// latencySeries is the histogram of one type.
type latencySeries struct {
	buckets [bucketCount + 1]atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sumBits atomic.Uint64                  // float64 seconds
}

func newLatencyVec() *latencyVec {
	return &latencyVec{desc: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "relay_latency_seconds"),
		"Time from receiving a message to queueing it for its recipients, by forwarded type.", []string{"type"}, nil)}
}

// of returns the series of type typ.
func (v *latencyVec) of(typ string) *latencySeries {
	s, ok := v.series.Load(typ)
	if !ok {
		s, _ = v.series.LoadOrStore(typ, new(latencySeries))
	}
	return s.(*latencySeries)
}

// bucketOf returns the index of the bucket of an observation of d.
func bucketOf(d time.Duration) int {
	return sort.SearchFloat64s(latencyBuckets, d.Seconds())
}

// observe adds one observation of d.
func (s *latencySeries) observe(d time.Duration) {
	s.buckets[bucketOf(d)].Add(1)
	s.addSum(d.Seconds())
}

// addSum adds sum seconds to the sum of the observations.
func (s *latencySeries) addSum(sum float64) {
	for {
		old := s.sumBits.Load()
		if s.sumBits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+sum)) {
			return
		}
	}
}

// Describe implements prometheus.Collector.
func (v *latencyVec) Describe(ch chan<- *prometheus.Desc) { ch <- v.desc }

// Collect implements prometheus.Collector. The count is the sum of the buckets, so that the
// two always agree; a scrape that races an add may see the sum without it, or it without the
// sum.
func (v *latencyVec) Collect(ch chan<- prometheus.Metric) {
	v.series.Range(func(k, x any) bool {
		s := x.(*latencySeries)
		cum := make(map[float64]uint64, len(latencyBuckets))
		var n uint64
		for i, le := range latencyBuckets {
			n += s.buckets[i].Load()
			cum[le] = n
		}
		n += s.buckets[bucketCount].Load()
		ch <- prometheus.MustNewConstHistogram(v.desc, n, math.Float64frombits(s.sumBits.Load()), cum, k.(string))
		return true
	})
}

// Tally counts what one connection received and relayed of one type (the relay's fast path:
// relay requests), for Flush to add to the metrics in one go. The counters are shared by every
// connection, so every core that adds to one takes its cache line from the others: once per
// message, that cost more than everything else the relay counts. A Tally belongs to one
// goroutine.
type Tally struct {
	received, relayed, bytes uint64
	buckets                  [bucketCount + 1]uint64
	sum                      time.Duration
}

// Len returns how many messages t has counted, received or relayed.
func (t *Tally) Len() uint64 { return max(t.received, t.relayed) }

// Received counts one message received.
func (t *Tally) Received() { t.received++ }

// Relayed counts one message of n bytes queued for one recipient, received at received.
func (t *Tally) Relayed(n int, received time.Time) {
	d := time.Since(received)
	t.relayed++
	t.bytes += uint64(n)
	t.buckets[bucketOf(d)]++
	t.sum += d
}

// Flush adds what t counted to the metrics of type typ and empties t.
func (m *Metrics) Flush(typ string, t *Tally) {
	if t.received == 0 && t.relayed == 0 {
		return
	}
	if t.received > 0 {
		m.receivedOf(typ).Add(float64(t.received))
	}
	if t.relayed > 0 {
		r := m.relayedOf(typ)
		r.messages.Add(float64(t.relayed))
		r.bytes.Add(float64(t.bytes))
		for i, n := range t.buckets {
			if n > 0 {
				r.latency.buckets[i].Add(n)
			}
		}
		r.latency.addSum(t.sum.Seconds())
	}
	*t = Tally{}
}

// Package hist is the benchmarks' latency histogram: an HdrHistogram
// (github.com/HdrHistogram/hdrhistogram-go) with two significant digits, so that values below 256
// are exact and every larger one is known to within 1/128 (0.8 %) of itself, from 0 to the
// largest int64, in about 57 KiB of counters. Beside it the package keeps the exact count, min,
// max and sum, which HdrHistogram only approximates, so that Min, Max and Mean are exact and
// Quantile never exceeds Max.
//
// A Histogram is not safe for concurrent use: give each goroutine its own and Merge them.
package hist

import (
	"fmt"
	"math"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// significantDigits of HdrHistogram: 2 gives 256 sub-buckets per power of two, a relative
// error below 1/128.
const significantDigits = 2

// Histogram counts non-negative int64 values (nanoseconds, for latencies).
type Histogram struct {
	h   *hdr.Histogram
	sum float64
	min int64
	max int64
}

// New returns an empty histogram.
func New() *Histogram { return &Histogram{h: hdr.New(1, math.MaxInt64, significantDigits)} }

// Record counts v; negative values count as 0.
func (h *Histogram) Record(v int64) {
	v = max(v, 0)
	if err := h.h.RecordValue(v); err != nil {
		// Every value in [0, MaxInt64] is trackable, and a count cannot reach MaxInt64.
		panic("hist: " + err.Error())
	}
	if h.h.TotalCount() == 1 || v < h.min {
		h.min = v
	}
	h.max = max(h.max, v)
	h.sum += float64(v)
}

// RecordDuration counts d in nanoseconds.
func (h *Histogram) RecordDuration(d time.Duration) { h.Record(int64(d)) }

// Merge adds the counts of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.Count() == 0 {
		return
	}
	if h.Count() == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.sum += o.sum
	h.h.Merge(o.h) // same geometry: nothing is dropped
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return uint64(h.h.TotalCount()) }

// Min returns the smallest recorded value (exact), 0 when empty.
func (h *Histogram) Min() int64 { return h.min }

// Max returns the largest recorded value (exact), 0 when empty.
func (h *Histogram) Max() int64 { return h.max }

// Mean returns the mean of the recorded values (exact up to float64 rounding), 0 when empty.
func (h *Histogram) Mean() float64 {
	if h.Count() == 0 {
		return 0
	}
	return h.sum / float64(h.Count())
}

// Quantile returns the value below or at which a fraction q (0 … 1) of the recorded values lie,
// as the highest value of its bucket (never below the true quantile, at most 0.8 % above it)
// and never above Max. It returns 0 when the histogram is empty.
func (h *Histogram) Quantile(q float64) int64 {
	if h.Count() == 0 {
		return 0
	}
	return min(h.h.ValueAtQuantile(min(max(q, 0), 1)*100), h.max)
}

// Summary is the usual digest of a latency histogram, in nanoseconds.
type Summary struct {
	Count uint64  `json:"count"`
	Min   int64   `json:"min_ns"`
	Mean  float64 `json:"mean_ns"`
	P50   int64   `json:"p50_ns"`
	P90   int64   `json:"p90_ns"`
	P99   int64   `json:"p99_ns"`
	P999  int64   `json:"p999_ns"`
	Max   int64   `json:"max_ns"`
}

// Summary returns the count, min, mean, p50, p90, p99, p99.9 and max.
func (h *Histogram) Summary() Summary {
	return Summary{Count: h.Count(), Min: h.min, Mean: h.Mean(), P50: h.Quantile(0.50), P90: h.Quantile(0.90),
		P99: h.Quantile(0.99), P999: h.Quantile(0.999), Max: h.max}
}

// String formats the summary for people.
func (s Summary) String() string {
	d := func(ns int64) string { return time.Duration(ns).Round(time.Microsecond).String() }
	return fmt.Sprintf("n=%d p50=%s p90=%s p99=%s p99.9=%s max=%s", s.Count, d(s.P50), d(s.P90), d(s.P99), d(s.P999), d(s.Max))
}

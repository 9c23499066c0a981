// Package hist is a log-bucketed latency histogram in the style of HdrHistogram: values are
// counted in buckets whose width grows with the value, so that every recorded value is known to
// within 1/128 (0.8 %) of itself from 1 ns to hours, in a fixed 59 KiB of counters. Recording
// is a few arithmetic operations and one increment; quantiles walk the counters.
//
// A Histogram is not safe for concurrent use: give each goroutine its own and Merge them.
package hist

import (
	"fmt"
	"math/bits"
	"time"
)

// subBits is the number of significant bits kept: values below 1<<subBits are exact, larger ones
// are rounded down to subBits significant bits (a relative error below 2^-(subBits-1)).
const subBits = 8

const (
	subCount = 1 << subBits // exact values 0 … subCount-1
	halfSub  = subCount / 2 // sub-buckets per power of two above subCount
	maxExp   = 63           // one more than the top bit of the largest int64
	nBuckets = subCount + (maxExp-subBits)*halfSub
)

// Histogram counts non-negative int64 values (nanoseconds, for latencies).
type Histogram struct {
	counts [nBuckets]uint64
	n      uint64
	sum    float64
	min    int64
	max    int64
}

// New returns an empty histogram.
func New() *Histogram { return &Histogram{} }

// index returns the bucket of v ≥ 0.
func index(v int64) int {
	u := uint64(v)
	if u < subCount {
		return int(u)
	}
	e := bits.Len64(u) - 1 // the top bit, ≥ subBits
	shift := e - (subBits - 1)
	m := u >> shift // in [halfSub, subCount)
	return subCount + (e-subBits)*halfSub + int(m) - halfSub
}

// lowest returns the smallest value that falls in bucket i.
func lowest(i int) int64 {
	if i < subCount {
		return int64(i)
	}
	j := i - subCount
	e := j/halfSub + subBits
	m := uint64(j%halfSub + halfSub)
	return int64(m << (e - (subBits - 1)))
}

// highest returns the largest value that falls in bucket i.
func highest(i int) int64 {
	if i+1 >= nBuckets {
		return 1<<63 - 1
	}
	return lowest(i+1) - 1
}

// Record counts v; negative values count as 0.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[index(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// RecordDuration counts d in nanoseconds.
func (h *Histogram) RecordDuration(d time.Duration) { h.Record(int64(d)) }

// Merge adds the counts of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Min returns the smallest recorded value (exact), 0 when empty.
func (h *Histogram) Min() int64 { return h.min }

// Max returns the largest recorded value (exact), 0 when empty.
func (h *Histogram) Max() int64 { return h.max }

// Mean returns the mean of the recorded values, 0 when empty.
func (h *Histogram) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Quantile returns the value below or at which a fraction q (0 … 1) of the recorded values lie,
// as the highest value of its bucket (never below the true quantile, at most 0.8 % above it)
// and never above Max. It returns 0 when the histogram is empty.
func (h *Histogram) Quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(highest(i), h.max)
		}
	}
	return h.max
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
	return Summary{Count: h.n, Min: h.min, Mean: h.Mean(), P50: h.Quantile(0.50), P90: h.Quantile(0.90),
		P99: h.Quantile(0.99), P999: h.Quantile(0.999), Max: h.max}
}

// String formats the summary for people.
func (s Summary) String() string {
	d := func(ns int64) string { return time.Duration(ns).Round(time.Microsecond).String() }
	return fmt.Sprintf("n=%d p50=%s p90=%s p99=%s p99.9=%s max=%s", s.Count, d(s.P50), d(s.P90), d(s.P99), d(s.P999), d(s.Max))
}

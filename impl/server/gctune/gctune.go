// Package gctune keeps the Go garbage collector's goal proportionate for a relay: a fixed
// percentage of the live heap (GOGC) as the heap grows large, but never less headroom than a
// floor while it is small.
//
// One GOGC does not suit both ends. A relay holding many idle connections has a large live heap
// (their TLS and WebSocket state), and Go's default of 100 lets RSS grow to twice it; a lower
// percentage keeps memory per connection down. A relay with few connections and much traffic
// has a small live heap, and a low percentage of it makes the collector run very often, each
// cycle paying its fixed costs. The tuner sets the percentage so that the heap may grow by the
// larger of Percent of the live heap and Floor: the idea of a heap ballast, without the ballast.
package gctune

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// liveMetric is the heap the last collection found live.
const liveMetric = "/gc/heap/live:bytes"

// Tuner adjusts the collector's percentage to the live heap.
type Tuner struct {
	Percent int           // the percentage for a large heap (as GOGC)
	Floor   uint64        // the least headroom, in bytes, a small heap gets
	Every   time.Duration // how often the live heap is read; 0 means every 100 ms

	// For tests: the collector's setting and the live heap (debug.SetGCPercent and
	// runtime/metrics when nil).
	setPercent func(int) int
	readLive   func() uint64
}

// PercentFor returns the percentage that gives a live heap of live bytes the headroom of
// t.Percent or t.Floor, whichever is larger; at most 10,000 (a heap of a few bytes). Before the
// first collection the live heap is unknown (0), and the percentage is t.Percent.
func (t Tuner) PercentFor(live uint64) int {
	const most = 10_000
	if live == 0 {
		return t.Percent
	}
	p := uint64(t.Percent)
	if byFloor := t.Floor * 100 / live; byFloor > p {
		p = byFloor
	}
	return int(min(p, most))
}

// Run sets the percentage now and whenever the live heap has moved it by a tenth or more,
// until ctx is done; it then restores the percentage it found.
func (t Tuner) Run(ctx context.Context) {
	every := t.Every
	if every <= 0 {
		// Often enough to follow a heap that grows by a connection storm, which would
		// otherwise overshoot with the headroom of the smaller heap before it.
		every = 100 * time.Millisecond
	}
	set, read := t.setPercent, t.readLive
	if set == nil {
		set = debug.SetGCPercent
	}
	if read == nil {
		read = readLive
	}
	current := t.PercentFor(read())
	before := set(current)
	defer set(before)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// A change below a tenth is not worth the collector's recomputation.
		if p := t.PercentFor(read()); p*10 > current*11 || p*11 < current*10 {
			current = p
			set(p)
		}
	}
}

// readLive returns the heap the last collection found live, 0 before the first.
func readLive() uint64 {
	sample := []metrics.Sample{{Name: liveMetric}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return sample[0].Value.Uint64()
}

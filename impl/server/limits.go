package server

import (
	"time"

	"golang.org/x/time/rate"
)

// flowControl is one connection's rate limit (spec §5.8 [LIM-3]) and its record of recent
// rejections (spec §5.8 [LIM-4]). Only the connection's reader goroutine uses it.
type flowControl struct {
	bucket *rate.Limiter
	// rejections is a ring of the times of the last limit rate_limited errors, made at the
	// first one (most connections never have one); next is the slot the next one overwrites,
	// which holds the oldest of them once the ring is full.
	rejections []time.Time
	next       int
	limit      int
	window     time.Duration
}

func newFlowControl(cfg *Config) *flowControl {
	f := new(flowControl)
	f.init(cfg)
	return f
}

func (f *flowControl) init(cfg *Config) {
	*f = flowControl{bucket: rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst), limit: cfg.AbuseLimit, window: cfg.AbuseWindow}
}

// allow takes one token from the bucket at now.
func (f *flowControl) allow(now time.Time) bool { return f.bucket.AllowN(now, 1) }

// reject records a rate_limited error at now and reports whether the connection has now been
// rejected AbuseLimit times within AbuseWindow, and must be closed with 4003.
func (f *flowControl) reject(now time.Time) (abusive bool) {
	if f.rejections == nil {
		f.rejections = make([]time.Time, f.limit)
	}
	f.rejections[f.next] = now
	f.next = (f.next + 1) % len(f.rejections)
	// The ring holds the last AbuseLimit rejections; the oldest is the slot written next.
	first := f.rejections[f.next]
	return !first.IsZero() && now.Sub(first) < f.window
}

package server

import "time"

// flowControl is one connection's rate limit (spec §5.8 [LIM-3]) and its record of recent
// rejections (spec §5.8 [LIM-4]). Only the connection's reader goroutine uses it.
type flowControl struct {
	bucket tokenBucket
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
	*f = flowControl{bucket: newTokenBucket(float64(cfg.Rate), cfg.Burst), limit: cfg.AbuseLimit, window: cfg.AbuseWindow}
}

// allow takes one token from the bucket at now.
func (f *flowControl) allow(now time.Time) bool { return f.bucket.allow(now, 1) }

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

// tokenBucket is a token bucket of one goroutine: burst tokens at most, refilled at rate per
// second, full at first. It decides exactly as golang.org/x/time/rate's Limiter.AllowN does
// (TestTokenBucketAsXRate), without the lock and the reservation that a limiter shared between
// goroutines needs: the relay takes from one for every message it reads.
type tokenBucket struct {
	rate   float64 // tokens per second
	burst  int
	tokens float64
	last   time.Time
}

func newTokenBucket(rate float64, burst int) tokenBucket {
	return tokenBucket{rate: rate, burst: burst, tokens: float64(burst)}
}

// allow takes n tokens at now and reports whether there were enough. A time before the last
// one refills nothing.
func (b *tokenBucket) allow(now time.Time, n int) bool {
	last := b.last
	if now.Before(last) {
		last = now
	}
	tokens := b.tokens
	if b.rate > 0 {
		tokens = min(tokens+now.Sub(last).Seconds()*b.rate, float64(b.burst))
	}
	tokens -= float64(n)
	// As x/time/rate: a shortfall worth less than a nanosecond of refill is no shortfall.
	if n > b.burst || tokens < 0 && (b.rate <= 0 || time.Duration(-tokens/b.rate*float64(time.Second)) > 0) {
		return false
	}
	b.last, b.tokens = now, tokens
	return true
}

package server

import (
	"testing"
	"time"

	"golang.org/x/time/rate"
	"pgregory.net/rapid"
)

// TestTokenBucketAsXRate checks the relay's token bucket against golang.org/x/time/rate's
// Limiter, which it replaced on the hot path: on any sequence of takes, at times that move on by
// any amount, stand still or go back, both decide the same (spec §5.8 [LIM-3], §5.10 [ABU-5]).
func TestTokenBucketAsXRate(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		r := rapid.SampledFrom([]float64{0, 0.5, 1, 3, 100, 3.2e6}).Draw(rt, "rate")
		burst := rapid.IntRange(0, 70).Draw(rt, "burst")
		ours, theirs := newTokenBucket(r, burst), rate.NewLimiter(rate.Limit(r), burst)
		now := time.Unix(1_700_000_000, 0)
		for i := range rapid.IntRange(1, 200).Draw(rt, "takes") {
			n := rapid.IntRange(0, 80).Draw(rt, "n")
			step := time.Duration(rapid.Int64Range(-int64(time.Millisecond), int64(2*time.Second)).Draw(rt, "step"))
			if r > 0 && rapid.Bool().Draw(rt, "just enough") {
				// About the time n tokens take to come back: where a shortfall of less than a
				// nanosecond's refill is, or is not, one.
				step = time.Duration(float64(n)/r*float64(time.Second)) + time.Duration(rapid.IntRange(-2, 2).Draw(rt, "ns"))
			}
			now = now.Add(step)
			if got, want := ours.allow(now, n), theirs.AllowN(now, n); got != want {
				rt.Fatalf("take %d of %d at %v: the bucket says %v, x/time/rate %v", i, n, now, got, want)
			}
		}
	})
}

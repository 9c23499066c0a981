// Package backoff computes the delays between reconnection attempts: exponential, capped and
// jittered, as spec §9 [CLI-3] recommends for a client whose connection dropped.
package backoff

import (
	"context"
	"math"
	"math/rand/v2"
	"time"
)

// Policy is an exponential backoff. The delay before attempt k (from 1) is
// Initial·Multiplier^(k−1), capped at Max, then reduced by a random fraction of at most Jitter so
// that many clients dropped together do not all return at once.
type Policy struct {
	Initial    time.Duration // delay before the first attempt
	Max        time.Duration // the cap
	Multiplier float64       // growth per attempt, at least 1
	Jitter     float64       // in [0, 1]: the largest fraction taken off a delay
	// Attempts is the number of attempts before giving up; 0 means never give up.
	Attempts int
}

// Default is the policy of the reference client: 0.5 s, doubling, capped at 30 s, 20% jitter,
// never giving up.
func Default() Policy {
	return Policy{Initial: 500 * time.Millisecond, Max: 30 * time.Second, Multiplier: 2, Jitter: 0.2}
}

// Delay returns the delay before attempt (counted from 1). rnd returns a number in [0, 1); nil
// means math/rand/v2.
func (p Policy) Delay(attempt int, rnd func() float64) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	mult := max(p.Multiplier, 1)
	d := float64(p.Initial) * math.Pow(mult, float64(attempt-1))
	if p.Max > 0 && d > float64(p.Max) {
		d = float64(p.Max)
	}
	if j := min(max(p.Jitter, 0), 1); j > 0 {
		if rnd == nil {
			rnd = rand.Float64
		}
		d -= d * j * rnd()
	}
	return time.Duration(d)
}

// GiveUp reports whether attempt is past the policy's limit.
func (p Policy) GiveUp(attempt int) bool {
	return p.Attempts > 0 && attempt > p.Attempts
}

// Sleeper waits for d or until ctx is done, and returns ctx.Err() in the latter case. Tests
// substitute one that does not wait.
type Sleeper func(ctx context.Context, d time.Duration) error

// Sleep is the Sleeper that waits on the real clock.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Package timescale stretches the timers of tests that depend on the relay's clock (the
// keepalive of spec §4.2 [WS-7], the registration deadline of [WS-9]) by one factor, so that a
// loaded machine can run them with more room: BLINDPOST_TEST_TIMESCALE=4 makes every such timer
// four times longer. Tests derive each timer from a base value through Of, and wait by counting
// time, never pings or ticks, so that no test depends on an idle machine.
package timescale

import (
	"os"
	"strconv"
	"time"
)

// Env is the environment variable that holds the factor (a number ≥ 1; default 1).
const Env = "BLINDPOST_TEST_TIMESCALE"

// Factor returns the factor of Env, 1 when it is unset or not a number of at least 1.
func Factor() float64 {
	f, err := strconv.ParseFloat(os.Getenv(Env), 64)
	if err != nil || f < 1 {
		return 1
	}
	return f
}

// Of returns base stretched by Factor, rounded to whole milliseconds (the unit in which the
// relay announces its timers).
func Of(base time.Duration) time.Duration {
	return time.Duration(float64(base) * Factor()).Round(time.Millisecond)
}

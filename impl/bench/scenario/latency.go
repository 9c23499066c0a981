package scenario

import (
	"context"

	"github.com/blindpost/blindpost/impl/bench"
)

// LatencyOptions configure the latency scenario: the relay load at one fixed rate for both
// systems, Fraction of the lower of their maxima (measured first unless given), so that each
// runs at no more than Fraction of its capacity and both carry the same load; the latency is
// measured from the schedule.
type LatencyOptions struct {
	RelayOptions
	Fraction    float64 // of the maximum; 0 means 0.5
	OursMax     float64 // ours' maximum msgs/s; 0: measure it first
	BaselineMax float64 // the baseline's; 0: measure it first
}

// LatencyResult is one system's latency run, with the maximum its rate derives from.
type LatencyResult struct {
	Max    float64      `json:"max_msgs_per_s"`
	Run    RelayResult  `json:"run"`
	MaxRun *RelayResult `json:"max_run,omitempty"`
}

// LatencyComparison is the latency scenario on both systems.
type LatencyComparison struct {
	Fraction float64       `json:"fraction"`
	Ours     LatencyResult `json:"ours"`
	Baseline LatencyResult `json:"baseline"`
}

// RunLatency runs the latency scenario on ours and the baseline in alternating slices (ab.go),
// after measuring their maxima the same way when they are not given.
func RunLatency(ctx context.Context, o LatencyOptions, prov Provider) (LatencyComparison, error) {
	if o.Fraction <= 0 {
		o.Fraction = 0.5
	}
	out := LatencyComparison{Fraction: o.Fraction}
	if o.OursMax <= 0 || o.BaselineMax <= 0 {
		mo := o.RelayOptions
		mo.Rate = 0
		m, err := RunRelay(ctx, mo, prov)
		if err != nil {
			return out, err
		}
		out.Ours.MaxRun, out.Baseline.MaxRun = &m.Ours, &m.Baseline
		o.OursMax, o.BaselineMax = m.Ours.Throughput, m.Baseline.Throughput
	}
	out.Ours.Max, out.Baseline.Max = o.OursMax, o.BaselineMax
	rate := o.Fraction * min(o.OursMax, o.BaselineMax)
	r, err := relayAB(ctx, o.RelayOptions, prov, [2]float64{rate, rate}, "latency")
	out.Ours.Run, out.Baseline.Run = r[0], r[1]
	return out, err
}

// Figures are the latency rows (issue 7 goal: p99 at 50% load ≤ 1.5× the forwarder's).
func (r LatencyComparison) Figures() []bench.Figure {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	o, b := r.Ours.Run.Latency, r.Baseline.Run.Latency
	return []bench.Figure{
		bench.NewFigure("latency", "offered rate, both (50% of the lower max)", "msg/s", r.Ours.Run.OfferedRate, r.Baseline.Run.OfferedRate, nil),
		bench.NewFigure("latency", "p50 at 50% load", "µs", us(o.P50), us(b.P50), nil),
		bench.NewFigure("latency", "p99 at 50% load", "µs", us(o.P99), us(b.P99), bench.GoalAtMost(1.5)),
	}
}

package scenario

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"

	"github.com/blindpost/blindpost/impl/bench"
	"github.com/blindpost/blindpost/impl/bench/target"
)

// LatencyOptions configure the latency scenario: the relay load at one fixed rate for every
// system, Fraction of the lowest of their maxima (measured first unless given), so that each
// runs at no more than Fraction of its capacity and all carry the same load; the latency is
// measured from the schedule.
type LatencyOptions struct {
	RelayOptions
	Fraction float64 // of the maximum; 0 means 0.5
	// Maxima are the systems' maximum msgs/s by name (target.Ours, target.Baseline, …); when
	// one of the four is missing they are all measured first.
	Maxima map[string]float64
}

// LatencyResult is one system's latency run, with the maximum its rate derives from.
type LatencyResult struct {
	Max    float64      `json:"max_msgs_per_s"`
	Run    RelayResult  `json:"run"`
	MaxRun *RelayResult `json:"max_run,omitempty"`
}

// LatencyComparison is the latency scenario on ours, the baseline and the other systems.
type LatencyComparison struct {
	Fraction float64        `json:"fraction"`
	Ours     LatencyResult  `json:"ours"`
	Baseline LatencyResult  `json:"baseline"` // the coalescing forwarder
	Typical  *LatencyResult `json:"typical,omitempty"`
	NATS     *LatencyResult `json:"nats,omitempty"`
}

// MaximaOf returns the maxima the relay scenario measured, for LatencyOptions.Maxima.
func MaximaOf(r RelayComparison) map[string]float64 {
	m := map[string]float64{target.Ours: r.Ours.Throughput, target.Baseline: r.Baseline.Throughput}
	if r.Typical != nil {
		m[target.Typical] = r.Typical.Throughput
	}
	if r.NATS != nil {
		m[target.NATSName] = r.NATS.Throughput
	}
	return m
}

// RunLatency runs the latency scenario on every system in alternating slices (ab.go), after
// measuring their maxima the same way when they are not given.
func RunLatency(ctx context.Context, o LatencyOptions, prov Provider) (LatencyComparison, error) {
	if o.Fraction <= 0 {
		o.Fraction = 0.5
	}
	out := LatencyComparison{Fraction: o.Fraction}
	names := []string{target.Ours, target.Baseline, target.Typical, target.NATSName}
	var maxRuns map[string]*RelayResult
	for _, n := range names {
		if o.Maxima[n] <= 0 {
			mo := o.RelayOptions
			mo.Rate = 0
			m, err := RunRelay(ctx, mo, prov)
			if err != nil {
				return out, err
			}
			o.Maxima = MaximaOf(m)
			maxRuns = map[string]*RelayResult{target.Ours: &m.Ours, target.Baseline: &m.Baseline,
				target.Typical: m.Typical, target.NATSName: m.NATS}
			break
		}
	}
	lowest := math.Inf(1)
	for _, n := range names {
		lowest = min(lowest, o.Maxima[n])
	}
	rate := o.Fraction * lowest
	starts := relaySystems(prov)
	rs, err := relayAB(ctx, o.RelayOptions, starts, slices.Repeat([]float64{rate}, len(starts)), "latency")
	for _, r := range rs {
		lr := LatencyResult{Max: o.Maxima[r.System], Run: r, MaxRun: maxRuns[r.System]}
		switch r.System {
		case target.Ours:
			out.Ours = lr
		case target.Baseline:
			out.Baseline = lr
		case target.Typical:
			out.Typical = &lr
		case target.NATSName:
			out.NATS = &lr
		}
	}
	return out, err
}

// Figures are the latency rows, with the goal against the baseline of README "Performance":
// p99 at 50% load ≤ 1.2×.
func (r LatencyComparison) Figures() []bench.Figure {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	row := func(name, unit string, v func(LatencyResult) float64, goal *bench.Goal) bench.Figure {
		f := bench.NewFigure("latency", name, unit, v(r.Ours), v(r.Baseline), goal)
		if r.Typical != nil {
			f = f.With(target.Typical, v(*r.Typical))
		}
		if r.NATS != nil {
			f = f.With(target.NATSName, v(*r.NATS))
		}
		return f
	}
	pct := fmt.Sprintf("%.0f%%", 100*r.Fraction)
	return []bench.Figure{
		row("offered rate, all ("+pct+" of the lowest max)", "msg/s", func(x LatencyResult) float64 { return x.Run.OfferedRate }, nil),
		row("p50 at "+pct+" load", "µs", func(x LatencyResult) float64 { return us(x.Run.Latency.P50) }, nil),
		row("p99 at "+pct+" load", "µs", func(x LatencyResult) float64 { return us(x.Run.Latency.P99) }, bench.GoalAtMost(1.2)),
		row("server CPU per message at "+pct+" load", "µs", func(x LatencyResult) float64 { return x.Run.CPUPerMillion }, nil),
		row("cores busy at "+pct+" load (server and load generator)", "%", func(x LatencyResult) float64 { return busy(x.Run, runtime.NumCPU()) }, nil),
	}
}

// busy is the share of the machine's cores that the server and the load generator together
// kept busy during run, in percent: at a fixed rate a message costs more CPU than at the
// maximum (fewer messages share a system call), so "half the maximum" can fill the cores, and
// then the latency is queueing for them (README "Performance"). NaN when the server's CPU is
// not measurable.
func busy(run RelayResult, cores int) float64 {
	perMsg := (run.CPUPerMillion + run.LoadCPUPerMillion) / 1e6 // CPU-seconds per message
	return 100 * perMsg * run.Throughput / float64(cores)
}

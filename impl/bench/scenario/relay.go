package scenario

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/blindpost/blindpost/impl/bench"
	"github.com/blindpost/blindpost/impl/bench/hist"
	"github.com/blindpost/blindpost/impl/bench/target"
)

// RelayOptions configure the relay and latency scenarios.
type RelayOptions struct {
	Common
	Pairs  int     // connected pairs; each connection sends to its partner
	Size   int     // ciphertext bytes per message (at least 24)
	Rate   float64 // offered messages per second over all connections; 0: as fast as Window allows
	Window int     // messages a connection may have sent and not yet seen delivered; 0 means 32
}

// RelayResult is one system's relay run.
type RelayResult struct {
	System        string       `json:"system"`
	Pairs         int          `json:"pairs"`
	Size          int          `json:"size"`
	OfferedRate   float64      `json:"offered_rate"` // 0: unlimited (window-bound)
	Window        int          `json:"window"`
	Seconds       float64      `json:"seconds"`
	Delivered     uint64       `json:"delivered"`
	Acks          uint64       `json:"acks"`
	Throughput    float64      `json:"msgs_per_s"`
	ServerCPU     float64      `json:"server_cpu_s"`             // NaN: not measurable
	CPUPerMillion float64      `json:"server_cpu_s_per_1m_msgs"` // NaN: not measurable
	ServerRSS     int64        `json:"server_rss_bytes"`
	Latency       hist.Summary `json:"latency"`
	Errors        uint64       `json:"errors"`
	FirstError    string       `json:"first_error,omitempty"`
	Rounds        int          `json:"rounds,omitempty"` // alternating slices (ab.go); 0: one run
	// LoadCPUPerMillion is the load generator's CPU per million messages (alternating runs).
	LoadCPUPerMillion float64 `json:"load_cpu_s_per_1m_msgs,omitempty"`
}

// RunRelayOn runs the relay load on one system for o.Warmup + o.Duration.
func RunRelayOn(ctx context.Context, o RelayOptions, sys *target.System) (RelayResult, error) {
	if o.Size == 0 {
		o.Size = 200
	}
	p, err := openPairs(ctx, o.Common, sys, o.Pairs, o.Size, o.Window, "r")
	if err != nil {
		return RelayResult{}, err
	}
	p.start(ctx, o.Rate)
	label := fmt.Sprintf("%s-%s", map[bool]string{true: "latency", false: "relay"}[o.Rate > 0], sys.Name)
	stopTicker := progressTicker(ctx, o.Common, label, p)
	defer stopTicker()
	res := RelayResult{System: sys.Name, Pairs: o.Pairs, Size: o.Size, OfferedRate: o.Rate, Window: p.window,
		ServerCPU: math.NaN(), CPUPerMillion: math.NaN()}
	if !sleepFor(ctx, o.Warmup) {
		p.stop(0)
		return res, ctx.Err()
	}
	// The window opens: what is scheduled from now on is timed.
	p.win.start.Store(p.clk.now())
	t0 := time.Now()
	d0, a0 := p.counts()
	s0, serr := sys.Sample()
	waitProfile := o.profile(ctx, sys, label, o.Duration)
	ok := sleepFor(ctx, o.Duration)
	s1, serr1 := sys.Sample()
	d1, a1 := p.counts()
	elapsed := time.Since(t0)
	p.win.end.Store(p.clk.now())
	p.stop(2 * time.Second)
	waitProfile()
	if !ok {
		return res, ctx.Err()
	}
	res.Seconds = elapsed.Seconds()
	res.Delivered, res.Acks = d1-d0, a1-a0
	res.Throughput = rate(res.Delivered, elapsed)
	if serr == nil && serr1 == nil {
		res.ServerCPU = s1.Sub(s0).CPU.Seconds()
		res.ServerRSS = s1.RSS
		if res.Delivered > 0 {
			res.CPUPerMillion = res.ServerCPU / float64(res.Delivered) * 1e6
		}
	}
	res.Latency = p.histogram().Summary()
	res.Errors, res.FirstError = p.errs.get()
	o.progressf("%s: %s msg/s, %s, server CPU %s s per million, errors %d", label, bench.Format(res.Throughput),
		res.Latency, bench.Format(res.CPUPerMillion), res.Errors)
	return res, nil
}

// progressTicker prints the delivery rate of p every second.
func progressTicker(ctx context.Context, c Common, label string, p *pairs) func() {
	if c.Progress == nil {
		return func() {}
	}
	var last uint64
	return ticker(ctx, func(elapsed time.Duration) {
		d, _ := p.counts()
		n, _ := p.errs.get()
		c.progressf("  %s %4.0fs: %s msg/s delivered, %d errors", label, elapsed.Seconds(), bench.Format(float64(d-last)), n)
		last = d
	})
}

// RelayComparison is the relay scenario on ours, the baseline, and the other systems.
type RelayComparison struct {
	Ours     RelayResult  `json:"ours"`
	Baseline RelayResult  `json:"baseline"` // the coalescing forwarder
	Typical  *RelayResult `json:"typical,omitempty"`
	NATS     *RelayResult `json:"nats,omitempty"`
}

// relayComparison files results by system.
func relayComparison(rs []RelayResult) RelayComparison {
	var out RelayComparison
	for _, r := range rs {
		switch r.System {
		case target.Ours:
			out.Ours = r
		case target.Baseline:
			out.Baseline = r
		case target.Typical:
			out.Typical = &r
		case target.NATSName:
			out.NATS = &r
		}
	}
	return out
}

// RunRelay runs the relay scenario on ours, the baseline, the typical forwarder and NATS in
// alternating slices (ab.go).
func RunRelay(ctx context.Context, o RelayOptions, prov Provider) (RelayComparison, error) {
	starts := relaySystems(prov)
	r, err := relayAB(ctx, o, starts, slices.Repeat([]float64{o.Rate}, len(starts)), "relay")
	return relayComparison(r), err
}

// RunRelaySequential runs the relay scenario on each system in turn, each in one run (a CPU
// profile of the whole run can be taken: Common.ProfileDir).
func RunRelaySequential(ctx context.Context, o RelayOptions, prov Provider) (RelayComparison, error) {
	rs, err := runAll(ctx, relaySystems(prov), func(sys *target.System) (RelayResult, error) { return RunRelayOn(ctx, o, sys) })
	return relayComparison(rs), err
}

// PerCPUSecond is the messages delivered per second of the server's CPU time; NaN when that
// time was not measured.
func (r RelayResult) PerCPUSecond() float64 {
	if r.ServerCPU > 0 {
		return float64(r.Delivered) / r.ServerCPU
	}
	return math.NaN()
}

// others adds to f the value of each other system that ran.
func (r RelayComparison) others(f bench.Figure, value func(RelayResult) float64) bench.Figure {
	if r.Typical != nil {
		f = f.With(target.Typical, value(*r.Typical))
	}
	if r.NATS != nil {
		f = f.With(target.NATSName, value(*r.NATS))
	}
	return f
}

// Figures are the relay rows of the report, with the goals against the baseline of README
// "Performance" (throughput ≥ 0.95×, server CPU per message ≤ 1.15×); the goal against NATS
// (messages per server CPU-second ≥ 1.3×) is in the goals table.
func (r RelayComparison) Figures() []bench.Figure {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	row := func(name, unit string, v func(RelayResult) float64, goal *bench.Goal) bench.Figure {
		return r.others(bench.NewFigure("relay", name, unit, v(r.Ours), v(r.Baseline), goal), v)
	}
	return []bench.Figure{
		row("throughput", "msg/s", func(x RelayResult) float64 { return x.Throughput }, bench.GoalAtLeast(0.95)),
		// CPU-seconds per million messages are CPU-microseconds per message.
		row("server CPU per message", "µs", func(x RelayResult) float64 { return x.CPUPerMillion }, bench.GoalAtMost(1.15)),
		row("messages per server CPU-second", "msg/CPU-s", RelayResult.PerCPUSecond, nil),
		row("latency p50 at max load", "µs", func(x RelayResult) float64 { return us(x.Latency.P50) }, nil),
		row("latency p99 at max load", "µs", func(x RelayResult) float64 { return us(x.Latency.P99) }, nil),
	}
}

// runAll starts each system in turn, runs run on it and stops it, and returns the results in
// the order of starts.
func runAll[R any](ctx context.Context, starts []starter, run func(sys *target.System) (R, error)) ([]R, error) {
	out := make([]R, 0, len(starts))
	for _, start := range starts {
		sys, err := start(ctx)
		if err != nil {
			return out, err
		}
		r, err := run(sys)
		if cerr := sys.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			return out, fmt.Errorf("scenario: %s: %w", sys.Name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// runBoth runs run on ours, then on the baseline, and returns the two results.
func runBoth[R any](ctx context.Context, prov Provider, run func(sys *target.System) (R, error)) (ours, baseline R, err error) {
	rs, err := runAll(ctx, []starter{prov.Ours, prov.Baseline}, run)
	if len(rs) > 0 {
		ours = rs[0]
	}
	if len(rs) > 1 {
		baseline = rs[1]
	}
	return ours, baseline, err
}

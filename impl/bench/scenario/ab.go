package scenario

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/blindpost/blindpost/impl/bench"
	"github.com/blindpost/blindpost/impl/bench/sysstat"
	"github.com/blindpost/blindpost/impl/bench/target"
)

// The throughput and latency scenarios measure ours and the other systems in alternating slices
// (ours, baseline, typical, NATS, ours, …) with every system up and its load ready, each load
// paused while another runs: whatever else the machine does during the run falls on all of
// them alike, which matters on a shared machine with two cores.

// abSide is one system's load, as alternate drives it.
type abSide struct {
	sys    *target.System
	resume func()        // let the load run
	pause  func()        // stop it before its next message
	count  func() uint64 // what it has done so far (deliveries, connects)
	open   func()        // start timing what is scheduled from now on
	close  func()        // stop timing
}

// abTotal is what one system did in all its slices.
type abTotal struct {
	Count   uint64
	Seconds float64
	CPU     float64 // NaN when the process is not known
	RSS     int64
	LoadCPU float64 // this process's (the load generator's) CPU time meanwhile
	Reads   uint64  // the server's read system calls
	Writes  uint64  // the server's write system calls
}

// alternate runs rounds rounds of one slice per side, each after settle, and sums them.
func alternate(ctx context.Context, c Common, label string, sides []*abSide, rounds int, slice, settle time.Duration) ([]abTotal, error) {
	tot := make([]abTotal, len(sides))
	for i := range tot {
		if !sides[i].sys.Local() {
			tot[i].CPU = math.NaN()
		}
	}
	// Each system's CPU profile spans all the rounds: it is idle in the other's slices.
	for _, s := range sides {
		defer c.profile(ctx, s.sys, label+"-"+s.sys.Name, time.Duration(rounds*len(sides))*(settle+slice))()
	}
	for r := range rounds {
		for i, s := range sides {
			s.resume()
			if !sleepFor(ctx, settle) {
				s.pause()
				return tot, ctx.Err()
			}
			c0, t0, l0 := s.count(), time.Now(), sysstat.Self()
			s0, err0 := s.sys.Sample()
			s.open()
			ok := sleepFor(ctx, slice)
			s.close()
			c1, el, l1 := s.count(), time.Since(t0), sysstat.Self()
			s1, err1 := s.sys.Sample()
			tot[i].LoadCPU += (l1 - l0).Seconds()
			s.pause()
			if !ok {
				return tot, ctx.Err()
			}
			tot[i].Count += c1 - c0
			tot[i].Seconds += el.Seconds()
			if err0 == nil && err1 == nil {
				d := s1.Sub(s0)
				tot[i].CPU += d.CPU.Seconds()
				tot[i].RSS = s1.RSS
				tot[i].Reads += d.Reads
				tot[i].Writes += d.Writes
			} else {
				tot[i].CPU = math.NaN()
			}
			c.progressf("  %s round %d/%d %s: %s per second", label, r+1, rounds, s.sys.Name, bench.Format(rate(c1-c0, el)))
		}
	}
	return tot, nil
}

// abRounds splits a measured duration into rounds of at least half a second.
func abRounds(d time.Duration) (int, time.Duration) {
	rounds := max(1, min(4, int(d/(500*time.Millisecond))))
	return rounds, d / time.Duration(rounds)
}

// starter starts one system of a comparison.
type starter func(context.Context) (*target.System, error)

// relaySystems are the systems of the relay and latency scenarios, ours first.
func relaySystems(prov Provider) []starter {
	return []starter{prov.Ours, prov.Baseline, prov.Typical, prov.NATS}
}

// relayAB runs the relay load on the systems alternately, at rates[i] for system i (0: as fast
// as the windows allow).
func relayAB(ctx context.Context, o RelayOptions, starts []starter, rates []float64, label string) ([]RelayResult, error) {
	res := make([]RelayResult, len(starts))
	if o.Size == 0 {
		o.Size = 200
	}
	sys := make([]*target.System, len(starts))
	loads := make([]*pairs, len(starts))
	defer func() {
		for i := range loads {
			if loads[i] != nil {
				loads[i].stop(2 * time.Second)
			}
			if sys[i] != nil {
				sys[i].Close()
			}
		}
	}()
	for i, start := range starts {
		var err error
		if sys[i], err = start(ctx); err != nil {
			return res, err
		}
		if loads[i], err = openPairs(ctx, o.Common, sys[i], o.Pairs, o.Size, o.Window, "r"); err != nil {
			return res, fmt.Errorf("scenario: %s: %w", sys[i].Name, err)
		}
		loads[i].gate.shut()
		loads[i].start(ctx, rates[i])
	}
	sides := make([]*abSide, len(loads))
	for i, p := range loads {
		sides[i] = &abSide{sys: sys[i], resume: p.gate.open, pause: p.gate.shut,
			count: func() uint64 { d, _ := p.counts(); return d },
			open:  func() { p.win.end.Store(0); p.win.start.Store(p.clk.now()) },
			close: func() { p.win.end.Store(p.clk.now()) }}
	}
	rounds, slice := abRounds(o.Duration)
	settle := max(o.Warmup/time.Duration(rounds), 200*time.Millisecond)
	tot, err := alternate(ctx, o.Common, label, sides, rounds, slice, settle)
	if err != nil {
		return res, err
	}
	for i, p := range loads {
		p.stop(2 * time.Second)
		loads[i] = nil
		r := RelayResult{System: sys[i].Name, Pairs: o.Pairs, Size: o.Size, OfferedRate: rates[i], Window: p.window,
			Seconds: tot[i].Seconds, Delivered: tot[i].Count, ServerCPU: tot[i].CPU, ServerRSS: tot[i].RSS,
			CPUPerMillion: math.NaN(), Rounds: rounds, LoadCPUPerMillion: tot[i].LoadCPU / float64(max(tot[i].Count, 1)) * 1e6}
		r.Throughput = float64(r.Delivered) / r.Seconds
		if r.Delivered > 0 && !math.IsNaN(r.ServerCPU) {
			r.CPUPerMillion = r.ServerCPU / float64(r.Delivered) * 1e6
		}
		_, r.Acks = p.counts()
		r.Latency = p.histogram().Summary()
		r.Errors, r.FirstError = p.errs.get()
		n := float64(max(r.Delivered, 1))
		o.progressf("%s %s: %s msg/s, %s, server CPU %s s per million, %.3f reads and %.3f writes per message, errors %d",
			label, r.System, bench.Format(r.Throughput), r.Latency, bench.Format(r.CPUPerMillion),
			float64(tot[i].Reads)/n, float64(tot[i].Writes)/n, r.Errors)
		res[i] = r
	}
	return res, nil
}

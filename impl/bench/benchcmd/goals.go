package benchcmd

import (
	"context"
	"fmt"
	"math"

	"github.com/blindpost/blindpost/impl/bench"
	"github.com/blindpost/blindpost/impl/bench/micro"
	"github.com/blindpost/blindpost/impl/bench/scenario"
)

// The goals of README "Performance", in the order of its goals table. Each is a ratio ours /
// another system in the same run, except the allocations, which are counted.
var suiteGoals = []struct {
	name string
	goal bench.Goal
}{
	{"relay throughput / coalescing forwarder", *bench.GoalAtLeast(0.95)},
	{"relay server CPU per message / coalescing forwarder", *bench.GoalAtMost(1.15)},
	{"relay p99 at 50% load / coalescing forwarder", *bench.GoalAtMost(1.2)},
	{"relay messages per server CPU-second / NATS over wss", *bench.GoalAtLeast(1.3)},
	{"RSS per idle authenticated connection / coalescing forwarder", *bench.GoalAtMost(0.5)},
	{"allocations per relayed message on the server (allocs/op)", *bench.AbsoluteAtMost(0)},
}

// Indices into suiteGoals.
const (
	goalThroughput = iota
	goalCPU
	goalP99
	goalNATS
	goalIdle
	goalAllocs
	goalCount
)

// goalRun is what one repetition measured of each goal; NaN: not measured.
type goalRun [goalCount]float64

func newGoalRun() goalRun {
	var g goalRun
	for i := range g {
		g[i] = math.NaN()
	}
	return g
}

// ratio is a / b, or NaN when b is 0 or either is not measured.
func ratio(a, b float64) float64 {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return math.NaN()
	}
	return a / b
}

func (g *goalRun) relay(r scenario.RelayComparison) {
	g[goalThroughput] = ratio(r.Ours.Throughput, r.Baseline.Throughput)
	g[goalCPU] = ratio(r.Ours.CPUPerMillion, r.Baseline.CPUPerMillion)
	if r.NATS != nil {
		g[goalNATS] = ratio(r.Ours.PerCPUSecond(), r.NATS.PerCPUSecond())
	}
}

func (g *goalRun) latency(r scenario.LatencyComparison) {
	g[goalP99] = ratio(float64(r.Ours.Run.Latency.P99), float64(r.Baseline.Run.Latency.P99))
}

func (g *goalRun) idle(r scenario.IdleComparison) {
	g[goalIdle] = ratio(r.Ours.RSSPerConn, r.Baseline.RSSPerConn)
}

// goalRuns are the repetitions of a suite.
type goalRuns []goalRun

func (gs *goalRuns) add(g goalRun) { *gs = append(*gs, g) }

// rows are the goals table: each goal's value in every repetition and their median; the
// allocations come from their own runs.
func (gs goalRuns) rows(allocs []float64, allocNote string) []bench.GoalRow {
	out := make([]bench.GoalRow, len(suiteGoals))
	for i, sg := range suiteGoals {
		runs := make([]float64, len(gs))
		for r, g := range gs {
			runs[r] = g[i]
		}
		note := ""
		if i == goalAllocs {
			runs, note = allocs, allocNote
		}
		out[i] = bench.NewGoalRow(sg.name, sg.goal, runs, note)
	}
	return out
}

// allocBench is the relay's benchmark of one forwarded relay message (impl/server), which
// reports allocs/op.
const allocBench = "BenchmarkRelayForwardAllocs"

// relayAllocs runs allocBench runs times and returns its allocs/op in each run, or NaN for
// every run with a note saying why it was not measured.
func relayAllocs(ctx context.Context, runs int, o *options) ([]float64, string) {
	out := make([]float64, runs)
	for i := range out {
		out[i] = math.NaN()
	}
	for i := range runs {
		rs, err := micro.Run(ctx, micro.Options{Packages: []string{"./impl/server"}, Bench: "^" + allocBench + "$",
			BenchTime: "20000x", Count: 1, Stderr: o.stderr})
		if err != nil {
			return out, fmt.Sprintf("not measured: %v", err)
		}
		found := false
		for _, r := range rs {
			if "Benchmark"+r.Name != allocBench {
				continue
			}
			// A benchmark whose operation is more than one message reports allocs/msg.
			if v, ok := r.Metrics["allocs/msg"]; ok {
				out[i], found = v, true
			} else if r.HasAlloc {
				out[i], found = r.Allocs, true
			}
		}
		if !found {
			return out, "not measured: impl/server has no " + allocBench + " reporting allocs/op or allocs/msg"
		}
	}
	return out, fmt.Sprintf("go test -run '^$' -bench '^%s$' -benchtime 20000x -benchmem ./impl/server, %d runs", allocBench, runs)
}

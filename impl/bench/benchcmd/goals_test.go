package benchcmd

import (
	"math"
	"testing"

	"github.com/blindpost/blindpost/impl/bench/scenario"
)

// TestGoalRuns checks which ratio each goal takes from the scenarios' results, and that a goal
// a run did not measure stays unmeasured rather than met.
func TestGoalRuns(t *testing.T) {
	if len(suiteGoals) != goalCount {
		t.Fatalf("%d goals, %d indices", len(suiteGoals), goalCount)
	}
	g := newGoalRun()
	g.relay(scenario.RelayComparison{
		Ours:     scenario.RelayResult{Throughput: 90, CPUPerMillion: 6, Delivered: 600, ServerCPU: 1},
		Baseline: scenario.RelayResult{Throughput: 100, CPUPerMillion: 5},
		NATS:     &scenario.RelayResult{Delivered: 300, ServerCPU: 1},
	})
	g.idle(scenario.IdleComparison{Ours: scenario.IdleResult{RSSPerConn: 10}, Baseline: scenario.IdleResult{RSSPerConn: 40}})
	rows := goalRuns{g}.rows([]float64{0}, "")
	for i, want := range map[int]float64{goalThroughput: 0.9, goalCPU: 1.2, goalNATS: 2, goalIdle: 0.25, goalAllocs: 0} {
		if math.Abs(rows[i].Median-want) > 1e-9 {
			t.Errorf("%s: %v, want %v", rows[i].Name, rows[i].Median, want)
		}
	}
	if !math.IsNaN(rows[goalP99].Median) || rows[goalP99].Met {
		t.Errorf("the latency goal, not run: %+v", rows[goalP99])
	}
	met := map[int]bool{goalThroughput: false, goalCPU: false, goalNATS: true, goalIdle: true, goalAllocs: true}
	for i, want := range met {
		if rows[i].Met != want {
			t.Errorf("%s: met %v, want %v", rows[i].Name, rows[i].Met, want)
		}
	}
}

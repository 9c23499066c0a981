package scenario

import (
	"testing"
)

// TestClusterRelayFigures: the cluster's figures are ours, the single relay's the baseline, so
// each ratio is what the cluster costs; errors on either side miss the zero-error goal.
func TestClusterRelayFigures(t *testing.T) {
	r := ClusterRelayComparison{Nodes: 3,
		Cluster: RelayResult{Throughput: 30000, CPUPerMillion: 90, Delivered: 300, ServerCPU: 2, ServerRSS: 96 << 20},
		Single:  RelayResult{Throughput: 60000, CPUPerMillion: 30, Delivered: 600, ServerCPU: 1, ServerRSS: 32 << 20, Errors: 1}}
	figs := r.Figures()
	byName := map[string]int{}
	for i, f := range figs {
		if f.Scenario != "relay-cluster-3" {
			t.Errorf("figure %q in scenario %q, want relay-cluster-3", f.Name, f.Scenario)
		}
		byName[f.Name] = i
	}
	for _, tc := range []struct {
		name                  string
		ours, baseline, ratio float64
	}{
		{"cross-node throughput (baseline: one relay)", 30000, 60000, 0.5},
		{"server CPU per message, all nodes", 90, 30, 3},
		{"messages per server CPU-second", 150, 600, 0.25},
		{"relays' RSS", 96, 32, 3},
	} {
		i, ok := byName[tc.name]
		if !ok {
			t.Errorf("no figure %q", tc.name)
			continue
		}
		if f := figs[i]; f.Ours != tc.ours || f.Baseline != tc.baseline || f.Ratio != tc.ratio {
			t.Errorf("%s: %v / %v = %v, want %v / %v = %v", tc.name, f.Ours, f.Baseline, f.Ratio, tc.ours, tc.baseline, tc.ratio)
		}
	}
	errs := figs[byName["errors"]]
	if errs.Met == nil || !*errs.Met {
		t.Errorf("the cluster had no error, but the errors figure misses its goal: %+v", errs)
	}
	r.Cluster.Errors = 2
	if errs := r.Figures()[byName["errors"]]; errs.Met == nil || *errs.Met {
		t.Errorf("two errors on the cluster meet the zero-error goal: %+v", errs)
	}
}
